/**
 * GET /v1/registry/instances: a service's instances as the registry holds them, as a Consul-style
 * blocking query: with `index` (from a previous answer's `index` / Sluice-Index header) and
 * `wait`, the answer is held until the service changes or the wait ends (plus up to 1/16 jitter,
 * as Consul), whichever replica the change went through (sluice_change, control/propagation/
 * change-index.ts). Agent tokens must name a service of theirs; the admin token may omit it.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, type SQL } from "drizzle-orm";
import { toInstanceDto } from "../config/representations.ts";
import { ENVIRONMENTS, groups, instances, services } from "../db/schema.ts";
import { badRequest } from "./errors.ts";
import { appkeyField, indexField, nameField, waitField } from "./fields.ts";
import { type ApiApp, BEARER, errors, json } from "./openapi.ts";
import { INDEX_HEADER, type RegistryDeps } from "./registry-deps.ts";
import { InstanceSchema } from "./resource-schemas.ts";
import { requireScope } from "./scope.ts";

const WatchQuery = z.strictObject({
  appkey: appkeyField.optional(),
  group: nameField.optional(),
  env: z.enum(ENVIRONMENTS).optional(),
  index: indexField.optional(),
  wait: waitField.optional(),
});

const InstanceList = z
  .object({
    /** Pass as `index` to block until the next change. */
    index: z.number().int(),
    items: z.array(InstanceSchema),
  })
  .openapi("RegistryInstances");

const watch = createRoute({
  method: "get",
  path: "/v1/registry/instances",
  tags: ["registry"],
  security: BEARER,
  request: { query: WatchQuery },
  responses: { 200: json(InstanceList, `Instances, by id; the ${INDEX_HEADER} header repeats the index`), ...errors(400, 403) },
});

/** Registers the blocking instance list on `app`. */
export function addRegistryWatchRoute(app: ApiApp, deps: RegistryDeps): void {
  app.openapi(watch, async (c) => {
    const query = c.req.valid("query");
    if (query.appkey) requireScope(c, query.appkey);
    else if (c.var.role !== "admin")
      throw badRequest("agent tokens must name a service", [{ path: "appkey", message: "required", in: "query" }]);
    const appkey = query.appkey ?? null;
    let index = deps.registry.changes.indexOf(appkey);
    if (query.index !== undefined && query.wait !== undefined) {
      const jitter = Math.floor(Math.random() * (query.wait / 16));
      index = await deps.registry.changes.wait(appkey, query.index, query.wait + jitter, c.req.raw.signal);
    }
    const conditions: SQL[] = [];
    if (query.appkey) conditions.push(eq(services.appkey, query.appkey));
    if (query.group) conditions.push(eq(groups.name, query.group));
    if (query.env) conditions.push(eq(instances.env, query.env));
    const rows = await deps.db
      .select({ instance: instances, appkey: services.appkey, group: groups.name })
      .from(instances)
      .innerJoin(groups, eq(instances.groupId, groups.id))
      .innerJoin(services, eq(groups.serviceId, services.id))
      .where(and(...conditions))
      .orderBy(asc(instances.id));
    c.header(INDEX_HEADER, String(index));
    return c.json({ index, items: rows.map((r) => toInstanceDto(r.instance, r.appkey, r.group)) }, 200);
  });
}
