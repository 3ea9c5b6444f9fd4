/**
 * The metrics push: what each gateway isolate sends control every METRICS_PUSH_MS (default 5 s)
 * as `POST /v1/gateway/metrics` (JSON, gateway token, `Sluice-Gateway: <isolate id>`), and what
 * control sums into the series it exposes on GET /metrics (docs/metrics.md). Control validates
 * the body against its own schema (control/api/gateway-metrics.ts); test/contract checks that
 * what the gateway sends parses there.
 *
 * Counters and histograms are **deltas** since the previous accepted push of the same isolate;
 * gauges are the isolate's values at the push. Delivery is at least once and counting exactly
 * once: a push that got no 2xx answer is sent again unchanged (same `seq`), and control counts a
 * push only when its `seq` is greater than the last it counted for that isolate (as
 * APISIX/nginx-lua-prometheus and Envoy aggregate per worker, but across processes that share no
 * memory: REFERENCES.md, "Metrics and traces").
 *
 * Labels are bounded: route ids, group names, `host:port` of registry instances, methods from
 * HTTP_METHODS (else `_OTHER`), status classes. No path, no client address.
 */

/** Version of the push body; control answers 400 to any other. */
export const METRICS_PUSH_FORMAT = 1;

/** Path of the push on control (under /v1, in control's OpenAPI document). */
export const METRICS_PUSH_PATH = "/v1/gateway/metrics";

/**
 * Upper bounds of every histogram's buckets, seconds: the OpenTelemetry HTTP semantic
 * conventions' explicit boundaries for `http.server.request.duration` (and
 * `http.client.request.duration`). A histogram's `buckets` has one more entry, for +Inf.
 */
export const DURATION_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] as const;

/** Methods kept as they are in the `method` label; any other is `_OTHER` (OTel HTTP conventions). */
export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"] as const;

/** `status_class` label values: the first digit of the status the client got. */
export const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;

/**
 * How one upstream attempt ended (`outcome` label), as Envoy's upstream_rq_* and outlier
 * detection tell them apart: a response below 500, a 5xx, or no response for want of a
 * connection, a connection broken after sending, or a per-try / total timeout.
 */
export const ATTEMPT_OUTCOMES = ["success", "http_5xx", "connect_failure", "reset", "timeout"] as const;

export type HttpMethodLabel = (typeof HTTP_METHODS)[number] | "_OTHER";
export type StatusClass = (typeof STATUS_CLASSES)[number];
export type AttemptOutcomeLabel = (typeof ATTEMPT_OUTCOMES)[number];

/** Counts of one histogram series over the push's interval. */
export interface HistogramDelta {
  /** Observations. */
  count: number;
  /** Their sum, seconds. */
  sumSeconds: number;
  /**
   * Observations per bucket, NOT cumulative: `buckets[i]` counts values in
   * (bound[i-1], bound[i]], the last entry those above the last bound. Length: bounds + 1.
   */
  buckets: number[];
}

/**
 * Requests the gateway answered (`http_server_request_duration_seconds`): from the request's
 * arrival to its response headers. `route` is the route id ("" when no route matched, or the
 * request was refused before routing), `group` the group name ("" when none was decided),
 * `functionVersion` the function version that served it ("" for upstream groups).
 */
export interface RequestSeries extends HistogramDelta {
  route: string;
  group: string;
  functionVersion: string;
  method: HttpMethodLabel;
  statusClass: StatusClass;
}

/** Upstream attempts (`http_client_request_duration_seconds`): from sending to the response headers or the failure. */
export interface AttemptSeries extends HistogramDelta {
  group: string;
  /** `host:port` of the instance. */
  instance: string;
  outcome: AttemptOutcomeLabel;
}

/** A counter delta keyed by route and group (`sluice_retries_total`, `sluice_panic_total`). */
export interface RouteGroupCount {
  route: string;
  group: string;
  count: number;
}

/** A counter delta keyed by group and instance (`sluice_outlier_ejections_total`). */
export interface InstanceCount {
  group: string;
  instance: string;
  count: number;
}

/** A counter delta keyed by group (`sluice_admission_overflow_total`). */
export interface GroupCount {
  group: string;
  count: number;
}

/** A counter delta keyed by route (`sluice_condition_errors_total`). */
export interface RouteCount {
  route: string;
  count: number;
}

/** An instance in some state at the push (ejected, breaker open). */
export interface InstanceRef {
  group: string;
  instance: string;
}

/** One push. */
export interface MetricsPush {
  format: typeof METRICS_PUSH_FORMAT;
  /** The isolate's id (worker/snapshot-source.ts SnapshotState.gatewayId): a UUID, random per isolate start. */
  gateway: string;
  /** 1, 2, 3 … per isolate; a retried push repeats its number. */
  seq: number;
  /** The launcher's slot of the process (worker/env.ts ProcessPlace), null when none started it. */
  slot: number | null;
  /** Wall-clock span the deltas cover, ms (the previous push's cut to this one's). */
  intervalMs: number;
  /** Bucket bounds of every histogram here, seconds (DURATION_BUCKETS_SECONDS). */
  bucketsSeconds: readonly number[];
  gauges: {
    /** Requests in the isolate at the push (`http_server_active_requests`). */
    activeRequests: number;
    /** Snapshot version served (decimal), null before the first. */
    snapshotVersion: string | null;
    /**
     * Seconds since control last confirmed the served snapshot is the latest (a 200 that loaded
     * it or a 304), null before the first: how stale the isolate may be
     * (`sluice_gateway_snapshot_age_seconds`).
     */
    snapshotAgeSeconds: number | null;
    /** Instances this isolate's outlier detection holds ejected. */
    ejected: InstanceRef[];
    /** Instances whose circuit breaker is open (or half-open) in this isolate. */
    breakerOpen: InstanceRef[];
  };
  requests: RequestSeries[];
  attempts: AttemptSeries[];
  retries: RouteGroupCount[];
  panics: RouteGroupCount[];
  ejections: InstanceCount[];
  overflows: GroupCount[];
  conditionErrors: RouteCount[];
  /** Observations dropped because the isolate had reached its series cap (METRICS_MAX_SERIES). */
  droppedSeries: number;
  /** Load of each function version this isolate routed to since its last push (absent: none; docs/functions-runtime.md). */
  functions?: FunctionLoadSeries[];
}

/**
 * One function version's load in one isolate over the push interval: the autoscaler's input
 * (Knative's activator stats) and the activator's metrics.
 */
export interface FunctionLoadSeries {
  appkey: string;
  function: string;
  /** Version number. */
  version: number;
  /** Time-weighted average of this version's requests in flight in the isolate (buffered ones included) over intervalMs. */
  concurrency: number;
  /** Requests waiting in the activation buffer at the push. */
  buffered: number;
  /** Requests answered in the interval. */
  requests: number;
  /** Requests that had to wait for an instance (activations) in the interval. */
  activations: number;
  /** How long those requests waited in the buffer, seconds (`sluice_function_activation_seconds`). */
  activationWait: HistogramDelta;
}
