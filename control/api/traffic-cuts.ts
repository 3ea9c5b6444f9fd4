/**
 * /v1/traffic-cuts: one-call traffic cuts (OCTO's 一键切流; docs/balancing.md, "Traffic cuts").
 * A cut drains an instance, a group or a zone (optionally of one service), or forces a route to
 * another group of its service; it becomes snapshot data (INSTANCES drained flag, a ROUTES
 * override), so it reaches every gateway by the usual propagation, and DELETE undoes it.
 *
 * Errors: 400 on a malformed body (naming the field), 404 when the instance, group, service, route
 * or zone (no instance there) does not exist, 422 when a route cut's `toGroup` is not a group of
 * the route's service, 409 when the same target already has an active cut.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq } from "drizzle-orm";
import { conflict, notFound, unprocessable } from "../config/errors.ts";
import { findGroup, requireGroup, requireService } from "../config/lookup.ts";
import { type ApiDeps, type RevisionRecord, runWrite } from "../config/write.ts";
import type { Queryable, Transaction } from "../db/connect.ts";
import { groups, instances, routes, services, TRAFFIC_CUT_KINDS, trafficCuts } from "../db/schema.ts";
import { appkeyField, idField, idParam, labelField, nameField, timestampField } from "./fields.ts";
import { type ApiApp, BEARER, errors, json, jsonBody, listOf } from "./openapi.ts";

/** Longest `reason`, in characters. */
export const MAX_REASON_LENGTH = 1024;

const reasonField = z.string().max(MAX_REASON_LENGTH).default("").openapi({ example: "bj-1 network maintenance" });

const CutInput = z
  .discriminatedUnion("kind", [
    z.strictObject({ kind: z.literal("instance"), instanceId: idField, reason: reasonField }),
    z.strictObject({ kind: z.literal("group"), appkey: appkeyField, group: nameField, reason: reasonField }),
    z.strictObject({
      kind: z.literal("zone"),
      zone: labelField.min(1).openapi({ example: "bj-1" }),
      appkey: appkeyField.optional().openapi({ description: "Limit the cut to this service's instances; omitted: every service" }),
      reason: reasonField,
    }),
    z.strictObject({ kind: z.literal("route"), routeId: idField, toGroup: nameField, reason: reasonField }),
  ])
  .openapi("TrafficCutInput");
type CutInputValue = z.infer<typeof CutInput>;

/**
 * A cut as the API returns it. Fields that do not apply to its kind are null; an instance cut also
 * names the instance's service and group, a route cut the route's service.
 */
export const TrafficCutSchema = z
  .object({
    id: z.number().int(),
    kind: z.enum(TRAFFIC_CUT_KINDS),
    appkey: z.string().nullable(),
    group: z.string().nullable(),
    instanceId: z.number().int().nullable(),
    zone: z.string().nullable(),
    routeId: z.number().int().nullable(),
    toGroup: z.string().nullable(),
    reason: z.string(),
    createdAt: timestampField,
  })
  .openapi("TrafficCut");
export type TrafficCutDto = z.infer<typeof TrafficCutSchema>;

const tags = ["traffic-cuts"];
const IdParams = z.object({ id: idParam.openapi({ type: "integer" }) });

const createCut = createRoute({
  method: "post",
  path: "/v1/traffic-cuts",
  tags,
  security: BEARER,
  request: jsonBody(CutInput),
  responses: { 201: json(TrafficCutSchema, "Cut: the next snapshot drains or forces the target"), ...errors(400, 404, 409, 422) },
});
const listCuts = createRoute({
  method: "get",
  path: "/v1/traffic-cuts",
  tags,
  security: BEARER,
  responses: { 200: json(listOf(TrafficCutSchema), "Active cuts, by id"), ...errors() },
});
const deleteCut = createRoute({
  method: "delete",
  path: "/v1/traffic-cuts/{id}",
  tags,
  security: BEARER,
  request: { params: IdParams },
  responses: { 204: { description: "Undone: the next snapshot restores the target" }, ...errors(400, 404) },
});

type CutRow = typeof trafficCuts.$inferSelect;

/** The row to insert for `input`, its targets checked. @throws ConfigError not_found / unprocessable */
async function resolveCut(db: Queryable, input: CutInputValue): Promise<typeof trafficCuts.$inferInsert> {
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

/** Registers the traffic-cut routes on `app`. */
export function addTrafficCutRoutes(app: ApiApp, deps: ApiDeps): void {
  app.openapi(createCut, async (c) => {
    const input = c.req.valid("json");
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      const values = await resolveCut(tx, input);
      const [clash] = await tx.select({ id: trafficCuts.id }).from(trafficCuts).where(eq(trafficCuts.target, values.target));
      if (clash) throw conflict(`traffic cut ${clash.id} already cuts ${values.target}`);
      const [row] = await tx.insert(trafficCuts).values(values).returning();
      const [after] = await toCutDtos(tx, [row]);
      return { result: after, revision: { action: "create", resource: "traffic_cut", resourceId: String(row.id), before: null, after } };
    });
    return c.json(result, 201);
  });

  app.openapi(listCuts, async (c) => {
    const rows = await deps.db.select().from(trafficCuts).orderBy(asc(trafficCuts.id));
    return c.json({ items: await toCutDtos(deps.db, rows) }, 200);
  });

  app.openapi(deleteCut, async (c) => {
    const { id } = c.req.valid("param");
    await runWrite(deps, c.var.role, async (tx) => {
      const [row] = await tx.select().from(trafficCuts).where(eq(trafficCuts.id, id));
      if (!row) throw notFound(`traffic cut ${id} not found`);
      const [before] = await toCutDtos(tx, [row]);
      await tx.delete(trafficCuts).where(eq(trafficCuts.id, id));
      return { result: null, revision: { action: "delete", resource: "traffic_cut", resourceId: String(id), before, after: null } };
    });
    return c.body(null, 204);
  });
}
