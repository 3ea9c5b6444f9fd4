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
import { asc, eq } from "drizzle-orm";
import { conflict, notFound } from "../config/errors.ts";
import { resolveCut, toCutDtos } from "../config/traffic-cuts.ts";
import { type ConfigDeps, runWrite } from "../config/write.ts";
import { trafficCuts } from "../db/schema.ts";
import { appkeyField, idField, idParam, labelField, nameField } from "./fields.ts";
import { type ApiApp, BEARER, errors, json, jsonBody, listOf } from "./openapi.ts";
import { TrafficCutSchema } from "./resource-schemas.ts";

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

/** Registers the traffic-cut routes on `app`. */
export function addTrafficCutRoutes(app: ApiApp, deps: ConfigDeps): void {
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
