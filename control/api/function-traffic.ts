/**
 * /v1/services/{appkey}/functions/{name}/traffic: a function's traffic split, as Knative's
 * Service `traffic` block (control/functions/traffic.ts). PUT replaces the whole split in one
 * write — a blue-green switch is one PUT moving 100 % — or changes nothing (400 naming
 * `targets`, `targets[i].version` or `targets[i].tag`).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { readTraffic, requireFunction } from "../config/function-store.ts";
import { replaceTraffic } from "../config/function-traffic.ts";
import { type ConfigDeps, runWrite } from "../config/write.ts";
import { appkeyField, nameField } from "./fields.ts";
import { FunctionTrafficSchema, TrafficPut } from "./function-fields.ts";
import { type ApiApp, BEARER, errors, json, jsonBody } from "./openapi.ts";

const FunctionParams = z.object({ appkey: appkeyField, name: nameField });
const tags = ["functions"];
const path = "/v1/services/{appkey}/functions/{name}/traffic";

const getTraffic = createRoute({
  method: "get",
  path,
  tags,
  security: BEARER,
  request: { params: FunctionParams },
  responses: { 200: json(FunctionTrafficSchema, "The split; targets empty before the first PUT"), ...errors(400, 404) },
});
const putTraffic = createRoute({
  method: "put",
  path,
  tags,
  security: BEARER,
  request: { params: FunctionParams, ...jsonBody(TrafficPut) },
  responses: { 200: json(FunctionTrafficSchema, "Replaced"), ...errors(400, 404) },
});

/** Registers the function traffic routes on `app`. */
export function addFunctionTrafficRoutes(app: ApiApp, deps: ConfigDeps): void {
  app.openapi(getTraffic, async (c) => {
    const { appkey, name } = c.req.valid("param");
    const { fn } = await requireFunction(deps.db, appkey, name);
    return c.json({ appkey, function: name, ...(await readTraffic(deps.db, fn.id)) }, 200);
  });

  app.openapi(putTraffic, async (c) => {
    const { appkey, name } = c.req.valid("param");
    const split = c.req.valid("json");
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      const { fn } = await requireFunction(tx, appkey, name);
      const before = { appkey, function: name, ...(await readTraffic(tx, fn.id)) };
      await replaceTraffic(tx, fn, split);
      const after = { appkey, function: name, ...split };
      return {
        result: after,
        revision: { action: "update", resource: "function_traffic", resourceId: `${appkey}/${name}`, before, after },
      };
    });
    return c.json(result, 200);
  });
}
