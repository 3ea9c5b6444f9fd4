/**
 * The config center's reads and writes of its tables (control/db/schema.ts config_namespaces,
 * config_releases, config_grays): lookups with their not_found, the API representations, the
 * one insert of a release (with its `sluice_config` notification, sent in the same transaction
 * so it is delivered on commit), and the delivery state of a service's namespaces in one query.
 */
import { createHash } from "node:crypto";
import { aliasedTable, and, eq, inArray, sql } from "drizzle-orm";
import { notFound } from "../config/errors.ts";
import type { Queryable, Transaction } from "../db/connect.ts";
import { type CONFIG_RELEASE_KINDS, configGrays, configNamespaces, configReleases, type ENVIRONMENTS, services } from "../db/schema.ts";
import type { NamespaceDelivery } from "./effective.ts";
import type { ConfigFormat } from "./formats.ts";
import type { GrayRules } from "./gray-rules.ts";

/** NOTIFY channel of config releases; payload `{"a": appkey, "e": env, "n": namespace, "r": release id, "o": origin}`. */
export const CONFIG_CHANNEL = "sluice_config";

export type NamespaceRow = typeof configNamespaces.$inferSelect;
export type ReleaseRow = typeof configReleases.$inferSelect;
export type GrayRow = typeof configGrays.$inferSelect;
export type ReleaseKind = (typeof CONFIG_RELEASE_KINDS)[number];
export type Environment = (typeof ENVIRONMENTS)[number];

/** Where a namespace is: `(appkey, env, name)`. */
export interface NamespaceKey {
  appkey: string;
  env: string;
  name: string;
}

/** `appkey/env/name`: the natural key revisions record. */
export function namespaceId(key: NamespaceKey): string {
  return `${key.appkey}/${key.env}/${key.name}`;
}

/** SHA-256 hex of a content's UTF-8 bytes: a release's `hash`. */
export function contentHash(content: string): string {
  return createHash("sha256").update(content, "utf8").digest("hex");
}

/** The namespace at `key`, or null. */
export async function findNamespace(db: Queryable, key: NamespaceKey): Promise<NamespaceRow | null> {
  const [row] = await db
    .select({ ns: configNamespaces })
    .from(configNamespaces)
    .innerJoin(services, eq(configNamespaces.serviceId, services.id))
    .where(and(eq(services.appkey, key.appkey), eq(configNamespaces.env, key.env), eq(configNamespaces.name, key.name)));
  return row?.ns ?? null;
}

/** @throws ConfigError not_found */
export async function requireNamespace(db: Queryable, key: NamespaceKey): Promise<NamespaceRow> {
  const row = await findNamespace(db, key);
  if (!row) throw notFound(`namespace "${key.name}" of service "${key.appkey}" in ${key.env} not found`);
  return row;
}

/** The active gray of a namespace, or null. */
export async function activeGray(db: Queryable, namespaceId: number): Promise<GrayRow | null> {
  const [row] = await db
    .select()
    .from(configGrays)
    .where(and(eq(configGrays.namespaceId, namespaceId), eq(configGrays.status, "active")));
  return row ?? null;
}

/** Release `id` of a namespace. @throws ConfigError not_found */
export async function requireRelease(db: Queryable, namespaceId: number, id: number): Promise<ReleaseRow> {
  const [row] = await db
    .select()
    .from(configReleases)
    .where(and(eq(configReleases.id, id), eq(configReleases.namespaceId, namespaceId)));
  if (!row) throw notFound(`release ${id} not found in this namespace`);
  return row;
}

/** The API's gray. */
export function toGrayDto(row: GrayRow) {
  return {
    id: row.id,
    status: row.status as "active" | "merged" | "abandoned",
    rules: row.rules as GrayRules,
    content: row.draft,
    baseRelease: row.baseReleaseId,
    latestRelease: row.latestReleaseId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** The API's namespace: its draft, main release id and active gray (null when none). */
export function toNamespaceDto(key: { appkey: string }, row: NamespaceRow, gray: GrayRow | null) {
  return {
    appkey: key.appkey,
    env: row.env as Environment,
    name: row.name,
    format: row.format as ConfigFormat,
    schema: row.schema ?? null,
    draft: row.draft,
    currentRelease: row.currentReleaseId,
    gray: gray ? toGrayDto(gray) : null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** The API's release; `content` only when asked (lists leave it out). */
export function toReleaseDto(key: NamespaceKey, row: ReleaseRow, withContent: boolean) {
  return {
    id: row.id,
    appkey: key.appkey,
    env: key.env,
    namespace: key.name,
    kind: row.kind as ReleaseKind,
    hash: row.hash,
    author: row.author,
    comment: row.comment,
    gray: row.grayId,
    createdAt: row.createdAt.toISOString(),
    ...(withContent ? { content: row.content } : {}),
  };
}

/**
 * Inserts a release and queues its `sluice_config` notification (delivered on commit). Run
 * inside runWrite (its advisory lock makes ids commit in increasing order).
 * @param origin this replica's id, so it can skip the echo of what it already woke.
 */
export async function insertRelease(
  tx: Transaction,
  key: NamespaceKey,
  release: { namespaceId: number; kind: ReleaseKind; content: string; author: string; comment: string; grayId?: number | null },
  origin: string | undefined,
): Promise<ReleaseRow> {
  const [row] = await tx
    .insert(configReleases)
    .values({ ...release, grayId: release.grayId ?? null, hash: contentHash(release.content) })
    .returning();
  await notifyConfig(tx, key, row.id, origin);
  return row;
}

/** Queues a `sluice_config` notification for `key` (a release, or a gray's rules or end). */
export async function notifyConfig(tx: Transaction, key: NamespaceKey, release: number, origin: string | undefined): Promise<void> {
  const payload = JSON.stringify({ a: key.appkey, e: key.env, n: key.name, r: release, o: origin });
  await tx.execute(sql`select pg_notify(${CONFIG_CHANNEL}, ${payload})`);
}

/** A `sluice_config` payload as a change; null when it is not one. */
export function parseConfigNotice(
  payload: string,
): { appkey: string; env: string; namespace: string; release: number; origin?: string } | null {
  try {
    const { a, e, n, r, o } = JSON.parse(payload) as Record<string, unknown>;
    if (typeof a !== "string" || typeof e !== "string" || typeof n !== "string" || typeof r !== "number") return null;
    return { appkey: a, env: e, namespace: n, release: r, origin: typeof o === "string" ? o : undefined };
  } catch {
    return null;
  }
}

const mainRelease = aliasedTable(configReleases, "main_release");
const grayRelease = aliasedTable(configReleases, "gray_release");

/**
 * The delivery state of the namespaces of `(appkey, env)` (all of them, or those of `names`), in
 * one query: each one's main release and active gray, without contents.
 */
export async function loadDelivery(
  db: Queryable,
  appkey: string,
  env: string,
  names?: readonly string[],
): Promise<Map<string, NamespaceDelivery>> {
  const conditions = [eq(services.appkey, appkey), eq(configNamespaces.env, env)];
  if (names) {
    if (names.length === 0) return new Map();
    conditions.push(inArray(configNamespaces.name, [...names]));
  }
  const rows = await db
    .select({
      name: configNamespaces.name,
      format: configNamespaces.format,
      mainId: mainRelease.id,
      mainHash: mainRelease.hash,
      grayId: configGrays.id,
      grayRules: configGrays.rules,
      grayReleaseId: grayRelease.id,
      grayReleaseHash: grayRelease.hash,
    })
    .from(configNamespaces)
    .innerJoin(services, eq(configNamespaces.serviceId, services.id))
    .leftJoin(mainRelease, eq(mainRelease.id, configNamespaces.currentReleaseId))
    .leftJoin(configGrays, and(eq(configGrays.namespaceId, configNamespaces.id), eq(configGrays.status, "active")))
    .leftJoin(grayRelease, eq(grayRelease.id, configGrays.latestReleaseId))
    .where(and(...conditions));
  const out = new Map<string, NamespaceDelivery>();
  for (const r of rows) {
    out.set(r.name, {
      name: r.name,
      format: r.format as ConfigFormat,
      main: r.mainId !== null && r.mainHash !== null ? { id: r.mainId, hash: r.mainHash } : null,
      gray:
        r.grayId !== null
          ? {
              id: r.grayId,
              rules: r.grayRules as GrayRules,
              release: r.grayReleaseId !== null && r.grayReleaseHash !== null ? { id: r.grayReleaseId, hash: r.grayReleaseHash } : null,
            }
          : null,
    });
  }
  return out;
}

/** Contents of releases by id. */
export async function releaseContents(db: Queryable, ids: readonly number[]): Promise<Map<number, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({ id: configReleases.id, content: configReleases.content })
    .from(configReleases)
    .where(inArray(configReleases.id, [...ids]));
  return new Map(rows.map((r) => [r.id, r.content]));
}
