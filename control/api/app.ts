/**
 * The control REST API: wires authentication, body limits, error rendering, the resource routes
 * and the OpenAPI 3.1 document (GET /v1/openapi.json) into one Hono app.
 *
 * Access: /healthz and /readyz are open; GET /v1/snapshot, POST /v1/gateway/metrics and POST
 * /v1/gateway/activations take the gateway or admin token; GET /metrics and GET /v1/metrics/history take the metrics or admin token; /v1/registry/*, /v1/agents/functions/*, GET /v1/propagation and GET /v1/config/fetch|watch take an agent token
 * (scoped to its appkeys) or the admin token; every other path takes the admin token only (fail
 * closed: see isAllowed in auth.ts). Every request is timed into control's metrics (metrics.ts).
 */
import { type Logger, pino } from "pino";
import type { FetchText } from "../config/jwt-keys.ts";
import type { OnChange } from "../config/write.ts";
import { loadDelivery } from "../config-center/store.ts";
import { ConfigWatchHub } from "../config-center/watch-hub.ts";
import { type Database, databaseReachable, isDatabaseUnavailable } from "../db/connect.ts";
import { recordGatewayLoad } from "../functions/scaler/gateway-load.ts";
import { createFunctionRuntime, type FunctionRuntime } from "../functions/scaler/runtime.ts";
import { type ControlMetrics, createControlMetrics } from "../metrics/registry.ts";
import { RecoveryQueue } from "../registry/recoveries.ts";
import { createRegistryRuntime, type RegistryRuntime } from "../registry/runtime.ts";
import { addAgentTokenRoutes } from "./agent-tokens.ts";
import { type ApiTokens, bearerToken, createTokenChecker, isAllowed, METRICS_PATH, type Role, unauthorized } from "./auth.ts";
import { capBody } from "./body-limit.ts";
import { addConfigDeliveryRoutes } from "./config-delivery.ts";
import { addConfigGrayRoutes } from "./config-gray.ts";
import { addConfigNamespaceRoutes } from "./config-namespaces.ts";
import { addConfigReleaseRoutes } from "./config-releases.ts";
import { addConsumerRoutes } from "./consumers.ts";
import { DATABASE_RETRY_AFTER_S, renderError } from "./errors.ts";
import { addEventRoutes } from "./events.ts";
import { addFunctionActivationRoute } from "./function-activations.ts";
import { addFunctionAgentRoutes } from "./function-agents.ts";
import { addFunctionCodeRoute } from "./function-code.ts";
import { addFunctionTrafficRoutes } from "./function-traffic.ts";
import { addFunctionVersionRoutes, VERSION_UPLOAD_BODY_BYTES, VERSION_UPLOAD_PATH } from "./function-versions.ts";
import { addFunctionRoutes } from "./functions.ts";
import { addGatewayMetricsRoutes } from "./gateway-metrics.ts";
import { addGroupRoutes } from "./groups.ts";
import { addHeartbeatRoute } from "./heartbeats.ts";
import { addInstanceRoutes } from "./instances.ts";
import { addMetricsRoute, timeRequests } from "./metrics.ts";
import { type ApiApp, createApiApp } from "./openapi.ts";
import { addPolicyRoutes } from "./policies.ts";
import { addPropagationRoutes } from "./propagation.ts";
import { addRegistryInstanceRoutes } from "./registry-instances.ts";
import { addRegistryWatchRoute } from "./registry-watch.ts";
import { addRevisionRoutes } from "./revisions.ts";
import { addRouteRoutes } from "./routes.ts";
import { addServiceRoutes } from "./services.ts";
import { addSnapshotRoute, type GetSnapshot, type WaitForSnapshot } from "./snapshot.ts";
import { refuseUnstorableText } from "./text-guard.ts";
import { addTrafficCutRoutes } from "./traffic-cuts.ts";

/** Largest accepted request body: 10 000 graylist entries of 256 chars fit (RFC: cap parsing). */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface CreateAppOptions {
  db: Database;
  /** Bearer tokens, e.g. from resolveTokens(). */
  auth: ApiTokens;
  /** Called after every committed write with its revision id (rebuild the snapshot). */
  onChange?: OnChange;
  /** The snapshot GET /v1/snapshot serves; null until one is built. */
  getSnapshot: GetSnapshot;
  /** Long polls on GET /v1/snapshot block on this (the builder's waitForNewer); without it they do not block. */
  waitForSnapshot?: WaitForSnapshot;
  /** The replica's registry state (startControl shares it with the sweeper); created if absent. */
  registry?: RegistryRuntime;
  /** Defaults to a pino logger named `sluice-control`. */
  logger?: Logger;
  /** This replica's id (startControl's), sent with write notifications (ConfigDeps.origin). */
  replicaId?: string;
  /** Control's metrics (startControl shares them with the snapshot builder); created if absent. */
  metrics?: ControlMetrics;
  /** The function runtime (nodes, assignments, scaler) startControl shares with its scaler; created if absent. */
  functions?: FunctionRuntime;
  /**
   * Called after a write that changes which function instances gateways route to (a cold start
   * waits on it): rebuild without the debounce. Defaults to onChange.
   */
  onUrgentChange?: OnChange;
  /**
   * The config center's held watches (startControl shares it with its `sluice_config` listener);
   * created if absent, re-checking every `configWatchRecheckMs`.
   */
  configWatch?: ConfigWatchHub;
  /** Period of the config watches' re-check when the app creates its hub, ms (default CONFIG_WATCH_RECHECK_MS). */
  configWatchRecheckMs?: number;
  /** How consumers' JWKS URLs are fetched at admission (default: fetch with a timeout; tests substitute it). */
  fetchJwks?: FetchText;
}

/**
 * Builds the API app. Serve it with @hono/node-server (`serve({fetch: app.fetch, port})`) or
 * drive it in tests with `app.request(path, init)`.
 */
export function createApp(options: CreateAppOptions): ApiApp {
  const logger = options.logger ?? pino({ name: "sluice-control" });
  const registry = options.registry ?? createRegistryRuntime(options.db, logger);
  const metrics = options.metrics ?? createControlMetrics({ instances: () => registry.view.entries() });
  const deps = {
    db: options.db,
    onChange: options.onChange ?? (() => {}),
    logger,
    onCommitted: registry.applyChange,
    origin: options.replicaId,
    registry,
    metrics,
  };
  registry.recoveries ??= new RecoveryQueue(deps, registry.view, logger);
  const functions = options.functions ?? createFunctionRuntime();
  const configWatch =
    options.configWatch ??
    new ConfigWatchHub({
      load: (appkey, env, names) => loadDelivery(options.db, appkey, env, names),
      logger,
      recheckMs: options.configWatchRecheckMs,
    });
  const roleOf = createTokenChecker(options.auth);
  const app = createApiApp();

  app.onError((error, c) => {
    if (isDatabaseUnavailable(error)) metrics.databaseErrors.inc({ source: "api_request" });
    return renderError(error, c, logger);
  });
  app.notFound((c) => c.json({ error: "not_found", message: `no route for ${c.req.method} ${c.req.path}` }, 404));
  app.use("*", timeRequests(metrics));

  // Liveness: the process answers. Readiness: it can also reach its database (Kubernetes probes).
  app.get("/healthz", (c) => c.json({ ok: true }));
  app.get("/readyz", async (c) => {
    const database = await databaseReachable(options.db);
    if (database === "up") return c.json({ ok: true, database });
    metrics.databaseErrors.inc({ source: "readiness_check" });
    c.header("Retry-After", String(DATABASE_RETRY_AFTER_S));
    return c.json({ ok: false, database, error: "database_unavailable" }, 503);
  });

  app.use("*", async (c, next) => {
    if (c.req.path === "/healthz" || c.req.path === "/readyz") return next();
    const header = c.req.header("authorization");
    let role: Role | null = roleOf(header);
    let agent = null;
    if (!role) {
      const token = bearerToken(header);
      if (token) {
        await registry.ready();
        agent = registry.agentTokens.find(token);
        if (agent) role = "agent";
      }
    }
    if (!role) return unauthorized(c, "missing or invalid bearer token");
    if (!isAllowed(role, c.req.method, c.req.path)) {
      return unauthorized(
        c,
        role === "agent"
          ? "agent tokens may use /v1/registry/*, /v1/agents/functions/*, /v1/propagation and /v1/config/fetch|watch only"
          : "this endpoint needs the admin token",
      );
    }
    c.set("role", role);
    c.set("agent", agent);
    // The gateway's snapshot and metrics push and the scraper's metrics are served from memory, database or not.
    if (role !== "gateway" && role !== "metrics" && c.req.path !== METRICS_PATH) await registry.ready();
    return next();
  });
  const capFor = (maxBytes: number) =>
    capBody(maxBytes, (c) => c.json({ error: "payload_too_large", message: `request body over ${maxBytes} bytes` }, 413));
  const capAny = capFor(MAX_BODY_BYTES);
  // A function version upload carries up to MAX_BUNDLE_BYTES of code in base64.
  const capUpload = capFor(VERSION_UPLOAD_BODY_BYTES);
  app.use("*", (c, next) => (VERSION_UPLOAD_PATH.test(c.req.path) ? capUpload(c, next) : capAny(c, next)));
  app.use("*", refuseUnstorableText());

  addServiceRoutes(app, deps);
  addGroupRoutes(app, deps);
  addInstanceRoutes(app, deps);
  addPolicyRoutes(app, deps);
  addRouteRoutes(app, deps);
  addConsumerRoutes(app, deps, options.fetchJwks);
  addTrafficCutRoutes(app, deps);
  addFunctionRoutes(app, deps);
  addFunctionVersionRoutes(app, deps);
  addFunctionCodeRoute(app, deps);
  addFunctionTrafficRoutes(app, deps);
  addRevisionRoutes(app, deps);
  const configDeps = { ...deps, configWatch };
  addConfigNamespaceRoutes(app, configDeps);
  addConfigReleaseRoutes(app, configDeps);
  addConfigGrayRoutes(app, configDeps);
  addConfigDeliveryRoutes(app, configDeps);
  addSnapshotRoute(app, options.getSnapshot, {
    waitForSnapshot: options.waitForSnapshot,
    tracker: registry.tracker,
    onServedReport: (gatewayId, version) => {
      const lag = metrics.gateway.propagationLag.served(gatewayId, BigInt(version), metrics.gateway.now());
      if (lag !== null) metrics.snapshotPropagation.observe(lag);
    },
  });
  addAgentTokenRoutes(app, deps, registry.agentTokens);
  addRegistryInstanceRoutes(app, deps);
  addRegistryWatchRoute(app, deps);
  addHeartbeatRoute(app, deps);
  addPropagationRoutes(app, deps);
  addEventRoutes(app, deps);
  addMetricsRoute(app, metrics);
  addGatewayMetricsRoutes(app, metrics.gateway, (push) =>
    recordGatewayLoad({ db: options.db, logger, metrics: metrics.functions }, push, functions.now()),
  );
  addFunctionAgentRoutes(app, { ...deps, onChange: options.onUrgentChange ?? deps.onChange, functions });
  addFunctionActivationRoute(app, { db: options.db, functions });

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer" });
  app.doc31("/v1/openapi.json", {
    openapi: "3.1.0",
    info: { title: "Sluice control API", version: "1" },
  });
  return app;
}
