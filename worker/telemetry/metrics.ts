/**
 * One isolate's metrics between two pushes: counters and latency histograms keyed by their
 * labels, taken out as deltas (drain) for the push to control (wire.ts). Pure: no clock, no I/O.
 *
 * The number of series an isolate keeps is capped (METRICS_MAX_SERIES, default 2000): an
 * observation that would open a series beyond the cap is dropped and counted in
 * `droppedSeries`, so a flood of new label values (many routes, many instances) costs bounded
 * memory and push size, as Prometheus' own `sample_limit` bounds a scrape.
 */
import {
  type AttemptOutcomeLabel,
  type AttemptSeries,
  DURATION_BUCKETS_SECONDS,
  type GroupCount,
  HTTP_METHODS,
  type HttpMethodLabel,
  type InstanceCount,
  type MetricsPush,
  type RequestSeries,
  type RouteCount,
  type RouteGroupCount,
  type StatusClass,
} from "./wire.ts";

/** What drain() returns: the counters and histograms of a push. */
export type MetricsDelta = Pick<
  MetricsPush,
  "requests" | "attempts" | "retries" | "panics" | "ejections" | "overflows" | "conditionErrors" | "droppedSeries"
>;

/** Series an isolate keeps between pushes when METRICS_MAX_SERIES is not set. */
export const DEFAULT_MAX_SERIES = 2000;

const KNOWN_METHODS = new Set<string>(HTTP_METHODS);
const STATUS_CLASS_OF: readonly StatusClass[] = ["1xx", "1xx", "2xx", "3xx", "4xx", "5xx"];
// A separator no label value contains (route ids are digits; group names, addresses and methods are printable).
const SEP = "\u0000";

/** The `method` label of an HTTP method: itself when OTel lists it, else `_OTHER` (no unbounded label). */
export function methodLabel(method: string): HttpMethodLabel {
  return KNOWN_METHODS.has(method) ? (method as HttpMethodLabel) : "_OTHER";
}

/** The `status_class` label of an HTTP status (100–599; anything below 200 is `1xx`, above 599 `5xx`). */
export function statusClass(status: number): StatusClass {
  const digit = Math.floor(status / 100);
  return STATUS_CLASS_OF[Math.min(Math.max(digit, 1), 5)] as StatusClass;
}

/** Index of the bucket `seconds` falls in: the first bound ≥ it, or the +Inf bucket. */
export function bucketIndex(seconds: number): number {
  const bounds = DURATION_BUCKETS_SECONDS;
  for (let i = 0; i < bounds.length; i++) if (seconds <= (bounds[i] as number)) return i;
  return bounds.length;
}

function emptyBuckets(): number[] {
  return new Array<number>(DURATION_BUCKETS_SECONDS.length + 1).fill(0);
}

function observe(series: { count: number; sumSeconds: number; buckets: number[] }, seconds: number): void {
  series.count += 1;
  series.sumSeconds += seconds;
  (series.buckets[bucketIndex(seconds)] as number) += 1;
}

export class MetricsAggregator {
  private readonly maxSeries: number;
  private readonly enabled: boolean;
  private series = 0;
  private dropped = 0;
  private requests = new Map<string, RequestSeries>();
  private attempts = new Map<string, AttemptSeries>();
  private retries = new Map<string, RouteGroupCount>();
  private panics = new Map<string, RouteGroupCount>();
  private ejections = new Map<string, InstanceCount>();
  private overflows = new Map<string, GroupCount>();
  private conditionErrors = new Map<string, RouteCount>();

  /**
   * @param maxSeries most series kept between two drains (all kinds together), ≥ 1.
   * @param enabled false: every recording method returns at once (METRICS_PUSH_MS=0: nothing
   *   would ever be pushed, so nothing is recorded).
   */
  constructor(maxSeries: number = DEFAULT_MAX_SERIES, enabled = true) {
    this.maxSeries = maxSeries;
    this.enabled = enabled;
  }

  /** Whether nothing was recorded since the last drain. */
  get empty(): boolean {
    return this.series === 0 && this.dropped === 0;
  }

  /**
   * A request the gateway answered.
   * @param route route id ("" when none matched); @param group group name ("" when none decided);
   * @param functionVersion "" for upstream groups; @param status the status the client got;
   * @param seconds from arrival to the response headers.
   */
  request(route: string, group: string, functionVersion: string, method: string, status: number, seconds: number): void {
    if (!this.enabled) return;
    const m = methodLabel(method);
    const cls = statusClass(status);
    const key = route + SEP + group + SEP + functionVersion + SEP + m + SEP + cls;
    let series = this.requests.get(key);
    if (!series) {
      if (!this.admit()) return;
      series = { route, group, functionVersion, method: m, statusClass: cls, count: 0, sumSeconds: 0, buckets: emptyBuckets() };
      this.requests.set(key, series);
    }
    observe(series, seconds);
  }

  /** One upstream attempt on `instance` (`host:port`) of `group`, `seconds` from sending to headers or failure. */
  attempt(group: string, instance: string, outcome: AttemptOutcomeLabel, seconds: number): void {
    if (!this.enabled) return;
    const key = group + SEP + instance + SEP + outcome;
    let series = this.attempts.get(key);
    if (!series) {
      if (!this.admit()) return;
      series = { group, instance, outcome, count: 0, sumSeconds: 0, buckets: emptyBuckets() };
      this.attempts.set(key, series);
    }
    observe(series, seconds);
  }

  /** A retry sent on `route` to `group` (Envoy upstream_rq_retry). */
  retry(route: string, group: string): void {
    this.countRouteGroup(this.retries, route, group);
  }

  /** A decision that balanced over the whole tier because too few instances were healthy (Envoy lb_healthy_panic). */
  panic(route: string, group: string): void {
    this.countRouteGroup(this.panics, route, group);
  }

  /** Outlier detection ejected `instance` of `group` (Envoy outlier_detection.ejections_enforced_total). */
  ejection(group: string, instance: string): void {
    if (!this.enabled) return;
    const key = group + SEP + instance;
    const counter = this.ejections.get(key);
    if (counter) counter.count += 1;
    else if (this.admit()) this.ejections.set(key, { group, instance, count: 1 });
  }

  /** A request refused or timed out waiting for admission to `group` (Envoy upstream_rq_pending_overflow). */
  overflow(group: string): void {
    if (!this.enabled) return;
    const counter = this.overflows.get(group);
    if (counter) counter.count += 1;
    else if (this.admit()) this.overflows.set(group, { group, count: 1 });
  }

  /** `n` conditions of `route`'s policies that errored in one decision (each counted as not matching). */
  conditionError(route: string, n: number): void {
    if (!this.enabled) return;
    const counter = this.conditionErrors.get(route);
    if (counter) counter.count += n;
    else if (this.admit()) this.conditionErrors.set(route, { route, count: n });
  }

  /** Everything recorded since the last drain, and a fresh start. */
  drain(): MetricsDelta {
    const delta: MetricsDelta = {
      requests: [...this.requests.values()],
      attempts: [...this.attempts.values()],
      retries: [...this.retries.values()],
      panics: [...this.panics.values()],
      ejections: [...this.ejections.values()],
      overflows: [...this.overflows.values()],
      conditionErrors: [...this.conditionErrors.values()],
      droppedSeries: this.dropped,
    };
    this.requests = new Map();
    this.attempts = new Map();
    this.retries = new Map();
    this.panics = new Map();
    this.ejections = new Map();
    this.overflows = new Map();
    this.conditionErrors = new Map();
    this.series = 0;
    this.dropped = 0;
    return delta;
  }

  private countRouteGroup(map: Map<string, RouteGroupCount>, route: string, group: string): void {
    if (!this.enabled) return;
    const key = route + SEP + group;
    const counter = map.get(key);
    if (counter) counter.count += 1;
    else if (this.admit()) map.set(key, { route, group, count: 1 });
  }

  /** Makes room for one more series, or counts the observation as dropped. */
  private admit(): boolean {
    if (this.series >= this.maxSeries) {
      this.dropped += 1;
      return false;
    }
    this.series += 1;
    return true;
  }
}
