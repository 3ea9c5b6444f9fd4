/**
 * zod validators for a group's `balancer` and `balancing` options and a route's `retry` policy
 * (control/snapshot/options.ts holds the shapes and defaults, docs/balancing.md the semantics).
 * Every part and every field is optional on input; cross-field rules (ring min ≤ max, base ≤ max
 * ejection time, back-off base ≤ cap) are checked on the input merged with the defaults, and
 * name the field the admin can change. A group option's range comes from the field that stores
 * it, declared once in wasm/layout/group-record.ts (`apiRangeOf`), so what the API accepts and
 * what the gateway's reader accepts cannot drift apart (docs/snapshot-format.md). Pure: zod
 * rules only.
 */
import { z } from "@hono/zod-openapi";
import { apiRangeOf } from "../../wasm/layout/group-record.ts";
import {
  BALANCER_KINDS,
  type GroupBalancingInput,
  isPrime,
  RETRY_ON_CLASSES,
  type RouteRetry,
  resolveBalancing,
  resolveRetry,
} from "../snapshot/options.ts";

/** Most retries per request (ROUTES.numRetries is a u8; Envoy has no cap, 10 is plenty). */
export const MAX_NUM_RETRIES = 10;
/** Largest u32 counter a field may hold. */
const MAX_COUNT = 1_000_000;

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const percent = int(0, 100);
/** The integer option stored in GROUPS field `field`, in the range the declaration gives it. */
const option = (field: string) => int(...apiRangeOf(field));
const ppm = (field: string) => option(field).openapi({ description: "parts per million of the same-zone weight (1 000 000 = ×1); ≥ 1" });

/** The option stored in thousandths in GROUPS field `field`: at most three decimals, in its declared range. */
const thousandths = (field: string) => {
  const [min, max] = apiRangeOf(field);
  return z
    .number()
    .min(min)
    .max(max)
    .refine((v) => Math.abs(v * 1000 - Math.round(v * 1000)) < 1e-6, "at most 3 decimal places");
};

/** A header, cookie or query parameter name: 1–256 printable ASCII characters without spaces. */
const keyName = z.string().regex(/^[\x21-\x7e]{1,256}$/, "must be 1–256 printable ASCII characters without spaces");

/** Where the hash key comes from (wasm/reference/hash-key.ts HashKeySource); null = none (random pick). */
const hashKeyField = z
  .discriminatedUnion("from", [
    z.strictObject({ from: z.enum(["header", "cookie", "query"]), name: keyName }),
    z.strictObject({ from: z.literal("client-ip") }),
  ])
  .nullable()
  .openapi({ example: { from: "header", name: "x-user-id" } });

/** `balancer`: the six kinds of docs/balancing.md, default smooth weighted round robin. */
export const balancerField = z.enum(BALANCER_KINDS).default("swrr").openapi({ description: "Balancer kind (docs/balancing.md)" });

const part = <T extends z.ZodRawShape>(shape: T) => z.strictObject(shape).partial();

/**
 * `balancing` on input: any subset of GroupBalancing. Ranges: ring sizes 1–1 048 576 (min ≤ max),
 * maglev table a prime ≤ 65537, choiceCount 2–100, activeRequestBias 0–100 (3 decimals), decay
 * 1 ms–1 h, zone factors 1–1 000 000 ppm, percentages 0–100, durations 1 ms–1 h (base ejection
 * ≤ max ejection), breaker ratios 0–2 (3 decimals; above 1 turns that trigger off).
 */
export const balancingField = z
  .strictObject({
    hashKey: hashKeyField,
    ringHash: part({ minRingSize: option("minRingSize"), maxRingSize: option("maxRingSize"), scale: z.enum(["stable", "envoy"]) }),
    maglev: part({
      tableSize: option("maglevTableSize").refine(isPrime, "must be a prime number (Envoy maglev table_size)"),
    }),
    leastRequest: part({ choiceCount: option("choiceCount"), activeRequestBias: thousandths("activeRequestBiasMilli") }),
    peakEwma: part({ decayMs: option("ewmaDecayMs") }),
    panicThresholdPct: option("panicThresholdPct"),
    routeRules: part({
      sameZonePpm: ppm("sameZonePpm"),
      otherZonePpm: ppm("otherZonePpm"),
      otherRegionPpm: ppm("otherRegionPpm"),
      cellFallback: z.boolean(),
    }),
    outlier: part({
      consecutive5xx: option("consecutive5xx"),
      consecutiveGatewayFailure: option("consecutiveGatewayFailure"),
      intervalMs: option("outlierIntervalMs"),
      baseEjectionTimeMs: option("baseEjectionTimeMs"),
      maxEjectionTimeMs: option("maxEjectionTimeMs"),
      maxEjectionPercent: option("maxEjectionPercent"),
      alwaysEjectOneHost: z.boolean(),
      enforcingConsecutive5xx: option("enforcingConsecutive5xx"),
      enforcingConsecutiveGatewayFailure: option("enforcingConsecutiveGatewayFailure"),
      enforcingSuccessRate: option("enforcingSuccessRate"),
      successRateMinimumHosts: option("successRateMinimumHosts"),
      successRateRequestVolume: option("successRateRequestVolume"),
      successRateStdevFactor: option("successRateStdevFactor").openapi({ description: "thousandths, as Envoy: 1900 = 1.9" }),
    }),
    instanceBreaker: part({
      statIntervalMs: option("breakerStatIntervalMs"),
      minRequestAmount: option("breakerMinRequestAmount"),
      errorRatio: thousandths("breakerErrorRatioMilli"),
      slowRatio: thousandths("breakerSlowRatioMilli"),
      slowCallMs: option("breakerSlowCallMs"),
      timeWindowMs: option("breakerTimeWindowMs"),
    }),
    groupBreaker: part({ maxRequests: option("maxRequests"), maxPendingRequests: option("maxPendingRequests") }),
  })
  .partial()
  .superRefine((input, ctx) => {
    const full = resolveBalancing(input as GroupBalancingInput);
    if (full.ringHash.minRingSize > full.ringHash.maxRingSize) {
      ctx.addIssue({
        code: "custom",
        path: ["ringHash", input.ringHash?.minRingSize !== undefined ? "minRingSize" : "maxRingSize"],
        message: `minRingSize (${full.ringHash.minRingSize}) must not exceed maxRingSize (${full.ringHash.maxRingSize})`,
      });
    }
    if (full.outlier.baseEjectionTimeMs > full.outlier.maxEjectionTimeMs) {
      ctx.addIssue({
        code: "custom",
        path: ["outlier", input.outlier?.baseEjectionTimeMs !== undefined ? "baseEjectionTimeMs" : "maxEjectionTimeMs"],
        message: `baseEjectionTimeMs (${full.outlier.baseEjectionTimeMs}) must not exceed maxEjectionTimeMs (${full.outlier.maxEjectionTimeMs})`,
      });
    }
  })
  .default({})
  .openapi("BalancingInput", { description: "Balancing and fault-tolerance options; omitted fields take their defaults" });

/** `balancing` as the API returns it: every field, defaults filled in. */
export const BalancingSchema = z
  .object({
    hashKey: hashKeyField,
    ringHash: z.object({ minRingSize: z.number().int(), maxRingSize: z.number().int(), scale: z.enum(["stable", "envoy"]) }),
    maglev: z.object({ tableSize: z.number().int() }),
    leastRequest: z.object({ choiceCount: z.number().int(), activeRequestBias: z.number() }),
    peakEwma: z.object({ decayMs: z.number().int() }),
    panicThresholdPct: z.number().int(),
    routeRules: z.object({
      sameZonePpm: z.number().int(),
      otherZonePpm: z.number().int(),
      otherRegionPpm: z.number().int(),
      cellFallback: z.boolean(),
    }),
    outlier: z.object({
      consecutive5xx: z.number().int(),
      consecutiveGatewayFailure: z.number().int(),
      intervalMs: z.number().int(),
      baseEjectionTimeMs: z.number().int(),
      maxEjectionTimeMs: z.number().int(),
      maxEjectionPercent: z.number().int(),
      alwaysEjectOneHost: z.boolean(),
      enforcingConsecutive5xx: z.number().int(),
      enforcingConsecutiveGatewayFailure: z.number().int(),
      enforcingSuccessRate: z.number().int(),
      successRateMinimumHosts: z.number().int(),
      successRateRequestVolume: z.number().int(),
      successRateStdevFactor: z.number().int(),
    }),
    instanceBreaker: z.object({
      statIntervalMs: z.number().int(),
      minRequestAmount: z.number().int(),
      errorRatio: z.number(),
      slowRatio: z.number(),
      slowCallMs: z.number().int(),
      timeWindowMs: z.number().int(),
    }),
    groupBreaker: z.object({ maxRequests: z.number().int(), maxPendingRequests: z.number().int() }),
  })
  .openapi("Balancing");

/**
 * `retry` on input: any subset of RouteRetry (Envoy retry policy names). retryOn lists distinct
 * classes; numRetries 0–10; perTryTimeoutMs 0 (none) – 300 000; back-off base 1–60 000 ms ≤ cap
 * ≤ 300 000 ms; budgetPercent 0–100; minRetryConcurrency 0–1 000 000. The route checks
 * perTryTimeoutMs ≤ its timeoutMs.
 */
export const retryField = z
  .strictObject({
    retryOn: z
      .array(z.enum(RETRY_ON_CLASSES))
      .max(RETRY_ON_CLASSES.length)
      .superRefine((list, ctx) => {
        list.forEach((on, i) => {
          if (list.indexOf(on) !== i) ctx.addIssue({ code: "custom", path: [i], message: `"${on}" is listed twice` });
        });
      }),
    numRetries: int(0, MAX_NUM_RETRIES),
    retryNonIdempotent: z.boolean(),
    perTryTimeoutMs: int(0, 300_000),
    backoffBaseMs: int(1, 60_000),
    backoffMaxMs: int(1, 300_000),
    budgetPercent: percent,
    minRetryConcurrency: int(0, MAX_COUNT),
  })
  .partial()
  .superRefine((input, ctx) => {
    const full = resolveRetry(input as Partial<RouteRetry>);
    if (full.backoffBaseMs > full.backoffMaxMs) {
      ctx.addIssue({
        code: "custom",
        path: [input.backoffBaseMs !== undefined ? "backoffBaseMs" : "backoffMaxMs"],
        message: `backoffBaseMs (${full.backoffBaseMs}) must not exceed backoffMaxMs (${full.backoffMaxMs})`,
      });
    }
  })
  .default({})
  .openapi("RetryInput", { description: "Retry policy (Envoy names); omitted fields take their defaults" });

/** `retry` as the API returns it: every field, defaults filled in. */
export const RetrySchema = z
  .object({
    retryOn: z.array(z.enum(RETRY_ON_CLASSES)),
    numRetries: z.number().int(),
    retryNonIdempotent: z.boolean(),
    perTryTimeoutMs: z.number().int(),
    backoffBaseMs: z.number().int(),
    backoffMaxMs: z.number().int(),
    budgetPercent: z.number().int(),
    minRetryConcurrency: z.number().int(),
  })
  .openapi("Retry");
