/**
 * The gateway Worker's bindings (wrangler vars / workerd `bindings`) and their parsed form.
 * The gateway holds a read-only credential for the snapshot endpoint and the snapshot public key;
 * never the admin token, never the signing key.
 */
import { type ClientIpRule, parseClientIpRule } from "./client-ip.ts";
import { parseRedisUrl, type RedisEndpoint } from "./plugins/limits/redis-client.ts";
import type { AccessLogConfig } from "./telemetry/access-log.ts";
import { DEFAULT_MAX_SERIES } from "./telemetry/metrics.ts";
import { readTraceConfig, TRACE_BINDINGS, type TraceConfig } from "./telemetry/trace-config.ts";
export interface Env {
  /** Base URL of control, e.g. `http://127.0.0.1:7400`. */
  CONTROL_URL: string;
  /** Read-only gateway token for `GET /v1/snapshot`. */
  GATEWAY_TOKEN: string;
  /** Raw Ed25519 public key (32 bytes), base64. */
  SNAPSHOT_PUBLIC_KEY: string;
  /**
   * Fallback poll interval, ms (default 1000): the retry interval while control is unreachable,
   * and the poll rate against a control that does not hold long polls.
   */
  SNAPSHOT_POLL_MS?: string;
  /** How long control may hold a long poll, ms (default 25000; Cloudflare ends waitUntil at 30 s). */
  SNAPSHOT_WAIT_MS?: string;
  /** How long a request on an isolate that is not polling waits for a fresh answer, ms (default 500). */
  SNAPSHOT_SYNC_WAIT_MS?: string;
  /** An isolate stops long-polling this long after its last request, ms (default 60000). */
  SNAPSHOT_IDLE_STOP_MS?: string;
  /** `1`: answers carry `Sluice-Snapshot-Version` (the version that routed them), for debugging and benches. */
  SNAPSHOT_VERSION_HEADER?: string;
  /** How long the first request waits for the first snapshot, ms (default 3000). */
  SNAPSHOT_FIRST_WAIT_MS?: string;
  /** Path of the gateway's own status document (default `/__sluice/status`). */
  STATUS_PATH?: string;
  /**
   * Bearer token the status document needs (a secret: bind it from the environment). Unset (the
   * default): no status document — the path is routed like any other, so nothing about the
   * upstreams is public.
   */
  STATUS_TOKEN?: string;
  /**
   * Proxies whose forwarded-for entries are believed for `request.ip`: comma-separated
   * addresses or CIDRs (default none: the connection's peer is the client). worker/client-ip.ts.
   */
  TRUSTED_PROXIES?: string;
  /** The header those proxies append the client to (default `x-forwarded-for`). */
  CLIENT_IP_HEADER?: string;
  /** This gateway's zone (OCTO IDC) and region, for zone-affine balancing (default none: no affinity). */
  ZONE?: string;
  REGION?: string;
  /** Request header carrying the OCTO swimlane tag (default `sluice-lane`). */
  LANE_HEADER?: string;
  /** Request header carrying the SET (cell) the request belongs to (default `sluice-cell`). */
  CELL_HEADER?: string;
  /**
   * The process's place in its cluster, set by Sluice's launcher for each process it starts
   * (worker/launcher/supervisor.ts; names in PROCESS_BINDINGS, values from processBindings), not
   * by the operator. Unset on Cloudflare and under wrangler: the status document then has
   * `process: null`.
   */
  PROCESS_SLOT?: string;
  PROCESS_RESTARTS?: string;
  CLUSTER_RESTARTS?: string;
  PROCESS_STARTED_AT_MS?: string;
  /**
   * How often each isolate pushes its metrics to control, ms (default 5000; `0`: never — the
   * gateway then records and reports no metrics). worker/telemetry/pusher.ts, docs/metrics.md.
   */
  METRICS_PUSH_MS?: string;
  /** Most metric series an isolate keeps between two pushes (default 2000); more are dropped and counted. */
  METRICS_MAX_SERIES?: string;
  /**
   * While an isolate has function traffic it pushes at least this often, ms (default 1000): the
   * autoscaler's input (docs/functions-runtime.md). Only shortens METRICS_PUSH_MS; no effect when that is 0.
   */
  FUNCTION_METRICS_PUSH_MS?: string;
  /**
   * Most requests an isolate holds in its activation buffer, waiting for an instance of a function
   * version (default 1000); beyond, 503 `overflow` with `Retry-After: 1` (docs/functions-runtime.md).
   */
  FUNCTION_BUFFER_MAX?: string;
  /**
   * How function versions run (docs/functions-runtime.md): `instances` (default: worker processes
   * the agents start; the gateway activates and buffers) or `loader` (in this gateway's workerd
   * through the Worker Loader binding LOADER: Cloudflare, wrangler dev; refused where no LOADER is bound).
   */
  FUNCTION_RUNNER?: string;
  /** `on` (default) or `off`: the access log, one JSON line per request (worker/telemetry/access-log.ts). */
  ACCESS_LOG?: string;
  /** Share of requests the access log records, 0 < ratio ≤ 1 (default 1: every one). */
  ACCESS_LOG_SAMPLE?: string;
  /** OTLP/HTTP traces URL, e.g. `http://127.0.0.1:4318/v1/traces` (default none: no tracing). docs/tracing.md. */
  TRACE_ENDPOINT?: string;
  /** Share of new traces sampled, 0…1 (default 0.01); a request with a `traceparent` follows its sampled flag. */
  TRACE_SAMPLE_RATIO?: string;
  /** `http/protobuf` (default) or `http/json`. */
  TRACE_PROTOCOL?: string;
  /** The spans' `service.name` (default `sluice-gateway`). */
  TRACE_SERVICE_NAME?: string;
  /**
   * The Redis of limit-count's `cluster` policy, `redis://[:password@]host:port[/db]` (a secret
   * when it has a password; default none: cluster limits fail as each is configured, failOpen).
   */
  REDIS_URL?: string;
  /** Most time one cluster limit check may take, connect and script included, ms (default 50); slower → failOpen. */
  REDIS_TIMEOUT_MS?: string;
}

/** A gateway process's place in the cluster its launcher supervises. */
export interface ProcessPlace {
  /** Its slot, 0 … processes − 1. */
  slot: number;
  /** How many times this slot's process had been started again after an unplanned exit, this start included. */
  restarts: number;
  /** Restarts of all the cluster's slots when this process was started, this one included. */
  clusterRestarts: number;
  /** When the launcher started it, ms since the epoch. */
  startedAtMs: number;
}

/**
 * The bindings carrying a ProcessPlace, declared once: the launcher sets them (Bun: environment
 * variables of these names; workerd: `fromEnvironment` bindings), readConfig reads them.
 */
export const PROCESS_BINDINGS = {
  slot: "PROCESS_SLOT",
  restarts: "PROCESS_RESTARTS",
  clusterRestarts: "CLUSTER_RESTARTS",
  startedAtMs: "PROCESS_STARTED_AT_MS",
} as const satisfies Record<keyof ProcessPlace, keyof Env>;

/** A process's place as binding name → decimal text, for its launcher to pass. */
export function processBindings(place: ProcessPlace): Record<string, string> {
  return Object.fromEntries(Object.entries(PROCESS_BINDINGS).map(([key, name]) => [name, String(place[key as keyof ProcessPlace])]));
}

/**
 * The telemetry bindings (metrics push, access log, tracing), declared once: the launcher passes
 * each from `SLUICE_<NAME>` of its environment (worker/launcher/main.ts) or from its caller.
 */
export const TELEMETRY_BINDINGS = [
  "METRICS_PUSH_MS",
  "METRICS_MAX_SERIES",
  "FUNCTION_METRICS_PUSH_MS",
  "ACCESS_LOG",
  "ACCESS_LOG_SAMPLE",
  ...TRACE_BINDINGS,
] as const satisfies readonly (keyof Env)[];
export type TelemetryBinding = (typeof TELEMETRY_BINDINGS)[number];

/**
 * Every binding's name, for runtimes that read them one by one from their environment (Deno,
 * whose --allow-env names each variable it may read). The Record type makes the compiler insist
 * that each field of Env is listed.
 */
export const BINDING_NAMES = Object.keys({
  CONTROL_URL: 1,
  GATEWAY_TOKEN: 1,
  SNAPSHOT_PUBLIC_KEY: 1,
  SNAPSHOT_POLL_MS: 1,
  SNAPSHOT_WAIT_MS: 1,
  SNAPSHOT_SYNC_WAIT_MS: 1,
  SNAPSHOT_IDLE_STOP_MS: 1,
  SNAPSHOT_VERSION_HEADER: 1,
  SNAPSHOT_FIRST_WAIT_MS: 1,
  STATUS_PATH: 1,
  STATUS_TOKEN: 1,
  TRUSTED_PROXIES: 1,
  CLIENT_IP_HEADER: 1,
  ZONE: 1,
  REGION: 1,
  LANE_HEADER: 1,
  CELL_HEADER: 1,
  PROCESS_SLOT: 1,
  PROCESS_RESTARTS: 1,
  CLUSTER_RESTARTS: 1,
  PROCESS_STARTED_AT_MS: 1,
  METRICS_PUSH_MS: 1,
  METRICS_MAX_SERIES: 1,
  FUNCTION_METRICS_PUSH_MS: 1,
  FUNCTION_BUFFER_MAX: 1,
  FUNCTION_RUNNER: 1,
  ACCESS_LOG: 1,
  ACCESS_LOG_SAMPLE: 1,
  TRACE_ENDPOINT: 1,
  TRACE_SAMPLE_RATIO: 1,
  TRACE_PROTOCOL: 1,
  TRACE_SERVICE_NAME: 1,
  REDIS_URL: 1,
  REDIS_TIMEOUT_MS: 1,
} satisfies Record<keyof Env, 1>) as (keyof Env)[];

export interface GatewayConfig {
  controlUrl: string;
  gatewayToken: string;
  publicKeyBase64: string;
  pollMs: number;
  waitMs: number;
  syncWaitMs: number;
  idleStopMs: number;
  firstWaitMs: number;
  statusPath: string;
  /** The status document's token; "" = no status document. */
  statusToken: string;
  versionHeader: boolean;
  clientIp: ClientIpRule;
  zone: string;
  region: string;
  /** Lowercase header names. */
  laneHeader: string;
  cellHeader: string;
  /** Where the launcher put this process; null when no launcher of Sluice's started it. */
  process: ProcessPlace | null;
  /** Metrics push interval, ms (0: no push). */
  metricsPushMs: number;
  /** Series cap per isolate between pushes. */
  metricsMaxSeries: number;
  /** Push interval while the isolate has function traffic, ms (> 0). */
  functionMetricsPushMs: number;
  /** Requests the activation buffer holds at most (0: none is buffered, each gets `overflow`). */
  functionBufferMax: number;
  /** Where function versions run (FUNCTION_RUNNER). */
  functionRunner: FunctionRunner;
  accessLog: AccessLogConfig;
  trace: TraceConfig;
  /** limit-count's cluster store (REDIS_URL); null when unset. */
  redis: RedisEndpoint | null;
  /** Per cluster check, ms (REDIS_TIMEOUT_MS, ≥ 1). */
  redisTimeoutMs: number;
}

/** Parses bindings, applying defaults. @throws Error naming a missing or malformed binding. */
export function readConfig(env: Env): GatewayConfig {
  for (const name of ["CONTROL_URL", "GATEWAY_TOKEN", "SNAPSHOT_PUBLIC_KEY"] as const) {
    if (!env[name]) throw new Error(`binding ${name} is not set`);
  }
  return {
    controlUrl: env.CONTROL_URL.replace(/\/+$/, ""),
    gatewayToken: env.GATEWAY_TOKEN,
    publicKeyBase64: env.SNAPSHOT_PUBLIC_KEY,
    pollMs: positiveInt(env.SNAPSHOT_POLL_MS, 1000),
    waitMs: positiveInt(env.SNAPSHOT_WAIT_MS, 25_000),
    syncWaitMs: positiveInt(env.SNAPSHOT_SYNC_WAIT_MS, 500),
    idleStopMs: positiveInt(env.SNAPSHOT_IDLE_STOP_MS, 60_000),
    firstWaitMs: positiveInt(env.SNAPSHOT_FIRST_WAIT_MS, 3000),
    statusPath: env.STATUS_PATH || "/__sluice/status",
    statusToken: env.STATUS_TOKEN ?? "",
    versionHeader: env.SNAPSHOT_VERSION_HEADER === "1",
    clientIp: parseClientIpRule(env.TRUSTED_PROXIES, env.CLIENT_IP_HEADER),
    zone: env.ZONE ?? "",
    region: env.REGION ?? "",
    laneHeader: (env.LANE_HEADER || "sluice-lane").toLowerCase(),
    cellHeader: (env.CELL_HEADER || "sluice-cell").toLowerCase(),
    process: readProcessPlace(env),
    metricsPushMs: wholeNumber(env, "METRICS_PUSH_MS", 5000),
    metricsMaxSeries: Math.max(1, wholeNumber(env, "METRICS_MAX_SERIES", DEFAULT_MAX_SERIES)),
    functionMetricsPushMs: Math.max(1, wholeNumber(env, "FUNCTION_METRICS_PUSH_MS", 1000)),
    functionBufferMax: wholeNumber(env, "FUNCTION_BUFFER_MAX", 1000),
    functionRunner: readFunctionRunner(env),
    accessLog: readAccessLog(env),
    trace: readTraceConfig({ ...env }),
    redis: env.REDIS_URL ? parseRedisUrl(env.REDIS_URL) : null,
    redisTimeoutMs: Math.max(1, wholeNumber(env, "REDIS_TIMEOUT_MS", DEFAULT_REDIS_TIMEOUT_MS)),
  };
}

/** REDIS_TIMEOUT_MS's default, ms: a local Redis answers a script in well under 1 ms. */
export const DEFAULT_REDIS_TIMEOUT_MS = 50;

/** The binding as a whole number ≥ 0, `fallback` when unset or empty. @throws Error naming the binding when malformed. */
function wholeNumber(env: Env, name: keyof Env, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!/^[0-9]+$/.test(raw) || !Number.isSafeInteger(n)) throw new Error(`binding ${name} is not a whole number ≥ 0: "${raw}"`);
  return n;
}

/** FUNCTION_RUNNER values: agents' worker processes, or the Worker Loader binding in the gateway's isolate. */
export const FUNCTION_RUNNERS = ["instances", "loader"] as const;
export type FunctionRunner = (typeof FUNCTION_RUNNERS)[number];

/** FUNCTION_RUNNER. @throws Error naming the binding when unknown (the Gateway refuses `loader` without a LOADER binding). */
function readFunctionRunner(env: Env): FunctionRunner {
  const runner = env.FUNCTION_RUNNER || "instances";
  if (!(FUNCTION_RUNNERS as readonly string[]).includes(runner)) {
    throw new Error(`binding FUNCTION_RUNNER is not one of ${FUNCTION_RUNNERS.join(", ")}: "${runner}"`);
  }
  return runner as FunctionRunner;
}

/** ACCESS_LOG and ACCESS_LOG_SAMPLE. @throws Error naming the binding when malformed. */
function readAccessLog(env: Env): AccessLogConfig {
  const mode = env.ACCESS_LOG || "on";
  if (mode !== "on" && mode !== "off") throw new Error(`binding ACCESS_LOG is not "on" or "off": "${mode}"`);
  const rawRatio = env.ACCESS_LOG_SAMPLE || "1";
  const sampleRatio = Number(rawRatio);
  if (!(sampleRatio > 0 && sampleRatio <= 1)) throw new Error(`binding ACCESS_LOG_SAMPLE is not a ratio in (0, 1]: "${rawRatio}"`);
  return { enabled: mode === "on", sampleRatio };
}

/** The PROCESS_BINDINGS, or null when PROCESS_SLOT is unset. @throws Error naming a binding that is not a whole number ≥ 0. */
function readProcessPlace(env: Env): ProcessPlace | null {
  if (env.PROCESS_SLOT === undefined || env.PROCESS_SLOT === "") return null;
  const place = {} as ProcessPlace;
  for (const [key, name] of Object.entries(PROCESS_BINDINGS) as [keyof ProcessPlace, keyof Env][]) {
    // All four are set together by the launcher: a missing one is as wrong as a malformed one.
    place[key] = wholeNumber(env, name, Number.NaN);
    if (Number.isNaN(place[key])) throw new Error(`binding ${name} is not a whole number ≥ 0: ""`);
  }
  return place;
}

function positiveInt(raw: string | undefined, fallback: number): number {
  const n = Number(raw);
  return raw && Number.isInteger(n) && n > 0 ? n : fallback;
}
