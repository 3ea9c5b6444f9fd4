/**
 * Renders a control's metrics registry in the Prometheus text format 0.0.4 or in OpenMetrics
 * 1.0.0, and chooses between them from an `Accept` header.
 *
 * prom-client binds the format to the registry and, when rendering OpenMetrics, renames each
 * counter in place (`x_total` → `x`, its samples then printed as `x_total`). The registry is
 * shared by both formats here, so renders are serialised and every metric name is restored after
 * an OpenMetrics render.
 */
import { Registry, type RegistryContentType } from "prom-client";

export type ExpositionFormat = "prometheus" | "openmetrics";

/** `text/plain; version=0.0.4; charset=utf-8` */
export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;
/** `application/openmetrics-text; version=1.0.0; charset=utf-8` */
export const OPENMETRICS_CONTENT_TYPE = Registry.OPENMETRICS_CONTENT_TYPE;

/**
 * OpenMetrics when `accept` lists `application/openmetrics-text` with q > 0 and no version or
 * version 1.0.0 (what Prometheus sends); otherwise the text format 0.0.4.
 */
export function formatFor(accept: string | undefined): ExpositionFormat {
  for (const range of (accept ?? "").split(",")) {
    const [type, ...params] = range.split(";").map((part) => part.trim().toLowerCase());
    if (type !== "application/openmetrics-text") continue;
    let q = 1;
    let version: string | undefined;
    for (const param of params) {
      const [key, value] = param.split("=").map((s) => s.trim());
      if (key === "q") q = Number(value);
      if (key === "version") version = value;
    }
    if (q > 0 && (version === undefined || version === "1.0.0")) return "openmetrics";
  }
  return "prometheus";
}

/** A registry whose format can be switched (control/metrics/registry.ts creates them so). */
export type SwitchableRegistry = Registry<RegistryContentType>;

const queues = new WeakMap<SwitchableRegistry, Promise<unknown>>();

/**
 * The registry's exposition in `format`.
 * @returns the body and its Content-Type.
 */
export function render(registry: SwitchableRegistry, format: ExpositionFormat): Promise<{ body: string; contentType: string }> {
  const previous = queues.get(registry) ?? Promise.resolve();
  const next = previous.catch(() => {}).then(() => renderNow(registry, format));
  queues.set(registry, next);
  return next;
}

async function renderNow(registry: SwitchableRegistry, format: ExpositionFormat): Promise<{ body: string; contentType: string }> {
  if (format === "prometheus") return { body: await registry.metrics(), contentType: PROMETHEUS_CONTENT_TYPE };
  const names = registry.getMetricsAsArray().map((metric) => [metric, metric.name] as const);
  registry.setContentType(OPENMETRICS_CONTENT_TYPE);
  try {
    return { body: await registry.metrics(), contentType: OPENMETRICS_CONTENT_TYPE };
  } finally {
    registry.setContentType(PROMETHEUS_CONTENT_TYPE);
    for (const [metric, name] of names) (metric as { name: string }).name = name;
  }
}
