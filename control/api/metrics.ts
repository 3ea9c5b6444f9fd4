/**
 * The control API's side of its metrics (control/metrics/): the middleware that times every
 * request into `http_server_request_duration_seconds`, and GET /metrics, the exposition a
 * Prometheus server scrapes (metrics or admin token: auth.ts). GET /metrics is not under /v1 and
 * not in the OpenAPI document; docs/metrics.md describes it.
 */
import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { formatFor, render } from "../metrics/exposition.ts";
import type { ControlMetrics } from "../metrics/registry.ts";
import { METRICS_PATH } from "./auth.ts";
import type { ApiApp } from "./openapi.ts";

/** `http_route` of a request no route matched. */
export const UNMATCHED_ROUTE = "unmatched";

/** Methods kept as they are in `http_request_method`; any other is `_OTHER` (OTel HTTP conventions). */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]);

/**
 * Times each request, from this middleware to the response being set, into
 * `http_server_request_duration_seconds`. Register it first, so requests refused by later
 * middleware (401, 413) and the probes are timed too.
 */
export function timeRequests(metrics: ControlMetrics): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const method = c.req.method.toUpperCase();
      metrics.httpRequestDuration.observe(
        {
          http_route: routeTemplate(matchedRoutes(c)),
          http_request_method: KNOWN_METHODS.has(method) ? method : "_OTHER",
          http_response_status_code: String(c.res.status),
        },
        (performance.now() - started) / 1000,
      );
    }
  };
}

/**
 * The route template that answers: the first matched route registered for a method (a handler,
 * e.g. `/v1/services/:appkey`), skipping middleware (`app.use`, method `ALL`).
 */
function routeTemplate(routes: readonly { method: string; path: string }[]): string {
  for (const route of routes) if (route.method !== "ALL") return route.path;
  return UNMATCHED_ROUTE;
}

/**
 * Registers GET /metrics: the registry in the Prometheus text format 0.0.4, or OpenMetrics 1.0.0
 * when the Accept header asks for `application/openmetrics-text` (exposition.ts formatFor).
 */
export function addMetricsRoute(app: ApiApp, metrics: ControlMetrics): void {
  app.get(METRICS_PATH, async (c) => {
    const { body, contentType } = await render(metrics.registry, formatFor(c.req.header("accept")));
    c.header("Cache-Control", "no-store");
    return c.body(body, 200, { "Content-Type": contentType });
  });
}
