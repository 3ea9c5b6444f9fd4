/**
 * /v1/services/{appkey}/functions/{name}/versions: immutable versions of a function (as Knative
 * Revisions), created by uploading code. There is no PUT or PATCH: a version never changes.
 * Deleting one that carries traffic (directly or through `latest`) is refused (409, naming the
 * traffic entry). The upload's body cap is VERSION_UPLOAD_BODY_BYTES (app.ts), so a bundle over
 * MAX_BUNDLE_BYTES decoded is a 400 naming `modules`, not a bare 413.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { listVersions, requireFunction, requireVersion, toVersionDto } from "../config/function-store.ts";
import { deleteVersion, insertVersion } from "../config/function-versions.ts";
import { type ConfigDeps, runWrite } from "../config/write.ts";
import { functionBundles } from "../db/schema.ts";
import { decodeBundle, MAX_BUNDLE_BYTES } from "../functions/bundle.ts";
import { appkeyField, nameField } from "./fields.ts";
import { FunctionBundleSchema, FunctionVersionSchema, VersionUpload } from "./function-fields.ts";
import { type ApiApp, BEARER, errors, json, jsonBody, listOf } from "./openapi.ts";

/**
 * The request body cap of a version upload: MAX_BUNDLE_BYTES in base64 (4 characters per 3
 * bytes) plus 1 MiB for names, env vars and JSON.
 */
export const VERSION_UPLOAD_BODY_BYTES = Math.ceil(MAX_BUNDLE_BYTES / 3) * 4 + 1024 * 1024;

/** The upload path as a Hono pattern, for the larger body cap (app.ts). */
export const VERSION_UPLOAD_PATH = /^\/v1\/services\/[^/]+\/functions\/[^/]+\/versions\/?$/;

const FunctionParams = z.object({ appkey: appkeyField, name: nameField });
/** Path parameters naming one version: `{appkey, name, version}` (a positive integer). */
export const VersionParams = z.object({
  appkey: appkeyField,
  name: nameField,
  version: z
    .string()
    .regex(/^[1-9][0-9]{0,8}$/, "must be a positive integer")
    .transform(Number)
    .openapi({ type: "integer", example: 1 }),
});

const tags = ["functions"];
const base = "/v1/services/{appkey}/functions/{name}/versions";

const createVersion = createRoute({
  method: "post",
  path: base,
  tags,
  security: BEARER,
  request: { params: FunctionParams, ...jsonBody(VersionUpload) },
  responses: { 201: json(FunctionVersionSchema, "Created: its number and bundle SHA-256"), ...errors(400, 404, 413) },
});
const listVersionsRoute = createRoute({
  method: "get",
  path: base,
  tags,
  security: BEARER,
  request: { params: FunctionParams },
  responses: { 200: json(listOf(FunctionVersionSchema), "The function's versions, oldest first"), ...errors(400, 404) },
});
const getVersion = createRoute({
  method: "get",
  path: `${base}/{version}`,
  tags,
  security: BEARER,
  request: { params: VersionParams },
  responses: { 200: json(FunctionVersionSchema, "The version's metadata (not its code)"), ...errors(400, 404) },
});
const getBundle = createRoute({
  method: "get",
  path: `${base}/{version}/bundle`,
  tags,
  security: BEARER,
  request: { params: VersionParams },
  responses: { 200: json(FunctionBundleSchema, "The version's modules, base64, sorted by name"), ...errors(400, 404) },
});
const deleteVersionRoute = createRoute({
  method: "delete",
  path: `${base}/{version}`,
  tags,
  security: BEARER,
  request: { params: VersionParams },
  responses: { 204: { description: "Deleted" }, ...errors(400, 404, 409) },
});

/** Registers the function version routes on `app`. */
export function addFunctionVersionRoutes(app: ApiApp, deps: ConfigDeps): void {
  app.openapi(createVersion, async (c) => {
    const { appkey, name } = c.req.valid("param");
    const upload = c.req.valid("json");
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      const { fn } = await requireFunction(tx, appkey, name);
      const row = await insertVersion(tx, fn, upload);
      const after = toVersionDto(row, appkey, name);
      return {
        result: after,
        revision: { action: "create", resource: "function_version", resourceId: `${appkey}/${name}/${row.number}`, before: null, after },
      };
    });
    return c.json(result, 201);
  });

  app.openapi(listVersionsRoute, async (c) => {
    const { appkey, name } = c.req.valid("param");
    const { fn } = await requireFunction(deps.db, appkey, name);
    const rows = await listVersions(deps.db, fn.id);
    return c.json({ items: rows.map((row) => toVersionDto(row, appkey, name)) }, 200);
  });

  app.openapi(getVersion, async (c) => {
    const { appkey, name, version } = c.req.valid("param");
    const { fn } = await requireFunction(deps.db, appkey, name);
    return c.json(toVersionDto(await requireVersion(deps.db, fn, appkey, version), appkey, name), 200);
  });

  app.openapi(getBundle, async (c) => {
    const { appkey, name, version } = c.req.valid("param");
    const { fn } = await requireFunction(deps.db, appkey, name);
    const row = await requireVersion(deps.db, fn, appkey, version);
    const [bundle] = await deps.db.select().from(functionBundles).where(eq(functionBundles.sha256, row.bundleSha256));
    const modules = decodeBundle(bundle.bytes).map((m) => ({
      name: m.name,
      type: m.type,
      content: Buffer.from(m.content).toString("base64"),
    }));
    return c.json({ sha256: row.bundleSha256, main: row.mainModule, modules }, 200);
  });

  app.openapi(deleteVersionRoute, async (c) => {
    const { appkey, name, version } = c.req.valid("param");
    await runWrite(deps, c.var.role, async (tx) => {
      const { fn } = await requireFunction(tx, appkey, name);
      const row = await requireVersion(tx, fn, appkey, version);
      await deleteVersion(tx, fn, row);
      const before = toVersionDto(row, appkey, name);
      return {
        result: null,
        revision: { action: "delete", resource: "function_version", resourceId: `${appkey}/${name}/${version}`, before, after: null },
      };
    });
    return c.body(null, 204);
  });
}
