/**
 * Control's copy of the gateway metrics push body (the contract is worker/telemetry/wire.ts,
 * which control may not import: biome's noRestrictedImports). The zod schema that checks a push
 * against it is control/api/gateway-metrics.ts; test/control/metrics checks that both agree with
 * wire.ts's constants. Counters and histograms are deltas since the isolate's previous push,
 * gauges its values at the push.
 */

/** Version of the push body control accepts (wire.ts METRICS_PUSH_FORMAT). */
export const GATEWAY_PUSH_FORMAT = 1;

/** Path of the push on control (wire.ts METRICS_PUSH_PATH). */
export const GATEWAY_PUSH_PATH = "/v1/gateway/metrics";

/** `method` label values (wire.ts HTTP_METHODS plus `_OTHER`; OTel HTTP conventions). */
export const PUSH_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "_OTHER"] as const;

/** `status_class` label values (wire.ts STATUS_CLASSES). */
export const PUSH_STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;

/** `outcome` label values of upstream attempts (wire.ts ATTEMPT_OUTCOMES). */
export const PUSH_ATTEMPT_OUTCOMES = ["success", "http_5xx", "connect_failure", "reset", "timeout"] as const;

export type PushMethod = (typeof PUSH_METHODS)[number];
export type PushStatusClass = (typeof PUSH_STATUS_CLASSES)[number];
export type PushAttemptOutcome = (typeof PUSH_ATTEMPT_OUTCOMES)[number];

/** Observations of one histogram series over the push interval (wire.ts HistogramDelta). */
export interface PushHistogram {
  count: number;
  /** Sum of the observations, seconds. */
  sumSeconds: number;
  /** Per-bucket counts, NOT cumulative; one entry per bound plus one for +Inf. */
  buckets: number[];
}

/** Requests the gateway answered; "" means no route / no group / not a function. */
export interface PushRequestSeries extends PushHistogram {
  route: string;
  group: string;
  functionVersion: string;
  method: PushMethod;
  statusClass: PushStatusClass;
}

/** Upstream attempts to one instance (`host:port`). */
export interface PushAttemptSeries extends PushHistogram {
  group: string;
  instance: string;
  outcome: PushAttemptOutcome;
}

/** An instance of a group (ejected, breaker open). */
export interface PushInstanceRef {
  group: string;
  instance: string;
}

/** One push (wire.ts MetricsPush), as control's schema has validated it. */
export interface GatewayPush {
  format: typeof GATEWAY_PUSH_FORMAT;
  /** The isolate's id: random per isolate start. */
  gateway: string;
  /** 1, 2, 3 … per isolate; a retried push repeats its number. */
  seq: number;
  /** The launcher's process slot, null when none. */
  slot: number | null;
  /** Span the deltas cover, ms; also the isolate's push interval. */
  intervalMs: number;
  /** Bucket bounds of every histogram, seconds. */
  bucketsSeconds: readonly number[];
  gauges: {
    activeRequests: number;
    /** Decimal snapshot version served, null before the first. */
    snapshotVersion: string | null;
    /** Seconds since control last confirmed the served snapshot, null before the first. */
    snapshotAgeSeconds: number | null;
    ejected: PushInstanceRef[];
    breakerOpen: PushInstanceRef[];
  };
  requests: PushRequestSeries[];
  attempts: PushAttemptSeries[];
  retries: { route: string; group: string; count: number }[];
  panics: { route: string; group: string; count: number }[];
  ejections: { group: string; instance: string; count: number }[];
  overflows: { group: string; count: number }[];
  conditionErrors: { route: string; count: number }[];
  /** Observations the isolate dropped at its own series cap. */
  droppedSeries: number;
  /** Load of each function version the isolate routed to since its last push (absent: none). */
  functions?: PushFunctionLoad[];
}

/** One function version's load in one isolate over the interval (wire.ts FunctionLoadSeries). */
export interface PushFunctionLoad {
  appkey: string;
  function: string;
  version: number;
  /** Time-weighted average in flight (buffered included) over intervalMs. */
  concurrency: number;
  /** Requests waiting in the activation buffer at the push. */
  buffered: number;
  /** Requests answered in the interval. */
  requests: number;
  /** Requests that waited for an instance in the interval. */
  activations: number;
  /** Their waits in the buffer, seconds. */
  activationWait: PushHistogram;
}
