/**
 * Writing function instances as agents report them (docs/functions-runtime.md, "Agent ↔
 * control"): a node's report replaces its whole set of rows, stamps their lease and records the
 * node's load per version; the lease sweep removes rows whose node fell silent.
 *
 * Only what gateways route to is configuration: the set of `ready` instances with a live lease.
 * A write that changes it records one revision (`function_instance`, resource id the node name)
 * so the snapshot is rebuilt and `GET /v1/propagation?revision=` can follow it; a report that
 * only refreshes leases and load records none. A `failed` instance of a version that never had a
 * ready instance marks the version `failed` (revision `function_version`).
 *
 * "Never had a ready instance" is read from function_load: a node records load for a version only
 * while one of its instances is ready or draining, and those rows are kept while the version
 * exists, so a `node:` row is the durable mark of a version that once served.
 */
import { and, eq, inArray, like, lt, notInArray, sql } from "drizzle-orm";
import type { Queryable } from "../db/connect.ts";
import { functionInstances, functionLoad, functionVersions } from "../db/schema.ts";
import { setFromExcluded } from "../db/upsert.ts";
import { leaseCutoff } from "../functions/lease.ts";
import { refKey, type VersionInfo, type VersionRef } from "../functions/version-refs.ts";
import { type ConfigDeps, type RevisionRecord, runWrite } from "./write.ts";

/** States an agent reports (schema FUNCTION_INSTANCE_STATES). */
export type InstanceState = "starting" | "ready" | "draining" | "failed";

/** One instance of a report, as validated by the API. Times Unix ms; counts over the report interval. */
export interface ReportedInstance extends VersionRef {
  key: string;
  host: string;
  port: number;
  state: InstanceState;
  error: string | null;
  startedAtMs: number | null;
  readyAtMs: number | null;
  coldStartMs: number | null;
  concurrency: number;
  requests: number;
}

/** What a report write did, for the caller's metrics. */
export interface ReportOutcome {
  /** The revision of a routable change or a version marked failed; null when none was recorded. */
  revision: number | null;
  /** Keys of reported instances that turned ready with this report (observe their cold start once). */
  newlyReady: string[];
  /** Versions marked failed, `appkey/function@n`. */
  failedVersions: string[];
}

type Routable = { versionId: number; key: string; host: string; port: number };
const routableKey = (r: Routable) => `${r.versionId}|${r.key}|${r.host}|${r.port}`;

/** What a report's upsert replaces in an existing instance row (all but its identity: node, key). */
const INSTANCE_UPDATE = setFromExcluded(functionInstances, [
  "versionId",
  "host",
  "port",
  "zone",
  "region",
  "cell",
  "state",
  "error",
  "startedAt",
  "readyAt",
  "coldStartMs",
  "reportedAt",
]);
/** What a load upsert replaces (all but the key: source, version). */
const LOAD_UPDATE = setFromExcluded(functionLoad, ["atMs", "intervalMs", "concurrency", "requests"]);

/**
 * Applies `node`'s report at `nowMs`: deletes its rows the report no longer lists, upserts the
 * others (lease `reported_at` = now), records the node's load per version whose instances are
 * ready or draining (`node:<name>`), and marks versions failed as the module says. Instances of
 * versions absent from `versions` (deleted meanwhile) are ignored: they are not assigned, so the
 * agent stops them.
 */
export async function applyNodeReport(
  deps: ConfigDeps,
  actor: string,
  report: { node: string; intervalMs: number; zone: string; region: string; cell: string; instances: readonly ReportedInstance[] },
  versions: ReadonlyMap<string, VersionInfo>,
  nowMs: number,
): Promise<ReportOutcome> {
  const now = new Date(nowMs);
  const known = report.instances.flatMap((i) => {
    const version = versions.get(refKey(i));
    return version ? [{ instance: i, version }] : [];
  });
  const { result, revisionId } = await runWrite(deps, actor, async (tx) => {
    const before = await tx.select().from(functionInstances).where(eq(functionInstances.node, report.node));
    const cutoff = leaseCutoff(nowMs);
    const routableBefore = before
      .filter((r) => r.state === "ready" && r.reportedAt >= cutoff)
      .map((r) => ({ versionId: r.versionId, key: r.instanceKey, host: r.host, port: r.port }));
    const readySince = new Map(before.filter((r) => r.readyAt !== null).map((r) => [r.instanceKey, r.readyAt as Date]));

    const keys = known.map(({ instance }) => instance.key);
    await tx
      .delete(functionInstances)
      .where(
        keys.length > 0
          ? and(eq(functionInstances.node, report.node), notInArray(functionInstances.instanceKey, keys))
          : eq(functionInstances.node, report.node),
      );
    const rows = known.map(({ instance, version }) => ({
      versionId: version.id,
      node: report.node,
      instanceKey: instance.key,
      host: instance.host,
      port: instance.port,
      zone: report.zone,
      region: report.region,
      cell: report.cell,
      state: instance.state,
      error: instance.error,
      startedAt: instance.startedAtMs === null ? null : new Date(instance.startedAtMs),
      // A ready row always has ready_at (the agent's, else when control first saw it ready): the mark of one cold start.
      readyAt:
        instance.readyAtMs !== null
          ? new Date(instance.readyAtMs)
          : (readySince.get(instance.key) ?? (instance.state === "ready" ? now : null)),
      coldStartMs: instance.coldStartMs,
      reportedAt: now,
    }));
    if (rows.length > 0) {
      await tx
        .insert(functionInstances)
        .values(rows)
        .onConflictDoUpdate({ target: [functionInstances.node, functionInstances.instanceKey], set: INSTANCE_UPDATE });
    }
    await recordNodeLoad(tx, report.node, report.intervalMs, known, nowMs);

    const routableAfter = known
      .filter(({ instance }) => instance.state === "ready")
      .map(({ instance, version }) => ({ versionId: version.id, key: instance.key, host: instance.host, port: instance.port }));
    const revisions: RevisionRecord[] = [];
    if (!sameSet(routableBefore.map(routableKey), routableAfter.map(routableKey))) {
      revisions.push({
        action: "update",
        resource: "function_instance",
        resourceId: report.node,
        before: routableBefore,
        after: routableAfter,
      });
    }
    const failed = await markFailedVersions(tx, known, revisions);
    const newlyReady = known
      .filter(({ instance }) => instance.state === "ready" && !readySince.has(instance.key))
      .map(({ instance }) => instance.key);
    return { result: { newlyReady, failedVersions: failed }, revision: revisions };
  });
  return { revision: revisionId > 0 ? revisionId : null, ...result };
}

/** Upserts `node:<name>`'s load of each version with a ready or draining instance in the report. */
async function recordNodeLoad(
  tx: Queryable,
  node: string,
  intervalMs: number,
  known: readonly { instance: ReportedInstance; version: VersionInfo }[],
  nowMs: number,
): Promise<void> {
  const byVersion = new Map<number, { concurrency: number; requests: number }>();
  for (const { instance, version } of known) {
    if (instance.state !== "ready" && instance.state !== "draining") continue;
    const sum = byVersion.get(version.id) ?? { concurrency: 0, requests: 0 };
    sum.concurrency += instance.concurrency;
    sum.requests += instance.requests;
    byVersion.set(version.id, sum);
  }
  await upsertLoads(
    tx,
    [...byVersion].map(([versionId, load]) => ({ source: `node:${node}`, versionId, atMs: nowMs, intervalMs, ...load })),
  );
}

/** One row of function_load (the latest report of a source for a version). */
export interface LoadRow {
  source: string;
  versionId: number;
  atMs: number;
  intervalMs: number;
  concurrency: number;
  requests: number;
}

/**
 * Replaces each row's (source, version) load row, in one statement; of rows with the same key the
 * last wins (one statement may not update a row twice).
 */
export async function upsertLoads(db: Queryable, rows: readonly LoadRow[]): Promise<void> {
  const byKey = new Map(rows.map((row) => [`${row.source}|${row.versionId}`, { ...row, requests: Math.round(row.requests) }]));
  if (byKey.size === 0) return;
  await db
    .insert(functionLoad)
    .values([...byKey.values()])
    .onConflictDoUpdate({ target: [functionLoad.source, functionLoad.versionId], set: LOAD_UPDATE });
}
/** Marks failed the `ready` versions with a failed instance here and no sign of ever having served. */
async function markFailedVersions(
  tx: Queryable,
  known: readonly { instance: ReportedInstance; version: VersionInfo }[],
  revisions: RevisionRecord[],
): Promise<string[]> {
  const failing = new Map<number, { instance: ReportedInstance; version: VersionInfo }>();
  for (const entry of known) {
    if (entry.instance.state === "failed" && entry.version.status === "ready") failing.set(entry.version.id, entry);
  }
  if (failing.size === 0) return [];
  const ids = [...failing.keys()];
  const served = await tx
    .selectDistinct({ versionId: functionLoad.versionId })
    .from(functionLoad)
    .where(and(inArray(functionLoad.versionId, ids), like(functionLoad.source, "node:%")));
  const readyNow = await tx
    .selectDistinct({ versionId: functionInstances.versionId })
    .from(functionInstances)
    .where(and(inArray(functionInstances.versionId, ids), sql`${functionInstances.readyAt} is not null`));
  const servedIds = new Set([...served, ...readyNow].map((r) => r.versionId));
  const marked: string[] = [];
  for (const [id, { instance, version }] of failing) {
    if (servedIds.has(id)) continue;
    const error = instance.error ?? "the instance failed before it was ready";
    const [row] = await tx
      .update(functionVersions)
      .set({ status: "failed", error })
      .where(and(eq(functionVersions.id, id), eq(functionVersions.status, "ready")))
      .returning({ id: functionVersions.id });
    if (!row) continue;
    revisions.push({
      action: "update",
      resource: "function_version",
      resourceId: `${version.appkey}/${version.function}/${version.version}`,
      before: { status: "ready", error: null },
      after: { status: "failed", error },
    });
    marked.push(refKey(version));
  }
  return marked;
}

/**
 * Deletes instance rows whose lease lapsed at `nowMs` (lease.ts). One revision per node that had
 * a routable instance among them; none when only starting, draining or failed rows went.
 * @returns the revision recorded, or null.
 */
export async function sweepExpiredInstances(deps: ConfigDeps, nowMs: number): Promise<number | null> {
  const { revisionId } = await runWrite(deps, "scaler", async (tx) => {
    const expired = await tx
      .delete(functionInstances)
      .where(lt(functionInstances.reportedAt, leaseCutoff(nowMs)))
      .returning();
    const byNode = new Map<string, Routable[]>();
    for (const r of expired) {
      if (r.state !== "ready") continue;
      const list = byNode.get(r.node) ?? [];
      list.push({ versionId: r.versionId, key: r.instanceKey, host: r.host, port: r.port });
      byNode.set(r.node, list);
    }
    const revision: RevisionRecord[] = [...byNode].map(([node, gone]) => ({
      action: "delete",
      resource: "function_instance",
      resourceId: node,
      before: gone,
      after: null,
    }));
    return { result: null, revision };
  });
  return revisionId > 0 ? revisionId : null;
}

function sameSet(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((x) => set.has(x));
}
