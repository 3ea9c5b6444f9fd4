/**
 * The one way the API writes: a transaction that holds the configuration write lock, runs the
 * handler's checks and changes, appends the revision row, commits — and only then tells the
 * snapshot builder. A failed check or statement rolls everything back, revision included.
 */
import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { Database, Transaction } from "../db/connect.ts";
import { revisions } from "../db/schema.ts";

/** Called after each committed write with its revision id; errors are logged, never surfaced. */
export type OnChange = (revisionId: number) => void | Promise<void>;

/** What every resource module needs. */
export interface ApiDeps {
  db: Database;
  onChange: OnChange;
  logger: Logger;
}

/** The audit record of one write: `before`/`after` are API representations (null if none). */
export interface RevisionRecord {
  action: "create" | "update" | "delete";
  resource: "service" | "group" | "instance" | "policy" | "route";
  /** Natural key: `appkey`, `appkey/group`, `appkey/group/instanceId`, policy name, route id. */
  resourceId: string;
  before: unknown;
  after: unknown;
}

/**
 * Advisory lock key taken by every API write ("SLUICECF"). Writes are rare and their reference
 * checks read several tables (a route's groups and policies; a group's referrers); serialising
 * them makes those checks race-free on PostgreSQL without SERIALIZABLE retries. PGlite serialises
 * transactions anyway.
 */
const CONFIG_WRITE_LOCK_KEY = "6002266176527614790";

/**
 * Runs `change` in a transaction under the config write lock and records its revision there.
 *
 * @param change returns the value to send back and the revision to record.
 * @returns that value and the new revision id.
 * @throws whatever `change` throws (ApiError for 4xx), after rolling back.
 */
export async function runWrite<T>(
  deps: ApiDeps,
  actor: string,
  change: (tx: Transaction) => Promise<{ result: T; revision: RevisionRecord }>,
): Promise<{ result: T; revisionId: number }> {
  const committed = await deps.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${CONFIG_WRITE_LOCK_KEY}::bigint)`);
    const { result, revision } = await change(tx);
    const [row] = await tx
      .insert(revisions)
      .values({
        actor,
        action: revision.action,
        resource: revision.resource,
        resourceId: revision.resourceId,
        body: { before: revision.before, after: revision.after },
      })
      .returning({ id: revisions.id });
    return { result, revisionId: row.id };
  });
  notifyChange(deps, committed.revisionId);
  return committed;
}

function notifyChange(deps: ApiDeps, revisionId: number): void {
  const log = (error: unknown) => deps.logger.error({ err: error, revisionId }, "onChange failed");
  try {
    const pending = deps.onChange(revisionId);
    if (pending) pending.catch(log);
  } catch (error) {
    log(error);
  }
}
