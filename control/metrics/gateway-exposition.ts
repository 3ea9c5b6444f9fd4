/**
 * The gateway's series (gateway-telemetry.ts) as prom-client metric objects, so the control
 * registry renders them with its own in both exposition formats (exposition.ts). prom-client
 * renders any registered object whose `get()` returns `{name, help, type, values: [{labels,
 * value, metricName?}], aggregator}` (prom-client lib/registry.js getMetricsAsString); for a
 * counter it writes the samples under the family name, and under OpenMetrics it strips `_total`
 * from the family and appends it to the samples, as it does for its own counters.
 *
 * `http_server_request_duration_seconds` is one family holding both control's own API
 * histogram (labels http_route, …) and the gateway's (route, group, …): an exposition may have
 * only one HELP/TYPE per name, so the family object concatenates the samples of control's
 * histogram (created unregistered) with the gateway's.
 */
import type { Histogram, Metric, Registry, RegistryContentType } from "prom-client";
import type { CounterSeries, HistogramSeries, Labels } from "./gateway-series.ts";
import type { GatewayTelemetry } from "./gateway-telemetry.ts";

/** One sample line: `metricName{labels} value` (metricName defaults to the family name). */
export interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

type FamilyType = "counter" | "gauge" | "histogram";

/**
 * A metric object prom-client's Registry renders like its own (see the module comment).
 * @param samples called at each scrape.
 */
export function familyMetric(name: string, help: string, type: FamilyType, samples: () => Sample[] | Promise<Sample[]>): Metric {
  const family = {
    name,
    help,
    type,
    aggregator: "sum",
    async get() {
      return { name: family.name, help, type, aggregator: "sum", values: await samples() };
    },
    reset() {},
  };
  return family as unknown as Metric;
}

/**
 * Prometheus histogram samples of `series` (stored per bucket): cumulative `<name>_bucket{le}`
 * for every bound and +Inf, then `<name>_sum` and `<name>_count`, per series as prom-client
 * orders its own.
 */
export function histogramSamples(name: string, boundsSeconds: readonly number[], series: readonly HistogramSeries[]): Sample[] {
  const samples: Sample[] = [];
  for (const s of series) {
    let cumulative = 0;
    boundsSeconds.forEach((le, i) => {
      cumulative += s.buckets[i];
      samples.push({ labels: { ...s.labels, le }, value: cumulative, metricName: `${name}_bucket` });
    });
    samples.push({ labels: { ...s.labels, le: "+Inf" }, value: s.count, metricName: `${name}_bucket` });
    samples.push({ labels: s.labels, value: s.sum, metricName: `${name}_sum` });
    samples.push({ labels: s.labels, value: s.count, metricName: `${name}_count` });
  }
  return samples;
}

function counterSamples(series: readonly CounterSeries[]): Sample[] {
  return series.map((s) => ({ labels: s.labels, value: s.value }));
}

/**
 * Registers every gateway family in `registry`, and `http_server_request_duration_seconds` as the
 * one family of control's `controlHttp` histogram (which must not be registered itself) and the
 * gateway's requests. Series, types and labels: docs/metrics.md, "Gateway metrics".
 */
export function registerGatewayFamilies(
  registry: Registry<RegistryContentType>,
  telemetry: GatewayTelemetry,
  controlHttp: Histogram<string>,
  boundsSeconds: readonly number[],
): void {
  const { series } = telemetry;
  const gauges = () => telemetry.gauges.read(telemetry.now());
  const families = [
    familyMetric(
      "http_server_request_duration_seconds",
      "Duration of HTTP server requests, seconds (OpenTelemetry http.server.request.duration): control API requests " +
        "(http_route, http_request_method, http_response_status_code) and gateway requests pushed by its isolates " +
        "(route, group, function_version, method, status_class).",
      "histogram",
      async () => [
        ...((await controlHttp.get()).values as Sample[]),
        ...histogramSamples("http_server_request_duration_seconds", boundsSeconds, series.histogram("requests")),
      ],
    ),
    familyMetric(
      "http_client_request_duration_seconds",
      "Duration of the gateway's upstream attempts, seconds (OpenTelemetry http.client.request.duration).",
      "histogram",
      () => histogramSamples("http_client_request_duration_seconds", boundsSeconds, series.histogram("attempts")),
    ),
    familyMetric("sluice_upstream_attempts_total", "Upstream attempts by the gateway, by group, instance and outcome.", "counter", () =>
      series.histogram("attempts").map((s) => ({ labels: s.labels, value: s.count })),
    ),
    familyMetric("sluice_retries_total", "Retries by the gateway (attempts after the first), by route and group.", "counter", () =>
      counterSamples(series.counter("sluice_retries_total")),
    ),
    familyMetric("sluice_panic_total", "Gateway balancing decisions made in panic (fail open), by route and group.", "counter", () =>
      counterSamples(series.counter("sluice_panic_total")),
    ),
    familyMetric("sluice_outlier_ejections_total", "Outlier ejections by gateway isolates, by group and instance.", "counter", () =>
      counterSamples(series.counter("sluice_outlier_ejections_total")),
    ),
    familyMetric("sluice_admission_overflow_total", "Requests the gateway refused at a group's admission limit, by group.", "counter", () =>
      counterSamples(series.counter("sluice_admission_overflow_total")),
    ),
    familyMetric("sluice_condition_errors_total", "Routing conditions that errored in the gateway, by route.", "counter", () =>
      counterSamples(series.counter("sluice_condition_errors_total")),
    ),
    familyMetric(
      "sluice_gateway_dropped_series_total",
      "Gateway observations dropped at a series cap (the isolate's, or control's MAX_GATEWAY_SERIES).",
      "counter",
      () => [{ labels: {}, value: series.droppedSeries }],
    ),
    familyMetric("http_server_active_requests", "Requests in progress in live gateway isolates.", "gauge", () => [
      { labels: {}, value: gauges().activeRequests },
    ]),
    familyMetric("sluice_gateways", "Live gateway isolates (pushed metrics recently).", "gauge", () => [
      { labels: {}, value: gauges().gateways },
    ]),
    familyMetric("sluice_outlier_ejected", "Live gateway isolates holding an instance ejected, by group and instance.", "gauge", () =>
      gauges().ejected.map((t) => ({ labels: instanceLabels(t), value: t.isolates })),
    ),
    familyMetric(
      "sluice_circuit_breaker_open",
      "Live gateway isolates with an instance's circuit breaker open, by group and instance.",
      "gauge",
      () => gauges().breakerOpen.map((t) => ({ labels: instanceLabels(t), value: t.isolates })),
    ),
    familyMetric("sluice_gateway_snapshot_version", "Snapshot version each live gateway isolate serves.", "gauge", () =>
      gauges().snapshots.flatMap((s) => (s.version === null ? [] : [{ labels: isolateLabels(s), value: Number(s.version) }])),
    ),
    familyMetric(
      "sluice_gateway_snapshot_age_seconds",
      "Seconds since control last confirmed a live gateway isolate's snapshot is the latest.",
      "gauge",
      () => gauges().snapshots.flatMap((s) => (s.ageSeconds === null ? [] : [{ labels: isolateLabels(s), value: s.ageSeconds }])),
    ),
  ];
  for (const family of families) registry.registerMetric(family);
}

function instanceLabels(t: { group: string; instance: string }): Labels {
  const labels: Labels = {};
  if (t.group !== "") labels.group = t.group;
  if (t.instance !== "") labels.instance = t.instance;
  return labels;
}

function isolateLabels(s: { gateway: string; slot: number | null }): Labels {
  return s.slot === null ? { gateway: s.gateway } : { gateway: s.gateway, slot: String(s.slot) };
}
