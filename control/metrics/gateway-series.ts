/**
 * The cumulative store of what gateway isolates push: deltas of request and attempt histograms
 * and of counters, summed per series since this control started, as Prometheus counters are
 * (they never decrease; a new isolate's counts are simply added). Pure: no clock, no I/O;
 * control/metrics/gateway-exposition.ts renders it on GET /metrics.
 *
 * Series are keyed by their label values; a label whose value is "" is left out of the series
 * (PromQL treats a missing label as ""). The number of series is capped (`maxSeries`, all
 * families together): the counts of a push's series that would pass the cap are refused and
 * added to `sluice_gateway_dropped_series_total`, as are the isolates' own `droppedSeries`.
 */
import type { GatewayPush } from "./gateway-push.ts";

/** Most series the store keeps, every family together. */
export const MAX_GATEWAY_SERIES = 50_000;

/** Label name → value, values never empty. */
export type Labels = Record<string, string>;

/** One cumulative histogram series; `buckets` per bucket (not cumulative), the last for +Inf. */
export interface HistogramSeries {
  labels: Labels;
  count: number;
  /** Sum of the observations, seconds. */
  sum: number;
  buckets: number[];
}

/** One cumulative counter series. */
export interface CounterSeries {
  labels: Labels;
  value: number;
}

/** The counter families summed from a push's counter lists, by their exposed name. */
export const GATEWAY_COUNTER_NAMES = [
  "sluice_retries_total",
  "sluice_panic_total",
  "sluice_outlier_ejections_total",
  "sluice_admission_overflow_total",
  "sluice_condition_errors_total",
] as const;
export type GatewayCounterName = (typeof GATEWAY_COUNTER_NAMES)[number];

/** The histogram families: requests (`http_server_…`) and upstream attempts (`http_client_…`). */
export type GatewayHistogramName = "requests" | "attempts";

/**
 * `[name, value]` pairs as Labels, leaving out empty values.
 * @example labelsOf([["route", "7"], ["group", ""]]) → {route: "7"}
 */
export function labelsOf(pairs: readonly (readonly [string, string])[]): Labels {
  const labels: Labels = {};
  for (const [name, value] of pairs) if (value !== "") labels[name] = value;
  return labels;
}

export class GatewaySeriesStore {
  private readonly histograms: Record<GatewayHistogramName, Map<string, HistogramSeries>> = { requests: new Map(), attempts: new Map() };
  private readonly counters = new Map<GatewayCounterName, Map<string, CounterSeries>>(
    GATEWAY_COUNTER_NAMES.map((name) => [name, new Map()]),
  );
  private seriesCount = 0;
  private dropped = 0;
  private readonly maxSeries: number;

  /** @param options.maxSeries default MAX_GATEWAY_SERIES. */
  constructor(options: { maxSeries?: number } = {}) {
    this.maxSeries = options.maxSeries ?? MAX_GATEWAY_SERIES;
  }

  /**
   * Adds one validated push's deltas (control/api/gateway-metrics.ts has checked every count is
   * finite and ≥ 0 and every `buckets` has bounds + 1 entries). Call it once per counted push
   * (control/metrics/push-dedup.ts decides which).
   */
  add(push: GatewayPush): void {
    for (const r of push.requests) {
      const labels = labelsOf([
        ["route", r.route],
        ["group", r.group],
        ["function_version", r.functionVersion],
        ["method", r.method],
        ["status_class", r.statusClass],
      ]);
      this.addHistogram("requests", labels, r);
    }
    for (const a of push.attempts) {
      this.addHistogram(
        "attempts",
        labelsOf([
          ["group", a.group],
          ["instance", a.instance],
          ["outcome", a.outcome],
        ]),
        a,
      );
    }
    const routeGroup = (e: { route: string; group: string }) =>
      labelsOf([
        ["route", e.route],
        ["group", e.group],
      ]);
    for (const e of push.retries) this.addCounter("sluice_retries_total", routeGroup(e), e.count);
    for (const e of push.panics) this.addCounter("sluice_panic_total", routeGroup(e), e.count);
    for (const e of push.ejections) {
      this.addCounter(
        "sluice_outlier_ejections_total",
        labelsOf([
          ["group", e.group],
          ["instance", e.instance],
        ]),
        e.count,
      );
    }
    for (const e of push.overflows) this.addCounter("sluice_admission_overflow_total", labelsOf([["group", e.group]]), e.count);
    for (const e of push.conditionErrors) this.addCounter("sluice_condition_errors_total", labelsOf([["route", e.route]]), e.count);
    this.dropped += push.droppedSeries;
  }

  /** Every series of a histogram family, in the order first seen. */
  histogram(name: GatewayHistogramName): HistogramSeries[] {
    return [...this.histograms[name].values()];
  }

  /** Every series of a counter family, in the order first seen. */
  counter(name: GatewayCounterName): CounterSeries[] {
    return [...(this.counters.get(name)?.values() ?? [])];
  }

  /** `sluice_gateway_dropped_series_total`: observations the isolates dropped plus those refused here. */
  get droppedSeries(): number {
    return this.dropped;
  }

  /** Series kept, every family together. */
  get size(): number {
    return this.seriesCount;
  }

  private addHistogram(name: GatewayHistogramName, labels: Labels, delta: { count: number; sumSeconds: number; buckets: number[] }): void {
    const series = this.seriesFor(this.histograms[name], labels, () => ({ labels, count: 0, sum: 0, buckets: delta.buckets.map(() => 0) }));
    if (!series) {
      this.dropped += delta.count;
      return;
    }
    series.count += delta.count;
    series.sum += delta.sumSeconds;
    for (let i = 0; i < delta.buckets.length; i++) series.buckets[i] += delta.buckets[i];
  }

  private addCounter(name: GatewayCounterName, labels: Labels, count: number): void {
    const family = this.counters.get(name) as Map<string, CounterSeries>;
    const series = this.seriesFor(family, labels, () => ({ labels, value: 0 }));
    if (!series) {
      this.dropped += count;
      return;
    }
    series.value += count;
  }

  /** The family's series for `labels`, created if the cap allows; null when refused. */
  private seriesFor<S>(family: Map<string, S>, labels: Labels, create: () => S): S | null {
    const key = JSON.stringify(labels);
    let series = family.get(key);
    if (series) return series;
    if (this.seriesCount >= this.maxSeries) return null;
    series = create();
    family.set(key, series);
    this.seriesCount += 1;
    return series;
  }
}
