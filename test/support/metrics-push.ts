/**
 * Builders of gateway metrics pushes for tests, typed with the gateway's own contract
 * (worker/telemetry/wire.ts MetricsPush), so a push built here is one the gateway could send.
 */
import { DURATION_BUCKETS_SECONDS, type MetricsPush, type RequestSeries } from "../../worker/telemetry/wire.ts";

/** An empty push of `gateway` number `seq` (5 s interval, no series, gauges at rest). */
export function emptyPush(gateway: string, seq: number, overrides: Partial<MetricsPush> = {}): MetricsPush {
  return {
    format: 1,
    gateway,
    seq,
    slot: null,
    intervalMs: 5000,
    bucketsSeconds: [...DURATION_BUCKETS_SECONDS],
    gauges: { activeRequests: 0, snapshotVersion: null, snapshotAgeSeconds: null, ejected: [], breakerOpen: [] },
    requests: [],
    attempts: [],
    retries: [],
    panics: [],
    ejections: [],
    overflows: [],
    conditionErrors: [],
    droppedSeries: 0,
    ...overrides,
  };
}

/**
 * A histogram delta of the given latencies, seconds: per-bucket counts (a value equal to a
 * bound falls in that bound's bucket, as Prometheus `le` says) and their sum.
 */
export function latencies(values: readonly number[]): { count: number; sumSeconds: number; buckets: number[] } {
  const buckets = new Array(DURATION_BUCKETS_SECONDS.length + 1).fill(0);
  for (const v of values) {
    const i = DURATION_BUCKETS_SECONDS.findIndex((bound) => v <= bound);
    buckets[i === -1 ? DURATION_BUCKETS_SECONDS.length : i] += 1;
  }
  return { count: values.length, sumSeconds: values.reduce((a, b) => a + b, 0), buckets };
}

/** A request series of `route` and `group` with the given latencies. */
export function requestSeries(
  route: string,
  group: string,
  values: readonly number[],
  labels: Partial<Pick<RequestSeries, "method" | "statusClass" | "functionVersion">> = {},
): RequestSeries {
  return { route, group, functionVersion: "", method: "GET", statusClass: "2xx", ...labels, ...latencies(values) };
}
