/**
 * The function agents' API (agent token, only functions of its appkeys; admin token: all),
 * docs/functions-runtime.md "Agent ↔ control":
 * - GET /v1/agents/functions/assignments?node=&index=&wait= — what the node should run, as a
 *   Consul-style blocking query: 200 as soon as the node's assignments index differs from
 *   `index` (at once when it already does), 304 when `wait` ends first.
 * - GET /v1/agents/functions/bundles/{sha256} — a version's modules (base64), 404 unless a
 *   version of the token's appkeys uses the bundle.
 * - POST /v1/agents/functions/report — the node's whole set of instances and their load; a
 *   change of what gateways route to is a configuration write whose revision is returned
 *   (config/function-instances.ts).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { applyNodeReport } from "../config/function-instances.ts";
import type { ConfigDeps } from "../config/write.ts";
import { functionBundles } from "../db/schema.ts";
import { decodeBundle, MODULE_TYPES } from "../functions/bundle.ts";
import { REPORT_INTERVAL_MS } from "../functions/lease.ts";
import type { ReadyAddress } from "../functions/scaler/ready.ts";
import type { FunctionRuntime } from "../functions/scaler/runtime.ts";
import { bundleUsedBy, refKey, resolveVersions } from "../functions/version-refs.ts";
import type { FunctionMetrics } from "../metrics/function-metrics.ts";
import { badRequest } from "./errors.ts";
import { appkeyField, indexField, instanceHostField, labelField, nameField, portField, waitField } from "./fields.ts";
import { type ApiApp, type ApiEnv, BEARER, errors, json, jsonBody } from "./openapi.ts";
import { INDEX_HEADER } from "./registry-deps.ts";
import { actorOf, requireScope } from "./scope.ts";

/** Most instances one node may report. */
export const MAX_NODE_INSTANCES = 1000;
/** Longest error text kept of a failed instance, characters. */
export const MAX_INSTANCE_ERROR_CHARS = 4096;

/** Node names: as group names (a host name or any short label). */
const nodeField = nameField;
const msField = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable();
const amount = z.number().nonnegative().max(1e12);

const ReportedInstanceSchema = z.strictObject({
  key: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, "must be 1–128 characters of A-Z a-z 0-9 . _ : -"),
  appkey: appkeyField,
  function: nameField,
  version: z.number().int().min(1).max(2_147_483_647),
  host: instanceHostField,
  port: portField,
  state: z.enum(["starting", "ready", "draining", "failed"]),
  error: z.string().max(MAX_INSTANCE_ERROR_CHARS).nullable().default(null),
  startedAtMs: msField.default(null),
  readyAtMs: msField.default(null),
  coldStartMs: z.number().nonnegative().max(3_600_000).nullable().default(null),
  /** Requests in flight at the report. */
  inFlight: amount.default(0),
  /** Time-weighted average in flight over intervalMs. */
  concurrency: amount.default(0),
  /** Requests answered in the interval. */
  requests: amount.default(0),
  /** Requests the queue-proxy refused (overflow) in the interval. */
  rejected: amount.default(0),
  /** Unexpected exits of this instance's process in the interval. */
  crashes: amount.default(0),
});

const ReportSchema = z
  .strictObject({
    node: nodeField,
    intervalMs: z.number().int().min(100).max(60_000),
    zone: labelField.default(""),
    region: labelField.default(""),
    cell: labelField.default(""),
    lane: labelField.default(""),
    instances: z.array(ReportedInstanceSchema).max(MAX_NODE_INSTANCES),
  })
  .superRefine((report, ctx) => {
    const seen = new Set<string>();
    report.instances.forEach((instance, i) => {
      if (seen.has(instance.key))
        ctx.addIssue({ code: "custom", path: ["instances", i, "key"], message: `"${instance.key}" is reported twice` });
      seen.add(instance.key);
    });
  })
  .openapi("FunctionNodeReport");

const AssignmentSchema = z.object({
  appkey: z.string(),
  function: z.string(),
  version: z.number().int(),
  desired: z.number().int(),
  sha256: z.string(),
  main: z.string(),
  compatibilityDate: z.string(),
  env: z.record(z.string(), z.string()),
  allowOutbound: z.boolean(),
  containerConcurrency: z.number().int(),
});

const AssignmentsSchema = z
  .object({
    /** Opaque; send it back as `index` to wait for a change. */
    index: z.string(),
    /** How often to report load, ms. */
    reportIntervalMs: z.number().int(),
    assignments: z.array(AssignmentSchema),
  })
  .openapi("FunctionAssignments");

const assignmentsRoute = createRoute({
  method: "get",
  path: "/v1/agents/functions/assignments",
  tags: ["functions"],
  security: BEARER,
  description: "What a node should run (agent token: functions of its appkeys). Long poll: index + wait, 304 when nothing changed.",
  request: {
    query: z.strictObject({
      node: nodeField,
      index: indexField.optional().openapi({ description: "The index the agent has" }),
      wait: waitField.optional().openapi({ description: "Hold up to this long for a change (needs index)" }),
    }),
  },
  responses: {
    200: json(AssignmentsSchema, "The node's assignments"),
    304: { description: "Nothing changed since index within wait" },
    ...errors(400),
  },
});

const bundleRoute = createRoute({
  method: "get",
  path: "/v1/agents/functions/bundles/{sha256}",
  tags: ["functions"],
  security: BEARER,
  request: { params: z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits") }) },
  responses: {
    200: json(
      z
        .object({ sha256: z.string(), modules: z.array(z.object({ name: z.string(), type: z.enum(MODULE_TYPES), content: z.string() })) })
        .openapi("FunctionAgentBundle"),
      "The bundle's modules, content base64, sorted by name",
    ),
    ...errors(400, 404),
  },
});

const reportRoute = createRoute({
  method: "post",
  path: "/v1/agents/functions/report",
  tags: ["functions"],
  security: BEARER,
  description:
    "A node's whole set of function instances and their load. revision names the configuration write when what gateways " +
    "route to changed (follow it with GET /v1/propagation), else null.",
  request: jsonBody(ReportSchema),
  responses: {
    200: json(z.object({ revision: z.number().int().nullable() }).openapi("FunctionReportResult"), "Recorded"),
    ...errors(400, 403),
  },
});

/** What the agent endpoints need. */
export interface FunctionAgentDeps extends ConfigDeps {
  functions: FunctionRuntime;
  metrics?: { functions: FunctionMetrics };
}

/** The appkeys the request's token covers; null for the admin token (all). */
function scopeOf(c: Context<ApiEnv>): ReadonlySet<string> | null {
  return c.var.role === "agent" ? (c.var.agent?.appkeys ?? new Set()) : null;
}

/** Registers the three agent endpoints on `app`. */
export function addFunctionAgentRoutes(app: ApiApp, deps: FunctionAgentDeps): void {
  const runtime = deps.functions;

  app.openapi(assignmentsRoute, async (c) => {
    const { node, index, wait } = c.req.valid("query");
    if (wait !== undefined && index === undefined)
      throw badRequest("wait needs index", [{ path: "wait", message: "needs index", in: "query" }]);
    const current =
      index !== undefined && wait !== undefined && wait > 0
        ? await runtime.board.wait(node, index, wait + Math.floor(Math.random() * (wait / 16)), c.req.raw.signal)
        : runtime.board.get(node);
    if (current === null || (index !== undefined && current.index === index)) {
      return new Response(null, { status: 304, headers: { [INDEX_HEADER]: String(index) } });
    }
    const scope = scopeOf(c);
    c.header(INDEX_HEADER, String(current.index));
    return c.json(
      {
        index: String(current.index),
        reportIntervalMs: REPORT_INTERVAL_MS,
        assignments: current.assignments.filter((a) => scope === null || scope.has(a.appkey)),
      },
      200,
    );
  });

  app.openapi(bundleRoute, async (c) => {
    const { sha256 } = c.req.valid("param");
    const scope = scopeOf(c);
    const [bundle] = await deps.db.select().from(functionBundles).where(eq(functionBundles.sha256, sha256));
    if (!bundle || !(await bundleUsedBy(deps.db, sha256, scope === null ? null : [...scope]))) {
      return c.json({ error: "not_found", message: `no function version of this token's services uses bundle ${sha256}` }, 404);
    }
    const modules = decodeBundle(bundle.bytes).map((m) => ({
      name: m.name,
      type: m.type,
      content: Buffer.from(m.content).toString("base64"),
    }));
    return c.json({ sha256, modules }, 200);
  });

  app.openapi(reportRoute, async (c) => {
    const report = c.req.valid("json");
    for (const instance of report.instances) requireScope(c, instance.appkey);
    const nowMs = runtime.now();
    const versions = await resolveVersions(deps.db, report.instances);
    const outcome = await applyNodeReport(deps, actorOf(c), report, versions, nowMs);
    runtime.nodes.record({
      name: report.node,
      appkeys: scopeOf(c),
      lastReportMs: nowMs,
      zone: report.zone,
      region: report.region,
      cell: report.cell,
      lane: report.lane,
    });
    const newlyReady = new Set(outcome.newlyReady);
    // Committed: held activations of these versions may send to them now (functions/scaler/ready.ts).
    const readyByVersion = new Map<number, ReadyAddress[]>();
    for (const instance of report.instances) {
      const version = versions.get(refKey(instance));
      if (!version || !newlyReady.has(instance.key)) continue;
      readyByVersion.set(version.id, [...(readyByVersion.get(version.id) ?? []), { host: instance.host, port: instance.port }]);
    }
    for (const [versionId, instances] of readyByVersion) runtime.ready.announce(versionId, instances);
    const metrics = deps.metrics?.functions;
    if (metrics) {
      for (const instance of report.instances) {
        if (!versions.has(refKey(instance))) continue;
        metrics.countReport(instance, instance);
        if (newlyReady.has(instance.key) && instance.coldStartMs !== null) metrics.observeColdStart(instance, instance.coldStartMs);
      }
    }
    if (outcome.failedVersions.length > 0)
      deps.logger.warn({ versions: outcome.failedVersions, node: report.node }, "function versions failed to start");
    return c.json({ revision: outcome.revision }, 200);
  });
}
