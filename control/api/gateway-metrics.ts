/**
 * The gateway metrics pipeline's API:
 * - POST /v1/gateway/metrics (gateway or admin token): one push of a gateway isolate, the body of
 *   worker/telemetry/wire.ts MetricsPush (mirrored here: control may not import worker/). The
 *   body is validated whole before anything is counted; a push whose `seq` its isolate already
 *   had counted is answered `{accepted: false, duplicate: true}` and changes nothing
 *   (control/metrics/push-dedup.ts). Its optional `functions` block (per function version: load
 *   and activation waits) feeds the scaler (function_load) and the function metrics.
 * - GET /v1/metrics/history?route=&group= (admin or metrics token): the last hour of gateway
 *   requests per minute, with estimated latency quantiles (control/metrics/request-history.ts).
 * docs/metrics.md, "Gateway metrics", describes both and the series the pushes feed.
 */
import { createRoute, z } from "@hono/zod-openapi";
import {
  GATEWAY_PUSH_FORMAT,
  type GatewayPush,
  PUSH_ATTEMPT_OUTCOMES,
  PUSH_METHODS,
  PUSH_STATUS_CLASSES,
} from "../metrics/gateway-push.ts";
import type { GatewayTelemetry } from "../metrics/gateway-telemetry.ts";
import { HTTP_DURATION_BUCKETS_S } from "../metrics/registry.ts";
import { GATEWAY_METRICS_PATH, METRICS_HISTORY_PATH } from "./auth.ts";
import { type ApiApp, BEARER, errors, json, jsonBody } from "./openapi.ts";

/** Longest label value (route id, group name, `host:port`, function version), characters. */
export const MAX_LABEL_CHARS = 256;
/** Most entries of any list in a push. */
export const MAX_PUSH_ENTRIES = 10_000;

/** Gateway isolate ids: a UUID (worker/snapshot-source.ts), or any id of that alphabet. */
const GATEWAY_ID = /^[A-Za-z0-9-]{1,64}$/;

const label = z.string().max(MAX_LABEL_CHARS);
// zod 4's number() already refuses NaN and ±Infinity.
const count = z.number().nonnegative();
const list = <T extends z.ZodType>(item: T) => z.array(item).max(MAX_PUSH_ENTRIES);

const histogramFields = {
  count,
  sumSeconds: count,
  buckets: z.array(count).length(HTTP_DURATION_BUCKETS_S.length + 1, {
    message: `must have ${HTTP_DURATION_BUCKETS_S.length + 1} entries (one per bound of bucketsSeconds, then +Inf)`,
  }),
};

/** `count` must be the sum of `buckets` (the +Inf bucket of the exposition is the count). */
function countMatchesBuckets(h: { count: number; buckets: number[] }, ctx: z.RefinementCtx): void {
  const sum = h.buckets.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - h.count) > 1e-9 * Math.max(1, h.count)) {
    ctx.addIssue({ code: "custom", path: ["count"], message: `must equal the sum of buckets (${sum})` });
  }
}

const instanceRef = z.strictObject({ group: label, instance: label });

/** The push body, as worker/telemetry/wire.ts MetricsPush declares it, with bounds. */
export const MetricsPushSchema = z
  .strictObject({
    format: z.literal(GATEWAY_PUSH_FORMAT, { message: `must be ${GATEWAY_PUSH_FORMAT}` }),
    gateway: z.string().regex(GATEWAY_ID, { message: "must be 1 to 64 characters of A-Z a-z 0-9 -" }),
    seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    slot: z.number().int().min(0).max(65_535).nullable(),
    intervalMs: count.max(24 * 3600_000),
    bucketsSeconds: z
      .array(z.number())
      .refine((b) => b.length === HTTP_DURATION_BUCKETS_S.length && b.every((v, i) => v === HTTP_DURATION_BUCKETS_S[i]), {
        message: `must be control's buckets ${JSON.stringify(HTTP_DURATION_BUCKETS_S)}`,
      }),
    gauges: z.strictObject({
      activeRequests: count,
      snapshotVersion: z
        .string()
        .regex(/^[0-9]{1,20}$/, { message: "must be a decimal version" })
        .nullable(),
      snapshotAgeSeconds: count.nullable(),
      ejected: list(instanceRef),
      breakerOpen: list(instanceRef),
    }),
    requests: list(
      z
        .strictObject({
          route: label,
          group: label,
          functionVersion: label,
          method: z.enum(PUSH_METHODS),
          statusClass: z.enum(PUSH_STATUS_CLASSES),
          ...histogramFields,
        })
        .superRefine(countMatchesBuckets),
    ),
    attempts: list(
      z
        .strictObject({ group: label, instance: label, outcome: z.enum(PUSH_ATTEMPT_OUTCOMES), ...histogramFields })
        .superRefine(countMatchesBuckets),
    ),
    retries: list(z.strictObject({ route: label, group: label, count })),
    panics: list(z.strictObject({ route: label, group: label, count })),
    ejections: list(z.strictObject({ group: label, instance: label, count })),
    overflows: list(z.strictObject({ group: label, count })),
    conditionErrors: list(z.strictObject({ route: label, count })),
    droppedSeries: count,
    functions: list(
      z.strictObject({
        appkey: label,
        function: label,
        version: z.number().int().min(1).max(2_147_483_647),
        concurrency: count,
        buffered: count,
        requests: count,
        activations: count,
        activationWait: z.strictObject(histogramFields).superRefine(countMatchesBuckets),
      }),
    ).optional(),
  })
  .openapi("GatewayMetricsPush");

const PushResult = z
  .object({
    /** True when the push was counted. */
    accepted: z.boolean(),
    /** Present (true) when the isolate's `seq` had already been counted: nothing was changed. */
    duplicate: z.literal(true).optional(),
  })
  .openapi("GatewayMetricsPushResult");

const push = createRoute({
  method: "post",
  path: GATEWAY_METRICS_PATH,
  tags: ["metrics"],
  security: BEARER,
  description:
    "A gateway isolate's metric deltas (gateway or admin token). Counted once per isolate and seq; a repeated or older " +
    "seq is answered accepted: false, duplicate: true. docs/metrics.md.",
  request: jsonBody(MetricsPushSchema),
  responses: { 200: json(PushResult, "Counted, or recognised as a duplicate"), ...errors(400) },
});

const HistoryMinuteSchema = z.object({
  startMs: z.number().int(),
  requests: z.number(),
  byStatusClass: z.object(Object.fromEntries(PUSH_STATUS_CLASSES.map((c) => [c, z.number()]))),
  buckets: z.array(z.number()),
  p50: z.number().nullable(),
  p90: z.number().nullable(),
  p99: z.number().nullable(),
});

const HistorySchema = z
  .object({
    route: z.string().nullable(),
    group: z.string().nullable(),
    /** Upper bounds of `buckets`, seconds (the last bucket of each minute is +Inf). */
    bucketsSeconds: z.array(z.number()),
    /** The last 60 minutes, oldest first, the current (partial) minute last. */
    minutes: z.array(HistoryMinuteSchema),
  })
  .openapi("GatewayRequestHistory");

const history = createRoute({
  method: "get",
  path: METRICS_HISTORY_PATH,
  tags: ["metrics"],
  security: BEARER,
  description:
    "Gateway requests per minute over the last hour, with p50/p90/p99 estimated as PromQL histogram_quantile does " +
    "(admin or metrics token). route / group select one route id / group name (empty: none); omitted, all are summed.",
  request: { query: z.strictObject({ route: label.optional(), group: label.optional() }) },
  responses: { 200: json(HistorySchema, "Per-minute requests and latency"), ...errors(400) },
});

/**
 * Registers POST /v1/gateway/metrics and GET /v1/metrics/history on `app`.
 * @param onAccepted called with each push counted (not duplicates): the function runtime's load
 *   and activation metrics. It must not throw; the push is answered after it settles.
 */
export function addGatewayMetricsRoutes(
  app: ApiApp,
  telemetry: GatewayTelemetry,
  onAccepted?: (push: GatewayPush) => void | Promise<void>,
): void {
  app.openapi(push, async (c) => {
    const body = c.req.valid("json");
    const { accepted } = telemetry.receive(body);
    if (accepted) await onAccepted?.(body);
    return c.json(accepted ? { accepted } : { accepted, duplicate: true as const }, 200);
  });

  app.openapi(history, (c) => {
    const { route, group } = c.req.valid("query");
    return c.json(
      {
        route: route ?? null,
        group: group ?? null,
        bucketsSeconds: HTTP_DURATION_BUCKETS_S,
        minutes: telemetry.history.query({ route, group }),
      },
      200,
    );
  });
}
