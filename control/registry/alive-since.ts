/**
 * When an instance last became routable (`instances.alive_since`): the start of its warmup ramp
 * (OCTO warmup, docs/balancing.md "Slow start"). Routable means status `alive` and healthy, the
 * two things that decide whether the snapshot routes to it (effective.ts). Every write that can
 * flip those columns sets `alive_since` with `aliveSinceOnUpdate`, so the rule lives in one place.
 */
import { type SQL, sql } from "drizzle-orm";
import { instances } from "../db/schema.ts";

/**
 * The value for `alive_since` in an UPDATE of `instances` that sets `status` and/or `healthy`
 * (an omitted one keeps its column): `now()` when the row goes from not routable to routable,
 * else the column unchanged. In PostgreSQL a SET expression reads the row's old values, which is
 * what the "was not routable" half needs.
 * @example tx.update(instances).set({ healthy: true, aliveSince: aliveSinceOnUpdate({ healthy: true }) })
 */
export function aliveSinceOnUpdate(next: { status?: string; healthy?: boolean }): SQL {
  const status = next.status === undefined ? sql`${instances.status}` : sql`${next.status}`;
  const healthy = next.healthy === undefined ? sql`${instances.healthy}` : sql`${next.healthy}`;
  return sql`case when not (${instances.status} = 'alive' and ${instances.healthy})
    and (${status} = 'alive' and ${healthy}) then now() else ${instances.aliveSince} end`;
}
