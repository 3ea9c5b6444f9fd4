/**
 * GET /v1/events: the registry's event log (protect threshold engaged / released, instances
 * turning unhealthy, recovering or removed, sweep stalls), oldest first, paged by id: pass the
 * last id seen as `after`.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, gt, type SQL } from "drizzle-orm";
import type { ConfigDeps } from "../config/write.ts";
import { events } from "../db/schema.ts";
import { EVENT_KINDS } from "../registry/events.ts";
import { appkeyField, indexField, timestampField } from "./fields.ts";
import { type ApiApp, BEARER, errors, json } from "./openapi.ts";

/** Page size. */
export const EVENT_PAGE = 200;

const EventSchema = z
  .object({
    id: z.number().int(),
    createdAt: timestampField,
    appkey: z.string().nullable(),
    kind: z.enum(EVENT_KINDS),
    message: z.string(),
    details: z.record(z.string(), z.unknown()),
  })
  .openapi("Event");

const listEvents = createRoute({
  method: "get",
  path: "/v1/events",
  tags: ["events"],
  security: BEARER,
  request: {
    query: z.strictObject({ appkey: appkeyField.optional(), kind: z.enum(EVENT_KINDS).optional(), after: indexField.optional() }),
  },
  responses: { 200: json(z.object({ items: z.array(EventSchema) }), `Up to ${EVENT_PAGE} events, oldest first`), ...errors(400) },
});

/** Registers GET /v1/events on `app`. */
export function addEventRoutes(app: ApiApp, deps: ConfigDeps): void {
  app.openapi(listEvents, async (c) => {
    const { appkey, kind, after } = c.req.valid("query");
    const conditions: SQL[] = [];
    if (appkey) conditions.push(eq(events.appkey, appkey));
    if (kind) conditions.push(eq(events.kind, kind));
    if (after !== undefined) conditions.push(gt(events.id, after));
    const rows = await deps.db
      .select()
      .from(events)
      .where(and(...conditions))
      .orderBy(asc(events.id))
      .limit(EVENT_PAGE);
    const items = rows.map((r) => ({ ...r, kind: r.kind as (typeof EVENT_KINDS)[number], createdAt: r.createdAt.toISOString() }));
    return c.json({ items }, 200);
  });
}
