/**
 * Writing function versions: storing an upload's bundle content-addressed (identical uploads share
 * one function_bundles row) under the next version number, and deleting a version that carries no
 * traffic (then its bundle, if no other version uses it). Call inside runWrite; the bundle's
 * validity is checked before (control/functions/bundle.ts, by the API's schema).
 */
import { and, eq, notExists, sql } from "drizzle-orm";
import type { Queryable } from "../db/connect.ts";
import { functionBundles, functions, functionVersions } from "../db/schema.ts";
import { type BundleModule, bundleSha256, encodeBundle } from "../functions/bundle.ts";
import { targetsOf } from "../functions/traffic.ts";
import { conflict } from "./errors.ts";
import { type FunctionRow, type FunctionVersionRow, latestReadyVersion, readTraffic } from "./function-store.ts";

/** A validated upload: decoded modules, the entry module's name, env vars, `YYYY-MM-DD`. */
export interface VersionUpload {
  modules: BundleModule[];
  main: string;
  env: Record<string, string>;
  compatibilityDate: string;
}

/**
 * Stores `upload` as the function's next version (last_version + 1; numbers are never reused),
 * status `ready`. The bundle row is inserted only if its SHA-256 is new.
 * @returns the new version row.
 */
export async function insertVersion(tx: Queryable, fn: FunctionRow, upload: VersionUpload): Promise<FunctionVersionRow> {
  const bytes = encodeBundle(upload.modules);
  const sha256 = bundleSha256(bytes);
  await tx.insert(functionBundles).values({ sha256, bytes, size: bytes.length }).onConflictDoNothing();
  const [{ lastVersion }] = await tx
    .update(functions)
    .set({ lastVersion: sql`${functions.lastVersion} + 1` })
    .where(eq(functions.id, fn.id))
    .returning({ lastVersion: functions.lastVersion });
  const [row] = await tx
    .insert(functionVersions)
    .values({
      functionId: fn.id,
      number: lastVersion,
      bundleSha256: sha256,
      mainModule: upload.main,
      env: upload.env,
      compatibilityDate: upload.compatibilityDate,
      status: "ready",
    })
    .returning();
  return row;
}

/**
 * Deletes `version` of `fn`, and its bundle when no other version shares it.
 * @throws ConfigError conflict naming the traffic entries (`targets[i]`) that route to it,
 *   directly or through `latest`; nothing is deleted then.
 */
export async function deleteVersion(tx: Queryable, fn: FunctionRow, version: FunctionVersionRow): Promise<void> {
  const traffic = await readTraffic(tx, fn.id);
  const carrying = targetsOf(traffic.targets, version.number, await latestReadyVersion(tx, fn.id));
  if (carrying.length > 0) {
    const list = carrying.map(({ index, target }) => `targets[${index}] (version ${target.version}, ${target.percent} %)`).join(", ");
    throw conflict(`version ${version.number} of function "${fn.name}" carries traffic: ${list}`);
  }
  await tx.delete(functionVersions).where(eq(functionVersions.id, version.id));
  await removeUnusedBundle(tx, version.bundleSha256);
}

/** Deletes bundle `sha256` unless a version still uses it. */
export async function removeUnusedBundle(tx: Queryable, sha256: string): Promise<void> {
  await tx
    .delete(functionBundles)
    .where(
      and(
        eq(functionBundles.sha256, sha256),
        notExists(tx.select({ one: sql`1` }).from(functionVersions).where(eq(functionVersions.bundleSha256, sha256))),
      ),
    );
}
