/**
 * /v1/routes: host + location path of a service, its default target and ordered policy list.
 * The default target is exactly one of `defaultGroup` (a group of the service) or `function` (a
 * function of the service, docs/functions-runtime.md "In the snapshot"); policies still route to
 * groups. (host, path, match) is unique; references are checked as in control/config/references.ts.
 * `plugins` (docs/edge-protection.md) override the service's per plugin; null turns one off.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, ne, sql } from "drizzle-orm";
import { conflict, notFound, unprocessable } from "../config/errors.ts";
import { findService } from "../config/lookup.ts";
import { checkPluginGroups, checkRouteCut, checkRouteReferences } from "../config/references.ts";
import { toRouteDto } from "../config/representations.ts";
import { withCascadedCuts } from "../config/traffic-cuts.ts";
import { type ConfigDeps, runWrite } from "../config/write.ts";
import type { Queryable } from "../db/connect.ts";
import { routes, services } from "../db/schema.ts";
import { retryField } from "./balancing-fields.ts";
import { appkeyField, bodyCapBytesField, idParam, nameField, pathField, routeHostField, timeoutMsField } from "./fields.ts";
import { type ApiApp, BEARER, errors, json, jsonBody, listOf } from "./openapi.ts";
import { routePluginsField } from "./plugin-fields.ts";
import { RouteSchema } from "./resource-schemas.ts";

/** Most policies one route may list. */
export const MAX_ROUTE_POLICIES = 100;

const policyListField = z
  .array(nameField)
  .max(MAX_ROUTE_POLICIES)
  .superRefine((names, ctx) => {
    names.forEach((name, index) => {
      if (names.indexOf(name) !== index) ctx.addIssue({ code: "custom", path: [index], message: `"${name}" is listed twice` });
    });
  })
  .openapi({ description: "Policy names, evaluated in order; the first enabled match wins" });

/** Create and full replacement share one shape; omitted optional fields take their defaults. */
const RouteInput = z
  .strictObject({
    appkey: appkeyField,
    host: routeHostField.default("*"),
    path: pathField,
    match: z
      .enum(["exact", "prefix"])
      .default("prefix")
      .openapi({ description: "nginx location kind: `exact` (`location =`) beats the longest `prefix`" }),
    defaultGroup: nameField
      .nullish()
      .openapi({ description: "Group (in the service) taking the traffic no policy takes; exactly one of defaultGroup or function" }),
    function: nameField
      .nullish()
      .openapi({ description: "Function (in the service) taking the traffic no policy takes; exactly one of defaultGroup or function" }),
    policies: policyListField.default([]),
    timeoutMs: timeoutMsField.default(15000),
    bodyCapBytes: bodyCapBytesField.default(65536),
    retry: retryField,
    plugins: routePluginsField,
  })
  .superRefine((route, ctx) => {
    const hasGroup = route.defaultGroup != null;
    const hasFunction = route.function != null;
    if (hasGroup && hasFunction) {
      ctx.addIssue({ code: "custom", path: ["function"], message: "a route targets either defaultGroup or function, not both" });
    } else if (!hasGroup && !hasFunction) {
      ctx.addIssue({ code: "custom", path: ["defaultGroup"], message: "one of defaultGroup or function is required" });
    }
    // Envoy allows a per-try timeout above the route's, but it could never fire: refuse it.
    const perTry = route.retry.perTryTimeoutMs;
    if (perTry !== undefined && perTry > route.timeoutMs) {
      ctx.addIssue({
        code: "custom",
        path: ["retry", "perTryTimeoutMs"],
        message: `must not exceed the route's timeoutMs (${route.timeoutMs})`,
      });
    }
  })
  .openapi("RouteInput");
type RouteInputValue = z.infer<typeof RouteInput>;
const IdParams = z.object({ id: idParam.openapi({ type: "integer" }) });

const tags = ["routes"];

const createRouteRoute = createRoute({
  method: "post",
  path: "/v1/routes",
  tags,
  security: BEARER,
  request: jsonBody(RouteInput),
  responses: { 201: json(RouteSchema, "Created"), ...errors(400, 409, 422) },
});
const listRoutes = createRoute({
  method: "get",
  path: "/v1/routes",
  tags,
  security: BEARER,
  responses: { 200: json(listOf(RouteSchema), "All routes, by id"), ...errors() },
});
const getRoute = createRoute({
  method: "get",
  path: "/v1/routes/{id}",
  tags,
  security: BEARER,
  request: { params: IdParams },
  responses: { 200: json(RouteSchema, "The route"), ...errors(400, 404) },
});
const replaceRoute = createRoute({
  method: "put",
  path: "/v1/routes/{id}",
  tags,
  security: BEARER,
  request: { params: IdParams, ...jsonBody(RouteInput) },
  responses: { 200: json(RouteSchema, "Replaced"), ...errors(400, 404, 409, 422) },
});
const deleteRoute = createRoute({
  method: "delete",
  path: "/v1/routes/{id}",
  tags,
  security: BEARER,
  request: { params: IdParams },
  responses: { 204: { description: "Deleted" }, ...errors(400, 404) },
});

type RouteRow = typeof routes.$inferSelect;

async function requireRoute(db: Queryable, id: number): Promise<{ row: RouteRow; appkey: string }> {
  const [found] = await db
    .select({ row: routes, appkey: services.appkey })
    .from(routes)
    .innerJoin(services, eq(routes.serviceId, services.id))
    .where(eq(routes.id, id));
  if (!found) throw notFound(`route ${id} not found`);
  return found;
}

/** Resolves and checks everything `input` refers to; returns the columns to store. */
async function prepareRoute(db: Queryable, input: RouteInputValue, exceptId = 0) {
  const service = await findService(db, input.appkey);
  if (!service) throw unprocessable("service_not_found", `service "${input.appkey}" does not exist`, "appkey");
  const [clash] = await db
    .select({ id: routes.id })
    .from(routes)
    .where(and(eq(routes.host, input.host), eq(routes.path, input.path), eq(routes.match, input.match), ne(routes.id, exceptId)));
  if (clash) throw conflict(`route ${clash.id} already has host "${input.host}", ${input.match} path "${input.path}"`);
  const target = input.function != null ? { function: input.function } : { defaultGroup: input.defaultGroup ?? "" };
  await checkRouteReferences(db, { service, ...target, policies: input.policies });
  await checkPluginGroups(db, service, input.plugins);
  if (exceptId > 0) await checkRouteCut(db, exceptId, service);
  const { appkey: _appkey, defaultGroup: _group, function: _function, ...columns } = input;
  // The CHECK routes_target_check: `default_group` is "" exactly when `function` is set.
  return { ...columns, defaultGroup: input.defaultGroup ?? "", function: input.function ?? null, serviceId: service.id };
}

/** Registers the route routes on `app`. */
export function addRouteRoutes(app: ApiApp, deps: ConfigDeps): void {
  app.openapi(createRouteRoute, async (c) => {
    const input = c.req.valid("json");
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      const [row] = await tx
        .insert(routes)
        .values(await prepareRoute(tx, input))
        .returning();
      const after = toRouteDto(row, input.appkey);
      return {
        result: after,
        revision: { action: "create", resource: "route", resourceId: String(row.id), before: null, after },
      };
    });
    return c.json(result, 201);
  });

  app.openapi(listRoutes, async (c) => {
    const rows = await deps.db
      .select({ row: routes, appkey: services.appkey })
      .from(routes)
      .innerJoin(services, eq(routes.serviceId, services.id))
      .orderBy(asc(routes.id));
    return c.json({ items: rows.map(({ row, appkey }) => toRouteDto(row, appkey)) }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { row, appkey } = await requireRoute(deps.db, c.req.valid("param").id);
    return c.json(toRouteDto(row, appkey), 200);
  });

  app.openapi(replaceRoute, async (c) => {
    const { id } = c.req.valid("param");
    const input = c.req.valid("json");
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      const current = await requireRoute(tx, id);
      const values = await prepareRoute(tx, input, id);
      const [row] = await tx
        .update(routes)
        .set({ ...values, updatedAt: sql`now()` })
        .where(eq(routes.id, id))
        .returning();
      const before = toRouteDto(current.row, current.appkey);
      const after = toRouteDto(row, input.appkey);
      return {
        result: after,
        revision: { action: "update", resource: "route", resourceId: String(id), before, after },
      };
    });
    return c.json(result, 200);
  });

  app.openapi(deleteRoute, async (c) => {
    const { id } = c.req.valid("param");
    await runWrite(deps, c.var.role, async (tx) => {
      const current = await requireRoute(tx, id);
      const { cuts } = await withCascadedCuts(tx, () => tx.delete(routes).where(eq(routes.id, id)));
      const before = toRouteDto(current.row, current.appkey);
      return {
        result: null,
        revision: [...cuts, { action: "delete", resource: "route", resourceId: String(id), before, after: null }],
      };
    });
    return c.body(null, 204);
  });
}
