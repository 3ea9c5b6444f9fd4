/**
 * A function's scaling settings: their type, their defaults (declared once, in
 * `SCALING_DEFAULTS`) and the zod schema the REST layer reuses. Names, defaults and ranges are
 * Knative's (knative/serving pkg/autoscaler/config/config.go `defaultConfig()` and `validate()`,
 * pkg/apis/autoscaling/register.go), with durations in ms and the panic threshold as a ratio.
 */
import { z } from "zod";

/** Which per-instance signal drives scaling, as Knative's `autoscaling.knative.dev/metric`. */
export type ScalingMetric = "concurrency" | "rps";

/** How a window's buckets are averaged, as Knative's `metric-aggregation-algorithm`. */
export type MetricAggregation = "linear" | "weightedExponential";

/** A function's scaling settings. Durations in ms; counts in instances; rates are factors per decision. */
export interface ScalingSettings {
  /** The signal scaled on: in-flight requests per instance, or requests per second per instance. */
  scalingMetric: ScalingMetric;
  /** Hard limit of in-flight requests per instance (0 = unlimited), as Knative `containerConcurrency`. */
  containerConcurrency: number;
  /** Soft target of in-flight requests per instance, before utilisation; capped by a non-zero containerConcurrency. */
  targetConcurrency: number;
  /** Target requests per second per instance (req/s), before utilisation; used when scalingMetric is "rps". */
  targetRps: number;
  /** Fraction of the target actually aimed for, in (0, 1]: 100 × 0.7 = 70 in flight per instance. */
  targetUtilization: number;
  /** Fewest instances (0 allows scale to zero). */
  minInstances: number;
  /** Most instances (0 = unlimited). */
  maxInstances: number;
  /** Instances a new function starts with, held until reached once (Knative `initial-scale`). */
  initialScale: number;
  /** Fewest non-zero instances: leaving zero goes straight to this many (Knative `activation-scale`). */
  activationScale: number;
  /** The stable window (ms): desired instances follow the average over it; 6 s to 1 h, whole seconds. */
  stableWindowMs: number;
  /** The panic window as a percent of the stable window, 1–100 (10 % of 60 s = 6 s). */
  panicWindowPercent: number;
  /** Panic when panic-window demand ÷ ready instances ≥ this ratio (2.0 = Knative's 200 %). */
  panicThreshold: number;
  /** At most ceil(rate × ready) instances after one decision; > 1. */
  maxScaleUpRate: number;
  /** At least floor(ready ÷ rate) instances after one decision; > 1. */
  maxScaleDownRate: number;
  /** A scale-down applies only once it has been wanted for this long (ms): the max over the window wins. */
  scaleDownDelayMs: number;
  /** How long (ms) zero must be wanted before the last instance goes (Knative `scale-to-zero-grace-period`). */
  scaleToZeroGraceMs: number;
  /** Spare in-flight capacity (requests) wanted beyond demand before the activator leaves the path; -1 = always in path. */
  targetBurstCapacity: number;
  /** How the stable and panic windows average their 1 s buckets. */
  metricAggregation: MetricAggregation;
  /** Longest wait (ms) of a request in a gateway's activation buffer before 503 (docs/functions-runtime.md). */
  activationTimeoutMs: number;
}

/** Knative's defaults, each declared once; the schema, the decider and docs/autoscaling.md follow from here. */
export const SCALING_DEFAULTS: Readonly<ScalingSettings> = Object.freeze({
  scalingMetric: "concurrency",
  containerConcurrency: 0,
  targetConcurrency: 100,
  targetRps: 200,
  targetUtilization: 0.7,
  minInstances: 0,
  maxInstances: 0,
  initialScale: 1,
  activationScale: 1,
  stableWindowMs: 60_000,
  panicWindowPercent: 10,
  panicThreshold: 2,
  maxScaleUpRate: 1000,
  maxScaleDownRate: 2,
  scaleDownDelayMs: 0,
  scaleToZeroGraceMs: 30_000,
  targetBurstCapacity: 211,
  metricAggregation: "linear",
  activationTimeoutMs: 10_000,
});

/** Knative's bounds on the stable window (autoscaling.WindowMin/WindowMax), ms. */
export const STABLE_WINDOW_MIN_MS = 6_000;
export const STABLE_WINDOW_MAX_MS = 3_600_000;
/** The smallest per-instance target Knative allows (autoscaling.TargetMin). */
export const TARGET_MIN = 0.01;
/** Bounds of activationTimeoutMs: 100 ms to 10 min (Knative's activator waits up to its request timeout). */
export const ACTIVATION_TIMEOUT_MIN_MS = 100;
export const ACTIVATION_TIMEOUT_MAX_MS = 600_000;

const D = SCALING_DEFAULTS;
const wholeSeconds = (ms: number) => ms % 1000 === 0;

/**
 * The settings schema: every field optional with its default from SCALING_DEFAULTS; ranges as
 * Knative's validate(), each message naming the field. Parses to a full `ScalingSettings`.
 */
export const ScalingSettingsSchema = z
  .object({
    scalingMetric: z.enum(["concurrency", "rps"]).default(D.scalingMetric),
    containerConcurrency: z.number().int().min(0, "containerConcurrency must be ≥ 0 (0 = unlimited)").default(D.containerConcurrency),
    targetConcurrency: z.number().min(TARGET_MIN, `targetConcurrency must be ≥ ${TARGET_MIN}`).default(D.targetConcurrency),
    targetRps: z.number().min(TARGET_MIN, `targetRps must be ≥ ${TARGET_MIN}`).default(D.targetRps),
    targetUtilization: z
      .number()
      .gt(0, "targetUtilization must be in (0, 1]")
      .max(1, "targetUtilization must be in (0, 1]")
      .default(D.targetUtilization),
    minInstances: z.number().int().min(0, "minInstances must be ≥ 0").default(D.minInstances),
    maxInstances: z.number().int().min(0, "maxInstances must be ≥ 0 (0 = unlimited)").default(D.maxInstances),
    initialScale: z.number().int().min(0, "initialScale must be ≥ 0").default(D.initialScale),
    activationScale: z.number().int().min(1, "activationScale must be ≥ 1").default(D.activationScale),
    stableWindowMs: z
      .number()
      .int()
      .min(STABLE_WINDOW_MIN_MS, `stableWindowMs must be in [${STABLE_WINDOW_MIN_MS}, ${STABLE_WINDOW_MAX_MS}]`)
      .max(STABLE_WINDOW_MAX_MS, `stableWindowMs must be in [${STABLE_WINDOW_MIN_MS}, ${STABLE_WINDOW_MAX_MS}]`)
      .refine(wholeSeconds, "stableWindowMs must be whole seconds")
      .default(D.stableWindowMs),
    panicWindowPercent: z
      .number()
      .min(1, "panicWindowPercent must be in [1, 100]")
      .max(100, "panicWindowPercent must be in [1, 100]")
      .default(D.panicWindowPercent),
    panicThreshold: z.number().min(1, "panicThreshold must be ≥ 1 (a ratio: 2 = 200 %)").default(D.panicThreshold),
    maxScaleUpRate: z.number().gt(1, "maxScaleUpRate must be > 1").default(D.maxScaleUpRate),
    maxScaleDownRate: z.number().gt(1, "maxScaleDownRate must be > 1").default(D.maxScaleDownRate),
    scaleDownDelayMs: z
      .number()
      .int()
      .min(0, "scaleDownDelayMs must be ≥ 0")
      .refine(wholeSeconds, "scaleDownDelayMs must be whole seconds")
      .default(D.scaleDownDelayMs),
    scaleToZeroGraceMs: z.number().int().gt(0, "scaleToZeroGraceMs must be > 0").default(D.scaleToZeroGraceMs),
    targetBurstCapacity: z
      .number()
      .refine((v) => v >= 0 || v === -1, "targetBurstCapacity must be ≥ 0, or -1 for unlimited")
      .default(D.targetBurstCapacity),
    metricAggregation: z.enum(["linear", "weightedExponential"]).default(D.metricAggregation),
    activationTimeoutMs: z
      .number()
      .int()
      .min(ACTIVATION_TIMEOUT_MIN_MS, `activationTimeoutMs must be in [${ACTIVATION_TIMEOUT_MIN_MS}, ${ACTIVATION_TIMEOUT_MAX_MS}]`)
      .max(ACTIVATION_TIMEOUT_MAX_MS, `activationTimeoutMs must be in [${ACTIVATION_TIMEOUT_MIN_MS}, ${ACTIVATION_TIMEOUT_MAX_MS}]`)
      .default(D.activationTimeoutMs),
  })
  .refine((s) => s.maxInstances === 0 || s.minInstances <= s.maxInstances, {
    message: "minInstances must be ≤ maxInstances when maxInstances > 0",
    path: ["minInstances"],
  }) satisfies z.ZodType<ScalingSettings, unknown>;

/** Per-instance target and total capacity, in the scaling metric's unit (requests in flight or req/s). */
export interface MetricTargets {
  /** What one instance is aimed at: total × utilisation, at least TARGET_MIN (Knative TargetValue). */
  targetPerInstance: number;
  /** What one instance can take (Knative TotalValue), the capacity behind excess burst capacity. */
  totalPerInstance: number;
}

/**
 * The per-instance target and total, as Knative ResolveMetricTarget
 * (pkg/reconciler/autoscaling/resources/target.go). E.g. defaults: total 100, target 100 × 0.7 = 70;
 * containerConcurrency 10: total min(100, 10) = 10, target 7.
 */
export function resolveMetricTargets(settings: ScalingSettings): MetricTargets {
  const totalPerInstance =
    settings.scalingMetric === "rps"
      ? settings.targetRps
      : settings.containerConcurrency > 0
        ? Math.min(settings.targetConcurrency, settings.containerConcurrency)
        : settings.targetConcurrency;
  return { totalPerInstance, targetPerInstance: Math.max(TARGET_MIN, totalPerInstance * settings.targetUtilization) };
}

/** The panic window (ms): the stable window × percent, rounded to whole seconds, at least 1 s (Knative metric.go). */
export function panicWindowMs(settings: ScalingSettings): number {
  return Math.max(1000, Math.round((settings.stableWindowMs * settings.panicWindowPercent) / 100 / 1000) * 1000);
}
