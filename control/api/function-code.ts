/**
 * GET /v1/gateway/functions/{appkey}/{name}/versions/{version}/code: what a gateway needs to run
 * a version in its own isolate through the Worker Loader binding (docs/functions-runtime.md,
 * "Worker Loader mode"): the modules, entry module, compatibility date, env vars and whether the
 * code may reach the network. Gateway token (or admin). Versions are immutable, so a gateway
 * caches the answer for the version's life; a `failed` version is 404 like a missing one.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { notFound } from "../config/errors.ts";
import { requireFunction, requireVersion } from "../config/function-store.ts";
import type { ConfigDeps } from "../config/write.ts";
import { functionBundles } from "../db/schema.ts";
import { decodeBundle, MODULE_TYPES } from "../functions/bundle.ts";
import { VersionParams } from "./function-versions.ts";
import { type ApiApp, BEARER, errors, json } from "./openapi.ts";

/** A version's code and run settings, content base64 (esm UTF-8, wasm binary). */
export const FunctionCodeSchema = z
  .object({
    appkey: z.string(),
    function: z.string(),
    version: z.number().int(),
    sha256: z.string(),
    main: z.string(),
    compatibilityDate: z.string(),
    env: z.record(z.string(), z.string()),
    allowOutbound: z.boolean(),
    modules: z.array(z.object({ name: z.string(), type: z.enum(MODULE_TYPES), content: z.string() })),
  })
  .openapi("FunctionCode");

const getCode = createRoute({
  method: "get",
  path: "/v1/gateway/functions/{appkey}/{name}/versions/{version}/code",
  tags: ["functions"],
  summary: "A version's code, for a gateway running it through the Worker Loader binding",
  security: BEARER,
  request: { params: VersionParams },
  responses: { 200: json(FunctionCodeSchema, "The version's modules and run settings"), ...errors(400, 401, 404) },
});

/** Registers the gateway's code endpoint on `app`. */
export function addFunctionCodeRoute(app: ApiApp, deps: ConfigDeps): void {
  app.openapi(getCode, async (c) => {
    const { appkey, name, version } = c.req.valid("param");
    const { fn } = await requireFunction(deps.db, appkey, name);
    const row = await requireVersion(deps.db, fn, appkey, version);
    if (row.status !== "ready") throw notFound(`version ${version} of function "${name}" is ${row.status}`);
    const [bundle] = await deps.db.select().from(functionBundles).where(eq(functionBundles.sha256, row.bundleSha256));
    const modules = decodeBundle(bundle.bytes).map((m) => ({
      name: m.name,
      type: m.type,
      content: Buffer.from(m.content).toString("base64"),
    }));
    return c.json(
      {
        appkey,
        function: name,
        version,
        sha256: row.bundleSha256,
        main: row.mainModule,
        compatibilityDate: row.compatibilityDate,
        env: row.env,
        allowOutbound: fn.allowOutbound,
        modules,
      },
      200,
    );
  });
}
