/**
 * /v1/services/{appkey}/functions: a service's functions (issue 15) and their scaling settings
 * (Knative's names and defaults, control/functions/autoscaler/settings.ts). Deleting a function
 * deletes its versions, its traffic split and the bundles no other version uses; a function that
 * a route targets cannot be deleted (409 naming the routes, like a targeted group). Versions: function-versions.ts;
 * traffic: function-traffic.ts.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { asc, eq, sql } from "drizzle-orm";
import { conflict } from "../config/errors.ts";
import { findFunction, listVersions, readTraffic, requireFunction, toFunctionDto, toVersionDto } from "../config/function-store.ts";
import { removeUnusedBundle } from "../config/function-versions.ts";
import { requireService } from "../config/lookup.ts";
import { findFunctionReferrers } from "../config/references.ts";
import { type ConfigDeps, runWrite } from "../config/write.ts";
import { functions } from "../db/schema.ts";
import { ScalingSettingsSchema } from "../functions/autoscaler/settings.ts";
import { appkeyField, nameField } from "./fields.ts";
import { FunctionCreate, FunctionPatch, FunctionSchema } from "./function-fields.ts";
import { type ApiApp, BEARER, errors, json, jsonBody, listOf } from "./openapi.ts";

const ServiceParams = z.object({ appkey: appkeyField });
const FunctionParams = z.object({ appkey: appkeyField, name: nameField });

const tags = ["functions"];
const base = "/v1/services/{appkey}/functions";

const createFunction = createRoute({
  method: "post",
  path: base,
  tags,
  security: BEARER,
  request: { params: ServiceParams, ...jsonBody(FunctionCreate) },
  responses: { 201: json(FunctionSchema, "Created, scaling defaults filled in"), ...errors(400, 404, 409) },
});
const listFunctions = createRoute({
  method: "get",
  path: base,
  tags,
  security: BEARER,
  request: { params: ServiceParams },
  responses: { 200: json(listOf(FunctionSchema), "The service's functions, by name"), ...errors(400, 404) },
});
const getFunction = createRoute({
  method: "get",
  path: `${base}/{name}`,
  tags,
  security: BEARER,
  request: { params: FunctionParams },
  responses: { 200: json(FunctionSchema, "The function"), ...errors(400, 404) },
});
const patchFunction = createRoute({
  method: "patch",
  path: `${base}/{name}`,
  tags,
  security: BEARER,
  request: { params: FunctionParams, ...jsonBody(FunctionPatch) },
  responses: { 200: json(FunctionSchema, "Updated"), ...errors(400, 404) },
});
const deleteFunction = createRoute({
  method: "delete",
  path: `${base}/{name}`,
  tags,
  security: BEARER,
  request: { params: FunctionParams },
  responses: { 204: { description: "Deleted, with its versions and traffic split" }, ...errors(400, 404, 409) },
});

/** Registers the function routes on `app`. */
export function addFunctionRoutes(app: ApiApp, deps: ConfigDeps): void {
  app.openapi(createFunction, async (c) => {
    const { appkey } = c.req.valid("param");
    const input = c.req.valid("json");
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      const service = await requireService(tx, appkey);
      if (await findFunction(tx, service.id, input.name)) {
        throw conflict(`function "${input.name}" already exists in service "${appkey}"`);
      }
      const scaling = input.scaling ?? ScalingSettingsSchema.parse({});
      const [row] = await tx
        .insert(functions)
        .values({ serviceId: service.id, name: input.name, scaling: { ...scaling }, allowOutbound: input.allowOutbound })
        .returning();
      const after = toFunctionDto(row, appkey);
      return {
        result: after,
        revision: { action: "create", resource: "function", resourceId: `${appkey}/${row.name}`, before: null, after },
      };
    });
    return c.json(result, 201);
  });

  app.openapi(listFunctions, async (c) => {
    const { appkey } = c.req.valid("param");
    const service = await requireService(deps.db, appkey);
    const rows = await deps.db.select().from(functions).where(eq(functions.serviceId, service.id)).orderBy(asc(functions.name));
    return c.json({ items: rows.map((row) => toFunctionDto(row, appkey)) }, 200);
  });

  app.openapi(getFunction, async (c) => {
    const { appkey, name } = c.req.valid("param");
    const { fn } = await requireFunction(deps.db, appkey, name);
    return c.json(toFunctionDto(fn, appkey), 200);
  });

  app.openapi(patchFunction, async (c) => {
    const { appkey, name } = c.req.valid("param");
    const input = c.req.valid("json");
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      const { fn } = await requireFunction(tx, appkey, name);
      const [row] = await tx
        .update(functions)
        .set({
          ...(input.scaling ? { scaling: { ...input.scaling } } : {}),
          ...(input.allowOutbound !== undefined ? { allowOutbound: input.allowOutbound } : {}),
          updatedAt: sql`now()`,
        })
        .where(eq(functions.id, fn.id))
        .returning();
      const before = toFunctionDto(fn, appkey);
      const after = toFunctionDto(row, appkey);
      return { result: after, revision: { action: "update", resource: "function", resourceId: `${appkey}/${name}`, before, after } };
    });
    return c.json(result, 200);
  });

  app.openapi(deleteFunction, async (c) => {
    const { appkey, name } = c.req.valid("param");
    await runWrite(deps, c.var.role, async (tx) => {
      const { fn } = await requireFunction(tx, appkey, name);
      const referrers = await findFunctionReferrers(tx, fn.serviceId, name);
      if (referrers.length > 0) {
        const list = referrers.map((r) => `${r.resource} ${r.id} (${r.via})`).join(", ");
        throw conflict(`function "${name}" of service "${appkey}" is still referenced by ${list}`, referrers);
      }
      const versions = await listVersions(tx, fn.id);
      const before = {
        ...toFunctionDto(fn, appkey),
        versions: versions.map((v) => toVersionDto(v, appkey, name)),
        traffic: await readTraffic(tx, fn.id),
      };
      await tx.delete(functions).where(eq(functions.id, fn.id));
      for (const sha256 of new Set(versions.map((v) => v.bundleSha256))) await removeUnusedBundle(tx, sha256);
      return { result: null, revision: { action: "delete", resource: "function", resourceId: `${appkey}/${name}`, before, after: null } };
    });
    return c.body(null, 204);
  });
}
