/**
 * The gateway's head sampling decision: OpenTelemetry's `parentbased_traceidratio`
 * (OTel specification, Tracing SDK, "ParentBased" and "TraceIdRatioBased"). Pure.
 */
import { isSampled } from "./trace-context.ts";

/** 2^56: the range of the trace-id's randomness value R. */
const RANDOMNESS_RANGE = 2 ** 56;

/**
 * The TraceIdRatioBased rejection threshold for `ratio` (OTel specification, Tracing SDK,
 * TraceIdRatioBased, and OTEP 235): T = (1 − ratio) × 2^56, so that a trace-id whose
 * randomness R (its rightmost 56 bits) is ≥ T is sampled — exactly `ratio` of uniformly random
 * trace-ids. Ratios outside 0…1 (and NaN) are clamped: ≤ 0 never samples, ≥ 1 always does.
 * @returns the threshold, an integer in 0…2^56.
 */
export function rejectionThreshold(ratio: number): number {
  if (!(ratio > 0)) return RANDOMNESS_RANGE;
  if (ratio >= 1) return 0;
  // Scaling by a power of two is exact; rounding up keeps the threshold an integer, as the spec's 56-bit `th` is.
  return Math.ceil((1 - ratio) * RANDOMNESS_RANGE);
}

/**
 * R, the trace-id's randomness value: its rightmost 7 bytes (14 hex digits) as an integer in
 * 0…2^56 − 1 (W3C Trace Context level 2 §3.2.2.5.2 "random" trace-id; OTel TraceIdRatioBased).
 * Returned as two 28-bit halves (high, low) because 2^56 is beyond a double's exact integers.
 * @param traceId 32 lowercase hex digits.
 */
function randomnessHalves(traceId: string): [high: number, low: number] {
  return [Number.parseInt(traceId.slice(18, 25), 16), Number.parseInt(traceId.slice(25, 32), 16)];
}

/**
 * Whether TraceIdRatioBased samples `traceId` at `threshold` (rejectionThreshold): R ≥ T,
 * compared exactly on 28-bit halves. Deterministic and monotone in the ratio, as the OTel
 * specification requires (a trace sampled at p is sampled at every p' ≥ p).
 */
export function traceIdSampled(traceId: string, threshold: number): boolean {
  if (threshold <= 0) return true;
  if (threshold >= RANDOMNESS_RANGE) return false;
  const [high, low] = randomnessHalves(traceId);
  const thresholdHigh = Math.floor(threshold / 2 ** 28);
  const thresholdLow = threshold - thresholdHigh * 2 ** 28;
  return high > thresholdHigh || (high === thresholdHigh && low >= thresholdLow);
}

/**
 * ParentBased(root = TraceIdRatioBased(ratio)) for a SERVER span (OTel specification, Tracing
 * SDK, ParentBased): with a remote parent, follow its sampled flag (remoteParentSampled →
 * AlwaysOn, remoteParentNotSampled → AlwaysOff, the defaults); without one, TraceIdRatioBased.
 * @param parentFlags the incoming `traceparent`'s trace-flags, or null when there was none (or it was invalid).
 * @param traceId the trace-id of the new span (the parent's, or a fresh random one).
 * @param threshold rejectionThreshold(sampleRatio), computed once per configuration.
 */
export function shouldSample(parentFlags: number | null, traceId: string, threshold: number): boolean {
  return parentFlags === null ? traceIdSampled(traceId, threshold) : isSampled(parentFlags);
}
