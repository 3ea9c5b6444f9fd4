/**
 * POST /v1/registry/heartbeats: an agent's heartbeats, several instances per request (a host
 * that runs several services sends one). Answered from memory: a heartbeat that changes nothing
 * writes nothing to the database (the registry's view and heartbeat table, control/registry/).
 * Only a recovery — an instance held unhealthy that beats again with no failing check — queues a
 * write; turning unhealthy is the leader's sweep's decision (protect threshold).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { idField } from "./fields.ts";
import { type ApiApp, BEARER, errors, json, jsonBody } from "./openapi.ts";
import type { RegistryDeps } from "./registry-deps.ts";
import { inScope } from "./scope.ts";

/** Most heartbeats per request. */
export const MAX_BEATS = 1000;

const HeartbeatInput = z
  .strictObject({
    beats: z
      .array(
        z.strictObject({
          id: idField,
          /** The agent's check result; omit when it runs no checks. */
          healthy: z.boolean().optional(),
        }),
      )
      .min(1)
      .max(MAX_BEATS),
  })
  .openapi("HeartbeatInput");

const HeartbeatResult = z
  .object({
    accepted: z.number().int(),
    /** Beats not taken: `not_found` (register again) or `forbidden` (another service's instance). */
    rejected: z.array(z.object({ id: z.number().int(), reason: z.enum(["not_found", "forbidden"]) })),
  })
  .openapi("HeartbeatResult");

const heartbeat = createRoute({
  method: "post",
  path: "/v1/registry/heartbeats",
  tags: ["registry"],
  security: BEARER,
  request: jsonBody(HeartbeatInput),
  responses: { 200: json(HeartbeatResult, "Beats recorded"), ...errors(400) },
});

/** Registers POST /v1/registry/heartbeats on `app`. */
export function addHeartbeatRoute(app: ApiApp, deps: RegistryDeps): void {
  const { view, heartbeats } = deps.registry;
  app.openapi(heartbeat, async (c) => {
    const { beats } = c.req.valid("json");
    const now = Date.now();
    let accepted = 0;
    const rejected: { id: number; reason: "not_found" | "forbidden" }[] = [];
    for (const beat of beats) {
      const entry = view.get(beat.id) ?? (await view.lookup(beat.id));
      if (!entry) {
        rejected.push({ id: beat.id, reason: "not_found" });
        continue;
      }
      if (!inScope(c, entry.appkey)) {
        rejected.push({ id: beat.id, reason: "forbidden" });
        continue;
      }
      heartbeats.record(beat.id, beat.healthy, now);
      deps.registry.gossip?.add(beat.id, beat.healthy);
      if (!entry.healthy && beat.healthy !== false && entry.registration !== "static") deps.registry.recoveries?.add(beat.id);
      accepted += 1;
    }
    deps.metrics?.heartbeatsAccepted.inc(accepted);
    return c.json({ accepted, rejected }, 200);
  });
}
