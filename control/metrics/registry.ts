/**
 * Control's own metrics: every metric control exposes on GET /metrics is declared here, once, in
 * a prom-client Registry per control instance (never prom-client's global default registry, so
 * several controls in one process, as in the tests, keep separate counts).
 *
 * Names follow the Prometheus naming conventions (base unit in the name, `_total` on counters)
 * and, for HTTP, the OpenTelemetry HTTP semantic conventions (metric `http.server.request.duration`,
 * attributes `http.route`, `http.request.method`, `http.response.status_code`, with dots as
 * underscores). No label takes an unbounded value: no raw path, client address or token.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry, type RegistryContentType } from "prom-client";
import { FunctionMetrics } from "./function-metrics.ts";
import { registerGatewayFamilies } from "./gateway-exposition.ts";
import { GatewayTelemetry } from "./gateway-telemetry.ts";
import { PROPAGATION_BUCKETS_S } from "./propagation-lag.ts";

/**
 * Bucket bounds of `http_server_request_duration_seconds`, seconds: the OpenTelemetry HTTP
 * semantic conventions' explicit bucket boundaries for `http.server.request.duration`.
 */
export const HTTP_DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** Bucket bounds of `sluice_snapshot_build_duration_seconds`, seconds (a build takes ms to seconds). */
export const SNAPSHOT_BUILD_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Where a database-unavailable error was met (`sluice_database_errors_total{source}`). */
export type DatabaseErrorSource = "api_request" | "readiness_check" | "snapshot_build";

/** An instance as the registry gauge counts it (control/registry/view.ts RegistryEntry). */
export interface CountedInstance {
  healthy: boolean;
}

export interface ControlMetricsOptions {
  /** The instances of the registry, read at scrape time for `sluice_registry_instances`. */
  instances?: () => Iterable<CountedInstance>;
  /** Also collect prom-client's default process and Node.js metrics (default true). */
  processMetrics?: boolean;
  /** Clock of the gateway telemetry (gauge expiry, history minutes), ms since epoch; default Date.now. */
  now?: () => number;
}

export type HttpLabel = "http_route" | "http_request_method" | "http_response_status_code";

export interface ControlMetrics {
  /** Rendered in either exposition format (exposition.ts switches it per scrape). */
  registry: Registry<RegistryContentType>;
  /**
   * `http_server_request_duration_seconds` (histogram, seconds): time from the control API
   * receiving a request to its response being ready (headers; a streamed body is not included).
   * Labels: `http_route` (the matched route template, e.g. `/v1/services/:appkey`; `unmatched`
   * when no route matched), `http_request_method` (GET, POST, …; `_OTHER` for any other method),
   * `http_response_status_code` (the exact code). Semantics: OTel `http.server.request.duration`.
   * Not registered itself: the family of that name also holds the gateway's request series
   * (gateway-exposition.ts), so it is rendered through that family.
   */
  httpRequestDuration: Histogram<HttpLabel>;
  /**
   * The gateway metrics pushes received (POST /v1/gateway/metrics), summed into the gateway
   * families of this registry (gateway-exposition.ts; docs/metrics.md "Gateway metrics").
   */
  gateway: GatewayTelemetry;
  /**
   * `sluice_snapshot_propagation_seconds` (histogram, seconds): from this control publishing or
   * adopting a snapshot version to a gateway isolate first reporting that it serves it
   * (propagation-lag.ts decides what is observed). Buckets PROPAGATION_BUCKETS_S. No labels.
   */
  snapshotPropagation: Histogram;
  /**
   * `sluice_heartbeats_accepted_total` (counter, heartbeats): instance heartbeats recorded by
   * POST /v1/registry/heartbeats (a request carries up to 1000; refused beats, `not_found` or
   * `forbidden`, are not counted). No labels.
   */
  heartbeatsAccepted: Counter;
  /**
   * `sluice_snapshot_build_duration_seconds` (histogram, seconds): one rebuild that loaded and
   * compiled the configuration, from start to published (or to finding the content unchanged).
   * Rebuilds skipped because the served snapshot already covers the latest revision, and failed
   * rebuilds, are not observed. No labels.
   */
  snapshotBuildDuration: Histogram;
  /**
   * `sluice_snapshot_bytes` (gauge, bytes): size of the signed snapshot file this control serves
   * on GET /v1/snapshot (built here or adopted from another replica). Absent before the first.
   */
  snapshotBytes: Gauge;
  /**
   * `sluice_snapshot_version` (gauge, version number): snapshotVersion of the snapshot this
   * control serves (docs/snapshot-format.md). Absent before the first.
   */
  snapshotVersion: Gauge;
  /**
   * `sluice_registry_instances` (gauge, instances): instances in this replica's in-memory
   * registry, by the registry's health verdict; computed at scrape time. Label `health`:
   * `healthy` or `unhealthy` (both always present).
   */
  registryInstances: Gauge<"health">;
  /**
   * `sluice_database_errors_total` (counter, errors): errors that meant the database could not
   * be reached (control/db/connect.ts isDatabaseUnavailable; a readiness check answering
   * `down`). Label `source`: `api_request` (answered 503 database_unavailable),
   * `readiness_check` (GET /readyz), `snapshot_build` (a rebuild that will be retried).
   */
  databaseErrors: Counter<"source">;
  /**
   * The function runtime's metrics (function-metrics.ts; docs/metrics.md "Functions"):
   * `sluice_function_instances`, `sluice_function_panic`, `sluice_function_cold_start_seconds`,
   * `sluice_function_activation_seconds`, `sluice_function_buffered_requests`,
   * `sluice_function_instance_crashes_total`, `sluice_function_rejected_requests_total`.
   */
  functions: FunctionMetrics;
}

/** Creates a fresh registry with every control metric registered in it. */
export function createControlMetrics(options: ControlMetricsOptions = {}): ControlMetrics {
  const registry = new Registry<RegistryContentType>();
  const registers = [registry];
  const instances = options.instances;
  const httpRequestDuration = new Histogram({
    name: "http_server_request_duration_seconds",
    help: "Duration of control API requests, seconds (OpenTelemetry http.server.request.duration).",
    labelNames: ["http_route", "http_request_method", "http_response_status_code"],
    buckets: HTTP_DURATION_BUCKETS_S,
    registers: [],
  });
  const gateway = new GatewayTelemetry({ boundsSeconds: HTTP_DURATION_BUCKETS_S, now: options.now });
  registerGatewayFamilies(registry, gateway, httpRequestDuration, HTTP_DURATION_BUCKETS_S);
  const metrics: ControlMetrics = {
    registry,
    httpRequestDuration,
    gateway,
    snapshotPropagation: new Histogram({
      name: "sluice_snapshot_propagation_seconds",
      help: "Seconds from this control serving a snapshot version to a gateway isolate first reporting it serves it.",
      buckets: PROPAGATION_BUCKETS_S,
      registers,
    }),
    heartbeatsAccepted: new Counter({
      name: "sluice_heartbeats_accepted_total",
      help: "Instance heartbeats accepted by POST /v1/registry/heartbeats.",
      registers,
    }),
    snapshotBuildDuration: new Histogram({
      name: "sluice_snapshot_build_duration_seconds",
      help: "Duration of snapshot rebuilds that compiled the configuration, seconds.",
      buckets: SNAPSHOT_BUILD_BUCKETS_S,
      registers,
    }),
    snapshotBytes: new Gauge({
      name: "sluice_snapshot_bytes",
      help: "Size of the signed snapshot this control serves, bytes.",
      registers,
    }),
    snapshotVersion: new Gauge({
      name: "sluice_snapshot_version",
      help: "Version of the snapshot this control serves.",
      registers,
    }),
    registryInstances: new Gauge({
      name: "sluice_registry_instances",
      help: "Instances in this replica's registry, by health.",
      labelNames: ["health"],
      registers,
      collect() {
        let healthy = 0;
        let unhealthy = 0;
        for (const instance of instances?.() ?? []) {
          if (instance.healthy) healthy += 1;
          else unhealthy += 1;
        }
        this.set({ health: "healthy" }, healthy);
        this.set({ health: "unhealthy" }, unhealthy);
      },
    }),
    databaseErrors: new Counter({
      name: "sluice_database_errors_total",
      help: "Errors that meant the database could not be reached, by where they were met.",
      labelNames: ["source"],
      registers,
    }),
    functions: new FunctionMetrics(registry, HTTP_DURATION_BUCKETS_S, options.now),
  };
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  return metrics;
}
