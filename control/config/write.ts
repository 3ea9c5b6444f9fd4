/**
 * The one way configuration is written (by the API's handlers and the registry's sweeps): a
 * transaction that holds the configuration write lock, runs the caller's checks and changes,
 * appends the revision row(s), queues a `sluice_change` notification for other control replicas
 * (delivered on commit), commits — and only then tells the snapshot builder. A failed check or
 * statement rolls everything back, revisions included.
 */
import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { Database, Transaction } from "../db/connect.ts";
import { revisions } from "../db/schema.ts";

/** Called after each committed write with its revision id; errors are logged, never surfaced. */
export type OnChange = (revisionId: number) => void | Promise<void>;

/** What configuration reads and writes need: the database, and whom to tell of a commit. */
export interface ConfigDeps {
  db: Database;
  onChange: OnChange;
  logger: Logger;
  /** Called after each commit with what changed (the registry's caches and blocking queries). */
  onCommitted?: (notice: ChangeNotice) => void;
  /**
   * This control replica's id, sent with each write's notification so the replica can tell its
   * own echo (already applied through onCommitted) from other replicas' writes.
   */
  origin?: string;
}

/** The audit record of one write: `before`/`after` are API representations (null if none). */
export interface RevisionRecord {
  action: "create" | "update" | "delete";
  resource:
    | "service"
    | "group"
    | "instance"
    | "policy"
    | "route"
    | "agent_token"
    | "traffic_cut"
    | "function"
    | "function_version"
    | "function_traffic"
    | "function_instance"
    | "consumer"
    | "config_namespace"
    | "config_release"
    | "config_gray";
  /**
   * Natural key: `appkey`, `appkey/group`, `appkey/group/instanceId`, policy name, route id, cut id,
   * `appkey/function`, `appkey/function/versionNumber`, `appkey/function` (its traffic), node name (its routable
   * function instances), consumer name, `appkey/env/namespace` (config center).
   */
  resourceId: string;
  before: unknown;
  after: unknown;
}

/**
 * Advisory lock key taken by every configuration write ("SLUICECF"). Writes are rare and their
 * reference checks read several tables (a route's groups and policies; a group's referrers);
 * serialising them makes those checks race-free on PostgreSQL without SERIALIZABLE retries.
 * PGlite serialises transactions anyway.
 */
const CONFIG_WRITE_LOCK_KEY = "6002266176527614790";

/**
 * NOTIFY channel of committed writes; payload `{"r": revisionId, "a": appkeys | null, "k":
 * resources, "o": origin}` ("o" absent when the writer has no replica id).
 */
export const CHANGE_CHANNEL = "sluice_change";

/** A committed write as other replicas hear of it: `appkeys` null means "maybe any service". */
export interface ChangeNotice {
  revisionId: number;
  appkeys: string[] | null;
  /** The kinds of resource written; undefined: unknown (any may have changed). */
  resources?: RevisionRecord["resource"][];
  /** The writing replica's id (ConfigDeps.origin), when it has one. */
  origin?: string;
}

/**
 * Runs `change` in a transaction under the config write lock and records its revision(s) there.
 * Revision ids are therefore assigned and committed in one order, which snapshot coverage
 * (snapshots.covers_revision) relies on.
 *
 * @param change returns the value to send back and the revision(s) to record (a batch, e.g. a
 *   health sweep, records one per instance; an empty list records nothing and notifies no one).
 * @returns that value and the last new revision id (0 when none was recorded).
 * @throws whatever `change` throws (a ConfigError for a refused change), after rolling back.
 */
export async function runWrite<T>(
  deps: ConfigDeps,
  actor: string,
  change: (tx: Transaction) => Promise<{ result: T; revision: RevisionRecord | RevisionRecord[] }>,
): Promise<{ result: T; revisionId: number }> {
  const committed = await deps.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${CONFIG_WRITE_LOCK_KEY}::bigint)`);
    const { result, revision } = await change(tx);
    const records = Array.isArray(revision) ? revision : [revision];
    if (records.length === 0) return { result, revisionId: 0, appkeys: null, resources: [] };
    const rows = await tx
      .insert(revisions)
      .values(
        records.map((r) => ({
          actor,
          action: r.action,
          resource: r.resource,
          resourceId: r.resourceId,
          body: { before: r.before, after: r.after },
        })),
      )
      .returning({ id: revisions.id });
    const revisionId = Math.max(...rows.map((r) => r.id));
    const appkeys = appkeysOf(records);
    const resources = [...new Set(records.map((r) => r.resource))];
    await tx.execute(
      sql`select pg_notify(${CHANGE_CHANNEL}, ${JSON.stringify({ r: revisionId, a: appkeys, k: resources, o: deps.origin })})`,
    );
    return { result, revisionId, appkeys, resources };
  });
  if (committed.revisionId > 0) {
    deps.onCommitted?.({ revisionId: committed.revisionId, appkeys: committed.appkeys, resources: committed.resources });
    notifyChange(deps, committed.revisionId);
  }
  return { result: committed.result, revisionId: committed.revisionId };
}

/** Parses a `sluice_change` payload. @returns null when it is not one. */
export function parseChangeNotice(payload: string): ChangeNotice | null {
  try {
    const { r, a, k, o } = JSON.parse(payload) as { r?: unknown; a?: unknown; k?: unknown; o?: unknown };
    if (typeof r !== "number") return null;
    const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");
    return {
      revisionId: r,
      appkeys: strings(a) ? a : null,
      resources: strings(k) ? (k as RevisionRecord["resource"][]) : undefined,
      origin: typeof o === "string" ? o : undefined,
    };
  } catch {
    return null;
  }
}

/** Services a batch touched; null when one of them (a policy, a route) may touch any service. */
function appkeysOf(records: RevisionRecord[]): string[] | null {
  const appkeys = new Set<string>();
  for (const r of records) {
    const scoped = r.resource === "service" || r.resource === "group" || r.resource === "instance" || r.resource.startsWith("config_");
    if (!scoped) return null;
    appkeys.add(r.resourceId.split("/")[0]);
  }
  return [...appkeys];
}

function notifyChange(deps: ConfigDeps, revisionId: number): void {
  const log = (error: unknown) => deps.logger.error({ err: error, revisionId }, "onChange failed");
  try {
    const pending = deps.onChange(revisionId);
    if (pending) pending.catch(log);
  } catch (error) {
    log(error);
  }
}
