/**
 * The processes the function benches run on, all on 127.0.0.1: control as a child process
 * (PGlite in a scratch data dir, the scaler ticking every BENCH_TICK_MS), BENCH_GATEWAY_PROCESSES
 * gateway processes on DEFAULT_RUNTIME, and one `sluice-agent --functions` child process that
 * runs the function instances (workerd). Plus the admin calls the benches need: a service, an
 * agent token, functions with one version each and a route per function.
 * Every process is stopped by PID through the stops list (bench/run-main.ts).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_RUNTIME, startGateway } from "../worker/launcher/gateway.ts";
import type { ProcessCluster } from "../worker/launcher/supervisor.ts";
import { benchSecrets, type ControlProcess, startControlProcess } from "./control-process.ts";
import { freePort, stopChild } from "./proc.ts";
import type { Stop } from "./run-main.ts";

const AGENT_MAIN = fileURLToPath(new URL("../agents/main.ts", import.meta.url));

/** A function's code for the benches: answers `ok` after `?ms=` milliseconds (default 0). */
export const BENCH_FUNCTION = `export default {
  async fetch(request, env) {
    const ms = Number(new URL(request.url).searchParams.get("ms") ?? 0);
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
    return new Response(env.NAME ?? "ok");
  },
};`;

export interface FunctionStack {
  control: ControlProcess;
  gateway: ProcessCluster;
  agent: ChildProcess;
  /** Admin call on control: JSON in, `{status, body}` out. */
  // biome-ignore lint/suspicious/noExplicitAny: JSON from control's API.
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** A GET on control with the admin token, as text (e.g. /metrics). */
  adminText(path: string): Promise<string>;
  /** The gateway's status document. */
  // biome-ignore lint/suspicious/noExplicitAny: JSON from the gateway.
  status(): Promise<any>;
  statusToken: string;
}

export interface FunctionStackOptions {
  tickMs: number;
  gatewayProcesses: number;
  appkey: string;
}

/** Starts control, the gateways and the agent; registers their stops in `stops`. */
export async function startFunctionStack(options: FunctionStackOptions, stops: Stop[]): Promise<FunctionStack> {
  const dataDir = await mkdtemp(join(os.tmpdir(), "sluice-bench-fn-"));
  stops.push(() => rm(dataDir, { recursive: true, force: true }));
  const secrets = await benchSecrets();
  process.env.SLUICE_AUTOSCALER_TICK_MS = String(options.tickMs);
  const control = await startControlProcess({ dataDir, secrets });
  stops.push(() => control.stop());
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${control.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${secrets.adminToken}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  const must = async (method: string, path: string, body?: unknown) => {
    const r = await admin(method, path, body);
    if (r.status >= 300) throw new Error(`${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  await must("POST", "/v1/services", { appkey: options.appkey });
  const token = (await must("POST", "/v1/agent-tokens", { name: "bench-node", appkeys: [options.appkey] })).token as string;

  const statusToken = "bench-status-token-0123456789";
  const port = await freePort();
  const gateway = await startGateway({
    runtime: DEFAULT_RUNTIME,
    controlUrl: control.url,
    gatewayToken: secrets.gatewayToken,
    snapshotPublicKey: secrets.publicKey,
    port,
    processes: options.gatewayProcesses,
    statusToken,
    telemetry: { ACCESS_LOG: "off" },
    stdio: "ignore",
  });
  stops.push(() => gateway.close());

  const agent = spawn(process.execPath, [AGENT_MAIN, "--control", control.url, "--functions", "--node", "bench-node"], {
    // BENCH_AGENT_LOG=1: the agent's log lines (instance starts, ready times) on this stdout.
    stdio: ["ignore", process.env.BENCH_AGENT_LOG === "1" ? "inherit" : "ignore", "inherit"],
    env: { PATH: process.env.PATH ?? "", SLUICE_AGENT_TOKEN: token },
  });
  stops.push(() => stopChild(agent));
  const status = async () => {
    const res = await fetch(`${gateway.url}/__sluice/status`, { headers: { authorization: `Bearer ${statusToken}` } });
    return res.json();
  };
  const adminText = async (path: string) =>
    (await fetch(`${control.url}${path}`, { headers: { authorization: `Bearer ${secrets.adminToken}` } })).text();
  return { control, gateway, agent, admin, adminText, status, statusToken };
}

/**
 * Creates function `name` in `appkey` with `scaling`, uploads BENCH_FUNCTION as version 1 and
 * routes `/<name>` to it. @throws when control refuses any of it.
 */
export async function deployFunction(stack: FunctionStack, appkey: string, name: string, scaling: Record<string, unknown>): Promise<void> {
  const must = async (method: string, path: string, body?: unknown) => {
    const r = await stack.admin(method, path, body);
    if (r.status >= 300) throw new Error(`${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  await must("POST", `/v1/services/${appkey}/functions`, { name, scaling });
  await must("POST", `/v1/services/${appkey}/functions/${name}/versions`, {
    modules: [{ name: "worker.js", type: "esm", content: Buffer.from(BENCH_FUNCTION).toString("base64") }],
    main: "worker.js",
    compatibilityDate: "2025-01-01",
  });
  await must("POST", "/v1/routes", { appkey, path: `/${name}`, match: "prefix", function: name });
}

export { freePort };
