/**
 * /v1/services: services named by appkey, with their registry settings (heartbeat timings and
 * protect threshold, defaults as Nacos). Deleting a service deletes its groups and instances,
 * and is refused (409) while routes, private policies or functions still belong to it. `plugins`
 * are the default plugins of its routes (docs/edge-protection.md); a new service has no groups
 * yet, so an anti-scraping suspectGroup can only be set by a PUT.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { asc, eq, inArray, sql } from "drizzle-orm";
import { conflict } from "../config/errors.ts";
import { findService, requireService } from "../config/lookup.ts";
import { checkPluginGroups, findServiceReferrers } from "../config/references.ts";
import { toGroupDto, toInstanceDto, toServiceDto } from "../config/representations.ts";
import { withCascadedCuts } from "../config/traffic-cuts.ts";
import { type ConfigDeps, runWrite } from "../config/write.ts";
import { groups, instances, services } from "../db/schema.ts";
import { appkeyField } from "./fields.ts";
import { type ApiApp, BEARER, errors, json, jsonBody, listOf } from "./openapi.ts";
import { servicePluginsField } from "./plugin-fields.ts";
import { ServiceSchema } from "./resource-schemas.ts";

const descriptionField = z.string().max(1024);

/**
 * Registry settings; omitted ones take Nacos' defaults. Cross-field rules (unhealthy after more
 * than one interval, removal no sooner than unhealthy) are reported on the later field.
 */
const registrySettings = {
  heartbeatIntervalMs: z.number().int().min(100).max(600_000).default(5000).openapi({ description: "How often agents beat, ms" }),
  unhealthyAfterMs: z.number().int().min(200).max(3_600_000).default(15000).openapi({ description: "Silence before unhealthy, ms" }),
  removeAfterMs: z
    .number()
    .int()
    .min(200)
    .max(86_400_000)
    .default(30000)
    .openapi({ description: "Silence before an ephemeral instance is removed, ms" }),
  protectThresholdPct: z
    .number()
    .int()
    .min(0)
    .max(100)
    .default(50)
    .openapi({ description: "Largest share of instances, %, that may turn unhealthy at once; beyond it they keep routing" }),
};

function checkTimings<T extends { heartbeatIntervalMs: number; unhealthyAfterMs: number; removeAfterMs: number }>(
  value: T,
  ctx: z.RefinementCtx,
): void {
  if (value.unhealthyAfterMs <= value.heartbeatIntervalMs) {
    ctx.addIssue({ code: "custom", path: ["unhealthyAfterMs"], message: "must be more than heartbeatIntervalMs" });
  }
  if (value.removeAfterMs < value.unhealthyAfterMs) {
    ctx.addIssue({ code: "custom", path: ["removeAfterMs"], message: "must be at least unhealthyAfterMs" });
  }
}

const ServiceCreate = z
  .strictObject({ appkey: appkeyField, description: descriptionField.default(""), ...registrySettings, plugins: servicePluginsField })
  .superRefine(checkTimings)
  .openapi("ServiceCreate");
const ServiceReplace = z
  .strictObject({ description: descriptionField, ...registrySettings, plugins: servicePluginsField })
  .superRefine(checkTimings)
  .openapi("ServiceReplace");
const AppkeyParams = z.object({ appkey: appkeyField });

const tags = ["services"];

const createService = createRoute({
  method: "post",
  path: "/v1/services",
  tags,
  security: BEARER,
  request: jsonBody(ServiceCreate),
  responses: { 201: json(ServiceSchema, "Created"), ...errors(400, 409) },
});
const listServices = createRoute({
  method: "get",
  path: "/v1/services",
  tags,
  security: BEARER,
  responses: { 200: json(listOf(ServiceSchema), "All services, by appkey"), ...errors() },
});
const getService = createRoute({
  method: "get",
  path: "/v1/services/{appkey}",
  tags,
  security: BEARER,
  request: { params: AppkeyParams },
  responses: { 200: json(ServiceSchema, "The service"), ...errors(400, 404) },
});
const replaceService = createRoute({
  method: "put",
  path: "/v1/services/{appkey}",
  tags,
  security: BEARER,
  request: { params: AppkeyParams, ...jsonBody(ServiceReplace) },
  responses: { 200: json(ServiceSchema, "Replaced"), ...errors(400, 404) },
});
const deleteService = createRoute({
  method: "delete",
  path: "/v1/services/{appkey}",
  tags,
  security: BEARER,
  request: { params: AppkeyParams },
  responses: { 204: { description: "Deleted, with its groups and instances" }, ...errors(400, 404, 409) },
});

/** Registers the /v1/services routes on `app`. */
export function addServiceRoutes(app: ApiApp, deps: ConfigDeps): void {
  app.openapi(createService, async (c) => {
    const input = c.req.valid("json");
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      if (await findService(tx, input.appkey)) throw conflict(`service "${input.appkey}" already exists`);
      const [row] = await tx.insert(services).values(input).returning();
      await checkPluginGroups(tx, row, input.plugins);
      const after = toServiceDto(row);
      return {
        result: after,
        revision: { action: "create", resource: "service", resourceId: row.appkey, before: null, after },
      };
    });
    return c.json(result, 201);
  });

  app.openapi(listServices, async (c) => {
    const rows = await deps.db.select().from(services).orderBy(asc(services.appkey));
    return c.json({ items: rows.map(toServiceDto) }, 200);
  });

  app.openapi(getService, async (c) => {
    const row = await requireService(deps.db, c.req.valid("param").appkey);
    return c.json(toServiceDto(row), 200);
  });

  app.openapi(replaceService, async (c) => {
    const { appkey } = c.req.valid("param");
    const input = c.req.valid("json");
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      const current = await requireService(tx, appkey);
      await checkPluginGroups(tx, current, input.plugins);
      const before = toServiceDto(current);
      const [row] = await tx
        .update(services)
        .set({ ...input, updatedAt: sql`now()` })
        .where(eq(services.appkey, appkey))
        .returning();
      const after = toServiceDto(row);
      return {
        result: after,
        revision: { action: "update", resource: "service", resourceId: appkey, before, after },
      };
    });
    return c.json(result, 200);
  });

  app.openapi(deleteService, async (c) => {
    const { appkey } = c.req.valid("param");
    await runWrite(deps, c.var.role, async (tx) => {
      const service = await requireService(tx, appkey);
      const referrers = await findServiceReferrers(tx, service);
      if (referrers.length > 0) {
        throw conflict(`service "${appkey}" still has routes, private policies or functions`, referrers);
      }
      // Keep what the cascade removes in the revision: nothing is lost.
      const groupRows = await tx.select().from(groups).where(eq(groups.serviceId, service.id)).orderBy(asc(groups.id));
      const instanceRows = groupRows.length
        ? await tx
            .select()
            .from(instances)
            .where(
              inArray(
                instances.groupId,
                groupRows.map((g) => g.id),
              ),
            )
            .orderBy(asc(instances.id))
        : [];
      const before = {
        ...toServiceDto(service),
        groups: groupRows.map((g) => ({
          ...toGroupDto(g, appkey),
          instances: instanceRows.filter((i) => i.groupId === g.id).map((i) => toInstanceDto(i, appkey, g.name)),
        })),
      };
      const { cuts } = await withCascadedCuts(tx, () => tx.delete(services).where(eq(services.id, service.id)));
      return {
        result: null,
        revision: [...cuts, { action: "delete", resource: "service", resourceId: appkey, before, after: null }],
      };
    });
    return c.body(null, 204);
  });
}
