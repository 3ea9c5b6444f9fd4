/**
 * The control REST API: wires authentication, body limits, error rendering, the resource routes
 * and the OpenAPI 3.1 document (GET /v1/openapi.json) into one Hono app.
 *
 * Access: /healthz is open; GET /v1/snapshot takes the gateway or admin token; every other path
 * takes the admin token only (fail closed: a path the auth rule does not know needs admin).
 */
import { bodyLimit } from "hono/body-limit";
import { type Logger, pino } from "pino";
import type { Database } from "../db/connect.ts";
import { type ApiTokens, createTokenChecker, unauthorized } from "./auth.ts";
import { renderError } from "./errors.ts";
import { addGroupRoutes } from "./groups.ts";
import { addInstanceRoutes } from "./instances.ts";
import { type ApiApp, createApiApp } from "./openapi.ts";
import { addPolicyRoutes } from "./policies.ts";
import { addRevisionRoutes } from "./revisions.ts";
import { addRouteRoutes } from "./routes.ts";
import { addServiceRoutes } from "./services.ts";
import { addSnapshotRoute, type GetSnapshot } from "./snapshot.ts";
import type { OnChange } from "./write.ts";

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
  /** Defaults to a pino logger named `sluice-control`. */
  logger?: Logger;
}

/**
 * Builds the API app. Serve it with @hono/node-server (`serve({fetch: app.fetch, port})`) or
 * drive it in tests with `app.request(path, init)`.
 */
export function createApp(options: CreateAppOptions): ApiApp {
  const logger = options.logger ?? pino({ name: "sluice-control" });
  const deps = { db: options.db, onChange: options.onChange ?? (() => {}), logger };
  const roleOf = createTokenChecker(options.auth);
  const app = createApiApp();

  app.onError((error, c) => renderError(error, c, logger));
  app.notFound((c) => c.json({ error: "not_found", message: `no route for ${c.req.method} ${c.req.path}` }, 404));

  app.get("/healthz", (c) => c.json({ ok: true }));

  app.use("*", async (c, next) => {
    if (c.req.path === "/healthz") return next();
    const role = roleOf(c.req.header("authorization"));
    if (!role) return unauthorized(c, "missing or invalid bearer token");
    const snapshotRead = c.req.path === "/v1/snapshot" && (c.req.method === "GET" || c.req.method === "HEAD");
    if (role !== "admin" && !snapshotRead) return unauthorized(c, "this endpoint needs the admin token");
    c.set("role", role);
    return next();
  });
  app.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.json({ error: "payload_too_large", message: `request body over ${MAX_BODY_BYTES} bytes` }, 413),
    }),
  );

  addServiceRoutes(app, deps);
  addGroupRoutes(app, deps);
  addInstanceRoutes(app, deps);
  addPolicyRoutes(app, deps);
  addRouteRoutes(app, deps);
  addRevisionRoutes(app, deps);
  addSnapshotRoute(app, options.getSnapshot);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer" });
  app.doc31("/v1/openapi.json", {
    openapi: "3.1.0",
    info: { title: "Sluice control API", version: "1" },
  });
  return app;
}
