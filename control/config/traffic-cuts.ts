/**
 * Traffic cuts as configuration (docs/balancing.md, "Traffic cuts"): checking a cut's target and
 * turning it into its row, the representation of cut rows, and the `delete` revisions of the cuts
 * a deletion takes along (withCascadedCuts). control/api/traffic-cuts.ts holds the HTTP side.
 */
import { and, eq } from "drizzle-orm";
import type { Queryable, Transaction } from "../db/connect.ts";
import { groups, instances, routes, services, type TRAFFIC_CUT_KINDS, trafficCuts } from "../db/schema.ts";
import { notFound, unprocessable } from "./errors.ts";
import { findGroup, requireGroup, requireService } from "./lookup.ts";
import type { RevisionRecord } from "./write.ts";

/**
 * What to cut: an instance, a group or a zone (optionally of one service), or a route forced to
 * `toGroup`; `reason` is the operator's note, kept with the cut.
 */
export type CutTarget =
  | { kind: "instance"; instanceId: number; reason: string }
  | { kind: "group"; appkey: string; group: string; reason: string }
  | { kind: "zone"; zone: string; appkey?: string; reason: string }
  | { kind: "route"; routeId: number; toGroup: string; reason: string };

/**
 * A cut as the API returns it. Fields that do not apply to its kind are null; an instance cut also
 * names the instance's service and group, a route cut the route's service. `createdAt` is ISO 8601.
 */
export interface TrafficCutDto {
  id: number;
  kind: (typeof TRAFFIC_CUT_KINDS)[number];
  appkey: string | null;
  group: string | null;
  instanceId: number | null;
  zone: string | null;
  routeId: number | null;
  toGroup: string | null;
  reason: string;
  createdAt: string;
}

type CutRow = typeof trafficCuts.$inferSelect;

/** The row to insert for `input`, its targets checked. @throws ConfigError not_found / unprocessable */
export async function resolveCut(db: Queryable, input: CutTarget): Promise<typeof trafficCuts.$inferInsert> {
  const reason = input.reason;
  switch (input.kind) {
    case "instance": {
      const [row] = await db.select({ id: instances.id }).from(instances).where(eq(instances.id, input.instanceId));
      if (!row) throw notFound(`instance ${input.instanceId} not found`);
      return { kind: "instance", target: `instance/${row.id}`, instanceId: row.id, reason };
    }
    case "group": {
      const { group } = await requireGroup(db, input.appkey, input.group);
      return { kind: "group", target: `group/${group.id}`, groupId: group.id, reason };
    }
    case "zone": {
      const service = input.appkey === undefined ? null : await requireService(db, input.appkey);
      const inZone = [eq(instances.zone, input.zone), ...(service ? [eq(groups.serviceId, service.id)] : [])];
      const [member] = await db
        .select({ id: instances.id })
        .from(instances)
        .innerJoin(groups, eq(instances.groupId, groups.id))
        .where(and(...inZone))
        .limit(1);
      // A zone is only a label on instances: none there is most likely a typo in a one-call cut.
      if (!member) throw notFound(`no instance in zone "${input.zone}"${service ? ` in service "${service.appkey}"` : ""}`);
      return { kind: "zone", target: `zone/${service?.id ?? "*"}/${input.zone}`, zone: input.zone, serviceId: service?.id ?? null, reason };
    }
    case "route": {
      const [route] = await db
        .select({ id: routes.id, serviceId: routes.serviceId, appkey: services.appkey })
        .from(routes)
        .innerJoin(services, eq(routes.serviceId, services.id))
        .where(eq(routes.id, input.routeId));
      if (!route) throw notFound(`route ${input.routeId} not found`);
      if (!(await findGroup(db, route.serviceId, input.toGroup))) {
        throw unprocessable("group_not_found", `group "${input.toGroup}" is not a group of service "${route.appkey}"`, "toGroup");
      }
      return { kind: "route", target: `route/${route.id}`, routeId: route.id, toGroup: input.toGroup, reason };
    }
  }
}

/** Cut rows as the API returns them, with the names of what they refer to. */
export async function toCutDtos(db: Queryable, rows: readonly CutRow[]): Promise<TrafficCutDto[]> {
  const groupRows = await db
    .select({ id: groups.id, name: groups.name, appkey: services.appkey })
    .from(groups)
    .innerJoin(services, eq(groups.serviceId, services.id));
  const groupById = new Map(groupRows.map((g) => [g.id, g]));
  const serviceRows = await db.select({ id: services.id, appkey: services.appkey }).from(services);
  const appkeyById = new Map(serviceRows.map((s) => [s.id, s.appkey]));
  const instanceRows = await db.select({ id: instances.id, groupId: instances.groupId }).from(instances);
  const groupOfInstance = new Map(instanceRows.map((i) => [i.id, i.groupId]));
  const routeRows = await db.select({ id: routes.id, serviceId: routes.serviceId }).from(routes);
  const serviceOfRoute = new Map(routeRows.map((r) => [r.id, r.serviceId]));
  return rows.map((row) => {
    const group = groupById.get(row.groupId ?? groupOfInstance.get(row.instanceId ?? 0) ?? 0);
    const serviceId = row.serviceId ?? serviceOfRoute.get(row.routeId ?? 0);
    return {
      id: row.id,
      kind: row.kind as TrafficCutDto["kind"],
      appkey: group?.appkey ?? (serviceId === undefined ? null : (appkeyById.get(serviceId) ?? null)),
      group: group?.name ?? null,
      instanceId: row.instanceId,
      zone: row.zone,
      routeId: row.routeId,
      toGroup: row.toGroup,
      reason: row.reason,
      createdAt: row.createdAt.toISOString(),
    };
  });
}

/**
 * Runs `remove`, a delete that may cascade to traffic cuts (of a service, group, instance or
 * route: their cuts go with them, by the schema's ON DELETE CASCADE), and returns a `delete`
 * revision for each cut it took along, as DELETE /v1/traffic-cuts/{id} records one, so the
 * revision log still shows when every cut ended (list them before the delete's own revision).
 * Call inside the write's transaction.
 * @returns what `remove` returned, and the cuts' revisions (empty when none went).
 */
export async function withCascadedCuts<T>(tx: Transaction, remove: () => Promise<T>): Promise<{ removed: T; cuts: RevisionRecord[] }> {
  const rows = await tx.select().from(trafficCuts);
  if (rows.length === 0) return { removed: await remove(), cuts: [] };
  // The representations name groups and services, so they are taken before those go.
  const before = await toCutDtos(tx, rows);
  const removed = await remove();
  const left = new Set((await tx.select({ id: trafficCuts.id }).from(trafficCuts)).map((r) => r.id));
  const cuts = before
    .filter((cut) => !left.has(cut.id))
    .map((cut): RevisionRecord => ({ action: "delete", resource: "traffic_cut", resourceId: String(cut.id), before: cut, after: null }));
  return { removed, cuts };
}
