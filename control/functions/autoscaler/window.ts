/**
 * Time-bucketed averaging of the scaling metric, as Knative's aggregation
 * (knative/serving pkg/autoscaler/aggregation/bucketing.go `TimedFloat64Buckets` and
 * `WeightedFloat64Buckets`). Memory is bounded: a ring of ceil(window ÷ granularity) numbers.
 *
 * Several sources (gateway processes, instances) report into the same window; their values in
 * one bucket are summed, as Knative's collector records every pod's stat into one bucket. So
 * each source reports at most once per bucket: its time-weighted average concurrency over that
 * second, or the requests it saw in that second (with 1 s buckets, a sum of counts is req/s).
 */
import { type MetricAggregation, panicWindowMs, type ScalingSettings } from "./settings.ts";

/** Knative's config.BucketSize: stats land in 1 s buckets. */
export const BUCKET_MS = 1000;

/** Knative's weighted average: the weights sum to at least this much over the window. */
const WEIGHT_PRECISION = 0.9999;
/** Knative's floor on the decay, so very long windows do not flatten into a plain average. */
const MIN_SMOOTHING = 0.2;

/** Rounds to 6 digits as Knative does, so float noise does not tip a ceil() over a whole instance. */
const roundTo6 = (value: number) => Math.round(value * 1e6) / 1e6;

/**
 * A ring of time buckets over `windowMs`, bucket width `granularityMs`. Time is a parameter (ms
 * since any fixed epoch, ≥ 0); nothing here reads a clock.
 */
export class BucketedWindow {
  private readonly buckets: Float64Array;
  /** Start (ms) of the oldest bucket of the current run of data; null before any write. */
  private firstWriteMs: number | null = null;
  /** Start (ms) of the newest written bucket; null before any write. */
  private lastWriteMs: number | null = null;
  /** Sum of all buckets, stale ones included until they are cleared. */
  private windowTotal = 0;
  private readonly smoothing: number;

  readonly windowMs: number;
  readonly granularityMs: number;

  constructor(windowMs: number, granularityMs: number = BUCKET_MS) {
    this.windowMs = windowMs;
    this.granularityMs = granularityMs;
    const bucketCount = Math.ceil(windowMs / granularityMs);
    this.buckets = new Float64Array(bucketCount);
    this.smoothing = Math.max(1 - (1 - WEIGHT_PRECISION) ** (1 / bucketCount), MIN_SMOOTHING);
  }

  private indexOf(ms: number): number {
    return Math.floor(ms / this.granularityMs);
  }

  private truncate(ms: number): number {
    return this.indexOf(ms) * this.granularityMs;
  }

  private slot(index: number): number {
    return index % this.buckets.length;
  }

  /**
   * Adds `value` to the bucket of `nowMs`. Buckets skipped since the last write are zeroed; after
   * a whole window without writes the window restarts, so averages cover only the new run.
   * A value older than a window before the last write is dropped. As Knative Record().
   */
  record(nowMs: number, value: number): void {
    const bucketMs = this.truncate(nowMs);
    if (this.lastWriteMs === null || bucketMs - this.lastWriteMs >= this.windowMs) {
      this.buckets.fill(0);
      this.windowTotal = 0;
      this.firstWriteMs = bucketMs;
      this.lastWriteMs = bucketMs;
    } else if (bucketMs > this.lastWriteMs) {
      // Zero the buckets between the last write and this one: they saw no data.
      for (let i = this.indexOf(this.lastWriteMs) + 1; i <= this.indexOf(bucketMs); i++) {
        this.windowTotal -= this.buckets[this.slot(i)];
        this.buckets[this.slot(i)] = 0;
      }
      this.lastWriteMs = bucketMs;
    } else if (bucketMs + this.windowMs <= this.lastWriteMs) {
      return; // more than a window older than the newest data: out of every average
    } else if (this.firstWriteMs !== null && bucketMs < this.firstWriteMs) {
      this.firstWriteMs = bucketMs;
    }
    this.buckets[this.slot(this.indexOf(bucketMs))] += value;
    this.windowTotal += value;
  }

  /** True when nothing was recorded within the window before `nowMs` (Knative IsEmpty → ErrNoData). */
  isEmpty(nowMs: number): boolean {
    return this.lastWriteMs === null || this.truncate(nowMs) - this.lastWriteMs > this.windowMs;
  }

  /**
   * The mean bucket value at `nowMs`, as Knative TimedFloat64Buckets.WindowAverage(): over the
   * buckets since the first write when the run is younger than the window (6 s of data in a
   * 60 s window → ÷ 6), excluding the silent tail when data stopped (last write 10 s ago → the
   * 50 s before it), with gaps inside the run counted as zeros; 0 after a whole silent window.
   */
  linearAverage(nowMs: number): number {
    if (this.lastWriteMs === null || this.firstWriteMs === null) return 0;
    const now = this.truncate(nowMs);
    const written = (this.lastWriteMs - this.firstWriteMs) / this.granularityMs + 1; // inclusive of both ends
    const silentMs = now - this.lastWriteMs;
    if (silentMs <= 0) return roundTo6(this.windowTotal / Math.min(written, this.buckets.length));
    if (silentMs >= this.windowMs) return 0;
    const lastIndex = this.indexOf(this.lastWriteMs);
    const nowIndex = this.indexOf(now);
    let total = this.windowTotal;
    // Buckets after the last write still hold values from a window ago: not in this average.
    for (let i = lastIndex + 1; i <= nowIndex; i++) total -= this.buckets[this.slot(i)];
    return roundTo6(total / Math.min(written, this.buckets.length - (nowIndex - lastIndex)));
  }

  /**
   * The exponentially weighted average at `nowMs`, as Knative WeightedFloat64Buckets.WindowAverage():
   * the newest bucket weighs `s`, the one before s(1−s), …; with s = max(1 − 0.0001^(1/buckets), 0.2).
   * Knative's example, s = 0.6 over [10, 10, 5, 5] (newest last): 5×0.6 + 5×0.24 + 10×0.096 +
   * 10×0.0384 = 5.544. Silent buckets since the last write count as zeros.
   */
  weightedAverage(nowMs: number): number {
    if (this.isEmpty(nowMs) || this.lastWriteMs === null) return 0;
    const now = this.truncate(nowMs);
    let weight = this.smoothing;
    let bucketsLeft = this.buckets.length;
    if (now > this.lastWriteMs) {
      const silentBuckets = (now - this.lastWriteMs) / this.granularityMs;
      weight *= (1 - this.smoothing) ** silentBuckets;
      bucketsLeft -= silentBuckets;
    }
    let average = 0;
    const lastIndex = this.indexOf(this.lastWriteMs);
    for (let i = 0; i < bucketsLeft; i++) {
      average += this.buckets[this.slot(lastIndex - i + this.buckets.length)] * weight;
      weight *= 1 - this.smoothing;
    }
    return average;
  }

  /** The average by the chosen algorithm. */
  average(nowMs: number, aggregation: MetricAggregation): number {
    return aggregation === "weightedExponential" ? this.weightedAverage(nowMs) : this.linearAverage(nowMs);
  }
}

/** The stable and panic averages of the scaling metric at one moment (requests in flight, or req/s). */
export interface WindowAverages {
  stableAverage: number;
  panicAverage: number;
}

/**
 * A function's two windows over its scaling metric: the stable window and the panic window
 * (stable × percent), fed the same observations, as Knative's collection.record().
 */
export class ScalingWindows {
  readonly stable: BucketedWindow;
  readonly panic: BucketedWindow;
  private readonly aggregation: MetricAggregation;

  constructor(settings: ScalingSettings) {
    this.stable = new BucketedWindow(settings.stableWindowMs);
    this.panic = new BucketedWindow(panicWindowMs(settings));
    this.aggregation = settings.metricAggregation;
  }

  /**
   * Records one source's report for the bucket of `nowMs`: average in-flight requests over that
   * second (concurrency), or requests seen in that second (rps). Reports of all sources add up.
   */
  record(nowMs: number, value: number): void {
    this.stable.record(nowMs, value);
    this.panic.record(nowMs, value);
  }

  /** Both averages at `nowMs`, or null when the stable window holds no data (Knative ErrNoData: no decision). */
  read(nowMs: number): WindowAverages | null {
    if (this.stable.isEmpty(nowMs)) return null;
    return { stableAverage: this.stable.average(nowMs, this.aggregation), panicAverage: this.panic.average(nowMs, this.aggregation) };
  }
}
