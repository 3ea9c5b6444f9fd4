/**
 * POST /v1/gateway/activations (gateway or admin token): a gateway holds requests for a version
 * with no ready instance and asks for one (Knative's activator poke; docs/functions-runtime.md
 * "The activator"). Stamps function_scale.activation_requested_at — so the leader sees the poke
 * even when another replica took it — and, on the leader, decides for the version at once: from
 * zero, activationScale instances. 202 `{desired, ready}`: the version's desired count now (on a
 * follower, the last stored one) and, with `?wait=`, the instances of the version that a node
 * report committed as ready during the wait (functions/scaler/ready.ts), answered as soon as
 * there are any — else `[]` when the wait ends.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import type { Database } from "../db/connect.ts";
import { functionScale } from "../db/schema.ts";
import type { FunctionRuntime } from "../functions/scaler/runtime.ts";
import { refKey, resolveVersions } from "../functions/version-refs.ts";
import { GATEWAY_ACTIVATIONS_PATH } from "./auth.ts";
import { appkeyField, nameField, waitField } from "./fields.ts";
import { type ApiApp, BEARER, errors, json, jsonBody } from "./openapi.ts";

const ActivationSchema = z
  .strictObject({ appkey: appkeyField, function: nameField, version: z.number().int().min(1).max(2_147_483_647) })
  .openapi("FunctionActivation");

const ReadySchema = z.object({ host: z.string(), port: z.number().int() }).openapi("FunctionReadyInstance");

const activate = createRoute({
  method: "post",
  path: GATEWAY_ACTIVATIONS_PATH,
  tags: ["functions"],
  security: BEARER,
  description: "A gateway buffers requests for this version: scale it from zero (gateway or admin token).",
  request: {
    ...jsonBody(ActivationSchema),
    query: z.strictObject({
      wait: waitField.optional().openapi({ description: "Hold the answer up to this long for an instance of the version to turn ready" }),
    }),
  },
  responses: {
    202: json(
      z
        .object({
          desired: z.number().int(),
          ready: z.array(ReadySchema).openapi({ description: "Instances that turned ready during the wait (queue-proxy addresses)" }),
        })
        .openapi("FunctionActivationResult"),
      "Scaling requested",
    ),
    ...errors(400, 404),
  },
});

/** Registers POST /v1/gateway/activations on `app`. */
export function addFunctionActivationRoute(app: ApiApp, deps: { db: Database; functions: FunctionRuntime }): void {
  app.openapi(activate, async (c) => {
    const ref = c.req.valid("json");
    const { wait } = c.req.valid("query");
    const version = (await resolveVersions(deps.db, [ref])).get(refKey(ref));
    if (!version) {
      return c.json(
        { error: "not_found", message: `version ${ref.version} of function "${ref.function}" not found in service "${ref.appkey}"` },
        404,
      );
    }
    // Registered before the decision, so an instance can never turn ready unseen in between.
    const ready = wait ? deps.functions.ready.wait(version.id, wait, c.req.raw.signal) : Promise.resolve(null);
    const at = new Date(deps.functions.now());
    // The leader places a version at zero before this stamp's round trip (Scaler.poke): the
    // stamp is for followers, whose pokes the leader reads at its next tick.
    const decided = deps.functions.scaler?.poke(version);
    await deps.db
      .insert(functionScale)
      .values({ versionId: version.id, activationRequestedAt: at })
      .onConflictDoUpdate({ target: functionScale.versionId, set: { activationRequestedAt: at } });
    let desired = (await decided) ?? null;
    if (desired === null) {
      const [row] = await deps.db
        .select({ desired: functionScale.desired })
        .from(functionScale)
        .where(eq(functionScale.versionId, version.id));
      desired = row?.desired ?? 0;
    }
    return c.json({ desired, ready: (await ready) ?? [] }, 202);
  });
}
