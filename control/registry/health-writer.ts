/**
 * Persists health transitions: one transaction through the API's write path (config write lock,
 * one revision per instance, `sluice_change` on commit, then a snapshot rebuild), with the
 * matching events. Updates are conditional on the current value, so a sweep and a recovery racing
 * on two replicas cannot flip an instance the other way by mistake.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import { type InstanceRow, instanceLabels } from "../config/lookup.ts";
import { toInstanceDto } from "../config/representations.ts";
import { withCascadedCuts } from "../config/traffic-cuts.ts";
import { type ConfigDeps, type RevisionRecord, runWrite } from "../config/write.ts";
import type { Transaction } from "../db/connect.ts";
import { instances } from "../db/schema.ts";
import { aliveSinceOnUpdate } from "./alive-since.ts";
import { insertEvents, type RegistryEvent } from "./events.ts";

/** Who the revisions name as the writer. */
export const REGISTRY_ACTOR = "registry";

export interface HealthChanges {
  markUnhealthy: readonly number[];
  markHealthy: readonly number[];
  /** Ephemeral instances to deregister. */
  remove: readonly number[];
}

/** What was actually changed (an instance changed meanwhile is skipped). */
export interface AppliedChanges {
  unhealthy: InstanceRow[];
  healthy: InstanceRow[];
  removed: InstanceRow[];
}

/**
 * Applies `changes` and appends `extraEvents` (e.g. protect threshold) in one transaction.
 * @param why a word for the events' messages, e.g. `no heartbeat for 15 s`.
 * @throws on database errors (nothing is applied then).
 */
export async function applyHealthChanges(
  deps: ConfigDeps,
  changes: HealthChanges,
  extraEvents: readonly RegistryEvent[] = [],
): Promise<AppliedChanges> {
  const { result } = await runWrite(deps, REGISTRY_ACTOR, async (tx) => {
    const removal = changes.remove.length
      ? await withCascadedCuts(tx, () =>
          tx
            .delete(instances)
            .where(and(inArray(instances.id, [...changes.remove]), eq(instances.registration, "ephemeral")))
            .returning(),
        )
      : { removed: [], cuts: [] };
    const applied: AppliedChanges = {
      unhealthy: await setHealthy(tx, changes.markUnhealthy, false),
      healthy: await setHealthy(tx, changes.markHealthy, true),
      removed: removal.removed,
    };
    const labels = await instanceLabels(tx, [...applied.unhealthy, ...applied.healthy, ...applied.removed]);
    const revisions: RevisionRecord[] = [];
    const events: RegistryEvent[] = [...extraEvents];
    /** Records `before` → `after` (null: deleted) as a revision and an event of `kind`. */
    const record = (kind: RegistryEvent["kind"], before: InstanceRow, after: InstanceRow | null) => {
      const row = after ?? before;
      const { appkey, group } = labels.get(row.id) ?? { appkey: "?", group: "?" };
      revisions.push({
        action: after ? "update" : "delete",
        resource: "instance",
        resourceId: `${appkey}/${group}/${row.id}`,
        before: toInstanceDto(before, appkey, group),
        after: after ? toInstanceDto(after, appkey, group) : null,
      });
      events.push({
        appkey,
        kind,
        message: `${row.host}:${row.port} (instance ${row.id}, group ${group})`,
        details: { instanceId: row.id },
      });
    };
    for (const row of applied.unhealthy) record("instance_unhealthy", { ...row, healthy: true }, row);
    for (const row of applied.healthy) record("instance_healthy", { ...row, healthy: false }, row);
    for (const row of applied.removed) record("instance_removed", row, null);
    await insertEvents(tx, events);
    return { result: applied, revision: [...removal.cuts, ...revisions] };
  });
  return result;
}

async function setHealthy(tx: Transaction, ids: readonly number[], healthy: boolean): Promise<InstanceRow[]> {
  if (ids.length === 0) return [];
  return tx
    .update(instances)
    .set({ healthy, aliveSince: aliveSinceOnUpdate({ healthy }), updatedAt: sql`now()` })
    .where(and(inArray(instances.id, [...ids]), eq(instances.healthy, !healthy)))
    .returning();
}
