/**
 * Starts what the benchmark measures, all on 127.0.0.1: the upstream (nginx `return 200` when
 * nginx is installed, else a Node child process), and the Sluice stacks (control in this process
 * + the gateway on a runtime, demo route and policy, optionally 49 more policies on the route).
 * Each start registers its stop functions with `defer` as soon as something runs, so a failure
 * half-way still stops it all.
 */
import { type ChildProcess, fork } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { seedDemo } from "../control/demo/seed.ts";
import { startControl } from "../control/server.ts";
import { type GatewayLaunch, type GatewayRuntime, startGateway } from "../worker/launcher/gateway.ts";
import type { Target, TargetKind } from "./load.ts";
import { startNginxUpstream } from "./nginx.ts";
import { DEMO_POLICY, type DualPolicy } from "./oceanus/policies.ts";
import { stopChild } from "./proc.ts";

/** Registers a stop function; the bench runs them in reverse order at exit, error or Ctrl-C. */
export type Defer = (stop: () => Promise<void>) => void;

/** The upstream every proxy ends at: `stable` and `canary` ports, each answering a body naming its group. */
export interface BenchUpstream {
  /** What it is, for the report. */
  kind: string;
  pids: number[];
  stablePort: number;
  canaryPort: number;
}

const UPSTREAM_SCRIPT = fileURLToPath(new URL("./upstream-process.ts", import.meta.url));

/** The next IPC message from `child` that has `key`. @throws when the child exits first. */
function nextMessage<T>(child: ChildProcess, key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (typeof message !== "object" || message === null || !(key in message)) return;
      child.off("exit", onExit);
      child.off("message", onMessage);
      resolve((message as Record<string, T>)[key]);
    };
    const onExit = (code: number | null) => {
      child.off("message", onMessage);
      reject(new Error(`bench upstream exited (code ${code})`));
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
}

/**
 * The upstream: nginx (one worker, `return 200`) when `nginxBin` is given, else
 * bench/upstream-process.ts (Node 24, as this process; slower, its CPU is reported apart).
 */
export async function startBenchUpstream(nginxBin: string | null, defer: Defer): Promise<BenchUpstream> {
  if (nginxBin) return { kind: "nginx return 200, 1 worker", ...(await startNginxUpstream(nginxBin, defer)) };
  const child = fork(UPSTREAM_SCRIPT, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  defer(() => stopChild(child));
  const [stablePort, canaryPort] = await nextMessage<number[]>(child, "ports");
  return { kind: "Node http server (nginx absent)", pids: [child.pid ?? -1], stablePort, canaryPort };
}

/** A control started by startSluiceControl: where gateways find it, and how many policies its route lists. */
export interface SluiceControl {
  url: string;
  gatewayToken: string;
  publicKey: string;
  policies: number;
  /** Row label suffix for gateways of this control (", key-auth + …"); "" for the plain demo route. */
  label: string;
}

/** Route plugins and consumers a bench control adds to the demo route (docs/edge-protection.md). */
export interface BenchEdge {
  /** Row label suffix, e.g. `key-auth + limit-count (local) + header rewrite`. */
  label: string;
  /** The demo route's `plugins`. */
  plugins: Record<string, unknown>;
  /** Consumers created first (POST /v1/consumers bodies). */
  consumers: Record<string, unknown>[];
}

/** Sends one admin API call. @throws with the API's answer unless it is 2xx. */
async function adminCall(control: string, token: string, method: string, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${control}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

/**
 * Control seeded as control/demo/seed.ts does (groups `stable` and `canary` on the upstream's two
 * ports, one instance each, the demo route and its CEL policy); when `policies` holds more than
 * the demo policy, the others are created through the same API and the route's list replaced by
 * `policies` in their order. With `edge`, its consumers are created and the demo route gets its
 * plugins. Published as a snapshot before it returns.
 */
export async function startSluiceControl(
  upstream: BenchUpstream,
  policies: DualPolicy[],
  defer: Defer,
  edge?: BenchEdge,
): Promise<SluiceControl> {
  const dataDir = await mkdtemp(join(tmpdir(), "sluice-bench-"));
  defer(() => rm(dataDir, { recursive: true, force: true }));
  const control = await startControl({ dataDir, port: 0, env: {}, logger: pino({ level: "warn" }) });
  defer(control.close);
  const admin = control.tokens.adminToken;
  await seedDemo(control.url, admin, { stable: [upstream.stablePort], canary: [upstream.canaryPort] });
  const extra = policies.filter((p) => p.name !== DEMO_POLICY.name);
  for (const consumer of edge?.consumers ?? []) await adminCall(control.url, admin, "POST", "/v1/consumers", consumer);
  if (extra.length > 0 || edge) {
    for (const p of extra) {
      await adminCall(control.url, admin, "POST", "/v1/policies", {
        name: p.name,
        category: "private",
        appkey: "demo",
        key: p.key,
        passway: p.passway,
        condition: p.cel,
        group: p.group,
        enabled: true,
        graylist: [],
      });
    }
    const { items } = (await adminCall(control.url, admin, "GET", "/v1/routes", undefined)) as {
      items: { id: number; host: string; path: string }[];
    };
    const route = items.find((r) => r.host === "*" && r.path === "/");
    if (!route) throw new Error("the demo route is missing after seeding");
    await adminCall(control.url, admin, "PUT", `/v1/routes/${route.id}`, {
      appkey: "demo",
      host: "*",
      path: "/",
      match: "prefix",
      defaultGroup: "stable",
      policies: policies.map((p) => p.name),
      ...(edge ? { plugins: edge.plugins } : {}),
    });
  }
  await control.builder.rebuild();
  return {
    url: control.url,
    gatewayToken: control.tokens.gatewayToken,
    publicKey: control.signingKey.publicKeyBase64,
    policies: policies.length,
    label: edge ? `, ${edge.label}` : "",
  };
}

/**
 * The gateway's telemetry switched off as far as its bindings allow: no access log, no metrics
 * push. Metrics are still recorded per request (worker/gateway.ts, worker/forward.ts) and the
 * telemetry loop still ticks; tracing is off in every bench gateway (no TRACE_ENDPOINT).
 */
export const TELEMETRY_OFF: NonNullable<GatewayLaunch["telemetry"]> = { ACCESS_LOG: "off", METRICS_PUSH_MS: "0" };

/** How startSluice starts a gateway besides where. */
export interface SluiceOptions {
  /** Directory of the log file, created if needed. */
  logDir: string;
  /** Start it with TELEMETRY_OFF; default: telemetry as `npm start` runs it (access log on, metrics pushed every 5 s). */
  telemetryOff?: boolean;
  /** REDIS_URL of the gateway (cluster limits). */
  redisUrl?: string;
  /** The row's kind (default: from the control and telemetryOff). */
  kind?: TargetKind;
  /** Fields every request of the row carries besides CLIENT_FIELDS (an `apikey`). */
  fields?: Record<string, string>;
}

/**
 * The gateway on `runtime`, `processes` processes, polling `control`. It keeps its default
 * snapshot poll (1 s per isolate), so control sees a conditional GET per second per process
 * during the runs, as in production. Its stdout and stderr go to a file in `options.logDir`
 * named after the row (truncated at start), so access-log lines cost a real write, as they
 * would to a log file or a collector's pipe.
 */
export async function startSluice(
  control: SluiceControl,
  runtime: GatewayRuntime,
  processes: number,
  defer: Defer,
  options: SluiceOptions,
): Promise<Target> {
  const policies = control.policies > 1 ? `, ${control.policies} policies` : "";
  const off = options.telemetryOff ? ", telemetry off" : "";
  const name = `Sluice gateway${policies}${control.label}${off}, ${runtime}`;
  mkdirSync(options.logDir, { recursive: true });
  const logFile = join(options.logDir, `${name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}.log`);
  const fd = openSync(logFile, "w");
  defer(async () => closeSync(fd));
  const gateway = await startGateway({
    runtime,
    controlUrl: control.url,
    gatewayToken: control.gatewayToken,
    snapshotPublicKey: control.publicKey,
    port: 0,
    processes,
    telemetry: options.telemetryOff ? TELEMETRY_OFF : undefined,
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
    stdio: fd,
  });
  defer(gateway.close);
  const kind = options.kind ?? (control.policies > 1 ? "gateway50" : off ? "gatewayTelemetryOff" : "gateway");
  return { name, url: gateway.url, pids: gateway.pids, kind, runtime, logFile, ...(options.fields ? { fields: options.fields } : {}) };
}
