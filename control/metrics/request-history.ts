/**
 * A short history of the gateway's requests for a console without Prometheus: one-minute
 * buckets over the last hour per (route, group), each with the requests, the requests per status
 * class and the latency histogram (so quantiles can be estimated: histogram-quantile.ts). Pure
 * apart from the injected clock.
 *
 * Bounded: HISTORY_MINUTES slots per (route, group), at most MAX_HISTORY_KEYS pairs (a new pair
 * beyond that is not recorded); a pair with nothing in the last hour is dropped.
 */

import { PUSH_STATUS_CLASSES, type PushRequestSeries, type PushStatusClass } from "./gateway-push.ts";
import { histogramQuantile } from "./histogram-quantile.ts";

/** Minutes kept. */
export const HISTORY_MINUTES = 60;
/** Most (route, group) pairs kept. */
export const MAX_HISTORY_KEYS = 5_000;

const MINUTE_MS = 60_000;

/** One minute of one (route, group), or of several summed. */
export interface HistoryMinute {
  /** Start of the minute, ms since epoch (a multiple of 60 000). */
  startMs: number;
  requests: number;
  byStatusClass: Record<PushStatusClass, number>;
  /** Latency counts per bucket, NOT cumulative, the last for +Inf. */
  buckets: number[];
  /** Estimated latency quantiles, seconds (PromQL histogram_quantile); null without requests. */
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

interface Slot {
  startMs: number;
  requests: number;
  byStatusClass: Record<PushStatusClass, number>;
  buckets: number[];
}

export interface RequestHistoryOptions {
  /** Bucket bounds of the latency histograms, seconds. */
  boundsSeconds: readonly number[];
  /** The clock, ms since epoch. */
  now: () => number;
  /** Default MAX_HISTORY_KEYS. */
  maxKeys?: number;
}

export class RequestHistory {
  /** JSON [route, group] → its ring of slots, indexed by minute number mod HISTORY_MINUTES. */
  private readonly rings = new Map<string, { route: string; group: string; slots: (Slot | undefined)[]; lastMs: number }>();
  private readonly options: RequestHistoryOptions;

  constructor(options: RequestHistoryOptions) {
    this.options = options;
  }

  /** Adds a counted push's request series to the current minute. */
  record(requests: readonly PushRequestSeries[]): void {
    const nowMs = this.options.now();
    const startMs = minuteStart(nowMs);
    this.prune(nowMs);
    for (const r of requests) {
      const key = JSON.stringify([r.route, r.group]);
      let ring = this.rings.get(key);
      if (!ring) {
        if (this.rings.size >= (this.options.maxKeys ?? MAX_HISTORY_KEYS)) continue;
        ring = { route: r.route, group: r.group, slots: new Array(HISTORY_MINUTES), lastMs: nowMs };
        this.rings.set(key, ring);
      }
      ring.lastMs = nowMs;
      const index = (startMs / MINUTE_MS) % HISTORY_MINUTES;
      let slot = ring.slots[index];
      if (!slot || slot.startMs !== startMs) {
        slot = { startMs, requests: 0, byStatusClass: emptyClasses(), buckets: this.options.boundsSeconds.map(() => 0).concat(0) };
        ring.slots[index] = slot;
      }
      slot.requests += r.count;
      slot.byStatusClass[r.statusClass] += r.count;
      for (let i = 0; i < slot.buckets.length; i++) slot.buckets[i] += r.buckets[i] ?? 0;
    }
  }

  /**
   * The last HISTORY_MINUTES minutes, oldest first, the current minute last (minutes without
   * requests have zeros and null quantiles).
   * @param filter.route / filter.group only this route id / group name ("" = none); omitted:
   *   every value, summed.
   */
  query(filter: { route?: string; group?: string }): HistoryMinute[] {
    const nowMs = this.options.now();
    this.prune(nowMs);
    const current = minuteStart(nowMs);
    const firstMs = current - (HISTORY_MINUTES - 1) * MINUTE_MS;
    const bounds = this.options.boundsSeconds;
    const minutes: Slot[] = [];
    for (let m = 0; m < HISTORY_MINUTES; m++) {
      minutes.push({
        startMs: firstMs + m * MINUTE_MS,
        requests: 0,
        byStatusClass: emptyClasses(),
        buckets: bounds.map(() => 0).concat(0),
      });
    }
    for (const ring of this.rings.values()) {
      if (filter.route !== undefined && ring.route !== filter.route) continue;
      if (filter.group !== undefined && ring.group !== filter.group) continue;
      for (const slot of ring.slots) {
        if (!slot || slot.startMs < firstMs || slot.startMs > current) continue;
        const into = minutes[(slot.startMs - firstMs) / MINUTE_MS];
        into.requests += slot.requests;
        for (const c of PUSH_STATUS_CLASSES) into.byStatusClass[c] += slot.byStatusClass[c];
        for (let i = 0; i < into.buckets.length; i++) into.buckets[i] += slot.buckets[i];
      }
    }
    return minutes.map((m) => ({
      ...m,
      p50: histogramQuantile(0.5, bounds, m.buckets),
      p90: histogramQuantile(0.9, bounds, m.buckets),
      p99: histogramQuantile(0.99, bounds, m.buckets),
    }));
  }

  /** Drops pairs with nothing in the kept window. */
  private prune(nowMs: number): void {
    const oldestKept = minuteStart(nowMs) - (HISTORY_MINUTES - 1) * MINUTE_MS;
    for (const [key, ring] of this.rings) if (minuteStart(ring.lastMs) < oldestKept) this.rings.delete(key);
  }
}

function minuteStart(ms: number): number {
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}

function emptyClasses(): Record<PushStatusClass, number> {
  return { "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 };
}
