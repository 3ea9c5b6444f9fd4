/**
 * Where changes have got to:
 * - GET /v1/propagation?revision=R (agent or admin): the first snapshot version that includes
 *   revision R, each gateway's state towards it and whether every gateway has it — what an agent
 *   waits for before it lets a stopping instance go (control/propagation/acks.ts);
 * - GET /v1/gateways (admin): what every gateway isolate last reported.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { gte, min } from "drizzle-orm";
import { snapshots } from "../db/schema.ts";
import { ackStates } from "../propagation/acks.ts";
import { indexField } from "./fields.ts";
import { type ApiApp, BEARER, errors, json, listOf } from "./openapi.ts";
import type { RegistryDeps } from "./registry-deps.ts";

const GatewaySchema = z
  .object({
    id: z.string(),
    /** Snapshot version it serves. */
    version: z.number().int(),
    pollOpen: z.boolean(),
    lastSeenAgoMs: z.number().int(),
    state: z.enum(["acknowledged", "lagging", "idle"]).optional(),
  })
  .openapi("Gateway");

const PropagationSchema = z
  .object({
    revision: z.number().int(),
    /** First snapshot version including the revision; null while none does. */
    version: z.number().int().nullable(),
    /** True when no gateway may still route on an older snapshot. */
    acknowledged: z.boolean(),
    gateways: z.array(GatewaySchema),
  })
  .openapi("Propagation");

const propagation = createRoute({
  method: "get",
  path: "/v1/propagation",
  tags: ["propagation"],
  security: BEARER,
  request: { query: z.strictObject({ revision: indexField }) },
  responses: { 200: json(PropagationSchema, "The revision's progress to the gateways"), ...errors(400) },
});
const listGateways = createRoute({
  method: "get",
  path: "/v1/gateways",
  tags: ["propagation"],
  security: BEARER,
  responses: { 200: json(listOf(GatewaySchema), "Gateway isolates seen in the last 10 minutes, by id"), ...errors() },
});

/** Registers the propagation routes on `app`. */
export function addPropagationRoutes(app: ApiApp, deps: RegistryDeps): void {
  app.openapi(propagation, async (c) => {
    const { revision } = c.req.valid("query");
    const [{ version }] = await deps.db
      .select({ version: min(snapshots.version) })
      .from(snapshots)
      .where(gte(snapshots.coversRevision, revision));
    const covering = version === null ? null : Number(version);
    const now = Date.now();
    const { acknowledged, gateways } = ackStates(await deps.registry.tracker.list(now), covering, now);
    return c.json(
      {
        revision,
        version: covering,
        acknowledged,
        gateways: gateways.map((g) => ({
          id: g.id,
          version: g.version,
          pollOpen: g.pollOpen,
          lastSeenAgoMs: now - g.lastSeenMs,
          state: g.state,
        })),
      },
      200,
    );
  });

  app.openapi(listGateways, async (c) => {
    const now = Date.now();
    const reports = await deps.registry.tracker.list(now);
    return c.json(
      { items: reports.map((g) => ({ id: g.id, version: g.version, pollOpen: g.pollOpen, lastSeenAgoMs: now - g.lastSeenMs })) },
      200,
    );
  });
}
