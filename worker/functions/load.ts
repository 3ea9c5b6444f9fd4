/**
 * One isolate's load per function version between two metrics pushes: the autoscaler's input
 * (Knative's activator stats; docs/functions-runtime.md, "The activator") and the activator's
 * metrics, taken out as FunctionLoadSeries (worker/telemetry/wire.ts) by drain(). Pure: the time
 * is an argument (Unix ms), no I/O.
 *
 * Concurrency is time-weighted: the integral of requests in flight (buffered ones included) over
 * the push interval, divided by its length. Example, a 1000 ms interval: one request from 0 to
 * 500 ms and two from 500 to 1000 ms → (1 × 500 + 2 × 500) / 1000 = 1.5.
 */
import { bucketIndex } from "../telemetry/metrics.ts";
import { DURATION_BUCKETS_SECONDS, type FunctionLoadSeries, type HistogramDelta } from "../telemetry/wire.ts";
import type { VersionRef } from "./activator.ts";

interface VersionLoad {
  version: VersionRef;
  inFlight: number;
  /** ∫ inFlight dt since the last drain, request·ms. */
  areaMs: number;
  /** When inFlight last changed or the area was last brought up to date, Unix ms. */
  sinceMs: number;
  requests: number;
  activations: number;
  wait: HistogramDelta;
}

export class FunctionLoad {
  /** By version group id. */
  private series = new Map<number, VersionLoad>();
  private lastCutMs: number;

  /** @param nowMs Unix ms: the start of the first interval. */
  constructor(nowMs: number) {
    this.lastCutMs = nowMs;
  }

  /** Whether some version had traffic since the last drain or has requests in flight (then pushes come at least every FUNCTION_METRICS_PUSH_MS). */
  get active(): boolean {
    return this.series.size > 0;
  }

  /** A request of `version` starts (routed to it, buffered or not) at `nowMs`. */
  begin(version: VersionRef, nowMs: number): void {
    let s = this.series.get(version.groupId);
    if (!s) {
      s = { version, inFlight: 0, areaMs: 0, sinceMs: nowMs, requests: 0, activations: 0, wait: emptyHistogram() };
      this.series.set(version.groupId, s);
    }
    advance(s, nowMs);
    s.inFlight += 1;
  }

  /** A request of `version` begun earlier was answered at `nowMs`. */
  end(version: VersionRef, nowMs: number): void {
    const s = this.series.get(version.groupId);
    if (!s) return;
    advance(s, nowMs);
    s.inFlight = Math.max(0, s.inFlight - 1);
    s.requests += 1;
  }

  /** A request of `version` (begun, not yet ended) waited `seconds` in the activation buffer (released or timed out). */
  waited(version: VersionRef, seconds: number): void {
    const s = this.series.get(version.groupId);
    if (!s) return;
    s.activations += 1;
    s.wait.count += 1;
    s.wait.sumSeconds += seconds;
    (s.wait.buckets[bucketIndex(seconds)] as number) += 1;
  }

  /**
   * Each version's load since the last drain, ending at `nowMs`, and a fresh interval. A version
   * with nothing in flight is forgotten once reported.
   * @param buffered requests of a version group (by id) waiting in the buffer now.
   */
  drain(nowMs: number, buffered: (groupId: number) => number): FunctionLoadSeries[] {
    const intervalMs = nowMs - this.lastCutMs;
    this.lastCutMs = nowMs;
    const out: FunctionLoadSeries[] = [];
    for (const [groupId, s] of this.series) {
      advance(s, nowMs);
      out.push({
        appkey: s.version.appkey,
        function: s.version.function,
        version: s.version.version,
        concurrency: intervalMs > 0 ? s.areaMs / intervalMs : s.inFlight,
        buffered: buffered(groupId),
        requests: s.requests,
        activations: s.activations,
        activationWait: s.wait,
      });
      if (s.inFlight === 0) {
        this.series.delete(groupId);
        continue;
      }
      s.areaMs = 0;
      s.requests = 0;
      s.activations = 0;
      s.wait = emptyHistogram();
    }
    return out;
  }
}

/** Adds the area since `s.sinceMs` at its current in-flight count. */
function advance(s: VersionLoad, nowMs: number): void {
  if (nowMs > s.sinceMs) s.areaMs += s.inFlight * (nowMs - s.sinceMs);
  s.sinceMs = Math.max(s.sinceMs, nowMs);
}

function emptyHistogram(): HistogramDelta {
  return { count: 0, sumSeconds: 0, buckets: new Array<number>(DURATION_BUCKETS_SECONDS.length + 1).fill(0) };
}
