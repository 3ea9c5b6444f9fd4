/**
 * Resolving the names and ids in API paths to rows, with the not_found each miss deserves (and
 * the instance address clash check, the one uniqueness rule spanning several columns).
 */
import { and, count, eq, inArray, ne } from "drizzle-orm";
import type { Queryable } from "../db/connect.ts";
import { groups, instances, services } from "../db/schema.ts";
import { conflict, notFound, unprocessable } from "./errors.ts";

export type ServiceRow = typeof services.$inferSelect;
export type GroupRow = typeof groups.$inferSelect;

/** The service named `appkey`, or null. */
export async function findService(db: Queryable, appkey: string): Promise<ServiceRow | null> {
  const [row] = await db.select().from(services).where(eq(services.appkey, appkey));
  return row ?? null;
}

/** The service named `appkey`. @throws ConfigError not_found when there is none. */
export async function requireService(db: Queryable, appkey: string): Promise<ServiceRow> {
  const row = await findService(db, appkey);
  if (!row) throw notFound(`service "${appkey}" not found`);
  return row;
}

/** Group `name` of service `serviceId`, or null. */
export async function findGroup(db: Queryable, serviceId: number, name: string): Promise<GroupRow | null> {
  const [row] = await db
    .select()
    .from(groups)
    .where(and(eq(groups.serviceId, serviceId), eq(groups.name, name)));
  return row ?? null;
}

/** The service and its group `name`. @throws ConfigError not_found naming whichever is missing. */
export async function requireGroup(db: Queryable, appkey: string, name: string): Promise<{ service: ServiceRow; group: GroupRow }> {
  const service = await requireService(db, appkey);
  const group = await findGroup(db, service.id, name);
  if (!group) throw notFound(`group "${name}" not found in service "${appkey}"`);
  return { service, group };
}

export type InstanceRow = typeof instances.$inferSelect;

/** Instance `id` of group `groupId`; `where` names the group in the error. @throws ConfigError not_found */
export async function requireInstance(db: Queryable, groupId: number, id: number, where: string): Promise<InstanceRow> {
  const [row] = await db
    .select()
    .from(instances)
    .where(and(eq(instances.id, id), eq(instances.groupId, groupId)));
  if (!row) throw notFound(`instance ${id} not found in ${where}`);
  return row;
}

/** @throws ConfigError conflict when another instance of the group has the same host and port. */
export async function checkUniqueAddress(db: Queryable, groupId: number, host: string, port: number, exceptId = 0) {
  const [clash] = await db
    .select({ id: instances.id })
    .from(instances)
    .where(and(eq(instances.groupId, groupId), eq(instances.host, host), eq(instances.port, port), ne(instances.id, exceptId)));
  if (clash) throw conflict(`instance ${clash.id} of this group already has address ${host}:${port}`);
}

/**
 * Most instances a maglev group may hold: the gateways' maglev tables store instance offsets as
 * u16 (docs/balancing.md, "Hash tables"), so every gateway would refuse a snapshot with a larger
 * one, and no configuration change would reach them until it shrank.
 */
export const MAGLEV_MAX_INSTANCES = 65_535;

/**
 * @throws ConfigError unprocessable (reason `too_many_instances`, naming `field`) when group
 *   `groupId`, balanced by `balancer`, would hold more than MAGLEV_MAX_INSTANCES instances with
 *   `adding` more.
 */
export async function checkMaglevRoom(db: Queryable, groupId: number, balancer: string, adding: number, field: string) {
  if (balancer !== "maglev") return;
  const [row] = await db.select({ n: count() }).from(instances).where(eq(instances.groupId, groupId));
  const total = (row?.n ?? 0) + adding;
  if (total > MAGLEV_MAX_INSTANCES) {
    throw unprocessable(
      "too_many_instances",
      `a maglev group holds at most ${MAGLEV_MAX_INSTANCES} instances; this one would hold ${total}`,
      field,
    );
  }
}

/** The appkey and group name of each instance row's group, by instance id. */
export async function instanceLabels(db: Queryable, rows: readonly InstanceRow[]): Promise<Map<number, { appkey: string; group: string }>> {
  const out = new Map<number, { appkey: string; group: string }>();
  if (rows.length === 0) return out;
  const groupIds = [...new Set(rows.map((r) => r.groupId))];
  const found = await db
    .select({ id: groups.id, group: groups.name, appkey: services.appkey })
    .from(groups)
    .innerJoin(services, eq(groups.serviceId, services.id))
    .where(inArray(groups.id, groupIds));
  const byGroup = new Map(found.map((g) => [g.id, g]));
  for (const row of rows) {
    const g = byGroup.get(row.groupId);
    if (g) out.set(row.id, { appkey: g.appkey, group: g.group });
  }
  return out;
}
