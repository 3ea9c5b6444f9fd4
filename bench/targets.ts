/**
 * Starts what the benchmark measures, all on 127.0.0.1: the upstream (a child Node process),
 * the Sluice stack (control in this process + the gateway under workerd, demo route and policy)
 * and the bare pass-through Worker under the same launcher. Each start registers its stop
 * functions with `defer` as soon as something runs, so a failure half-way still stops it all.
 */
import { type ChildProcess, fork } from "node:child_process";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { seedDemo } from "../control/demo/seed.ts";
import { startControl } from "../control/server.ts";
import { renderWorkerdConfig } from "../worker/launcher/capnp.ts";
import { COMPATIBILITY_DATE, startGateway } from "../worker/launcher/gateway.ts";
import { launchWorkerd } from "../worker/launcher/workerd.ts";
import type { Target, UpstreamProbe } from "./load.ts";
import { stopChild } from "./proc.ts";

/** Registers a stop function; the bench runs them in reverse order at exit, error or Ctrl-C. */
export type Defer = (stop: () => Promise<void>) => void;

export interface BenchUpstream extends UpstreamProbe {
  stablePort: number;
  canaryPort: number;
}

const UPSTREAM_SCRIPT = fileURLToPath(new URL("./upstream-process.ts", import.meta.url));
const PASSTHROUGH_SOURCE = fileURLToPath(new URL("./passthrough-worker.js", import.meta.url));

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

/** Forks bench/upstream-process.ts (Node 24, as this process) and waits for its two ports. */
export async function startBenchUpstream(defer: Defer): Promise<BenchUpstream> {
  const child = fork(UPSTREAM_SCRIPT, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  defer(() => stopChild(child));
  const [stablePort, canaryPort] = await nextMessage<number[]>(child, "ports");
  return {
    pid: child.pid ?? -1,
    stablePort,
    canaryPort,
    async counts() {
      const reply = nextMessage<number[]>(child, "counts");
      child.send("counts");
      const [stable, canary] = await reply;
      return { stable, canary };
    },
  };
}

/**
 * Control on a fresh PGlite data directory, seeded with the demo route and its one CEL policy
 * (groups `stable` and `canary` both on the bench upstream, one port each), then the gateway.
 * The gateway keeps its default snapshot poll (1 s per isolate), so control sees a conditional
 * GET per second per process during the runs, as in production.
 */
export async function startSluice(upstream: BenchUpstream, processes: number, defer: Defer): Promise<Target> {
  const dataDir = await mkdtemp(join(tmpdir(), "sluice-bench-"));
  defer(() => rm(dataDir, { recursive: true, force: true }));
  const control = await startControl({ dataDir, port: 0, env: {}, logger: pino({ level: "warn" }) });
  defer(control.close);
  await seedDemo(control.url, control.tokens.adminToken, { stable: [upstream.stablePort], canary: [upstream.canaryPort] });
  await control.builder.rebuild();
  const gateway = await startGateway({
    controlUrl: control.url,
    gatewayToken: control.tokens.gatewayToken,
    snapshotPublicKey: control.signingKey.publicKeyBase64,
    port: 0,
    processes,
  });
  defer(gateway.close);
  return { name: "Sluice gateway", url: gateway.url, pids: gateway.pids };
}

/** bench/passthrough-worker.js with the gateway's launcher, process count and compatibility date. */
export async function startPassthrough(upstreamOrigin: string, processes: number, defer: Defer): Promise<Target> {
  const dir = await mkdtemp(join(tmpdir(), "sluice-bench-passthrough-"));
  defer(() => rm(dir, { recursive: true, force: true }));
  await copyFile(PASSTHROUGH_SOURCE, join(dir, "passthrough-worker.js"));
  const config = renderWorkerdConfig({
    mainModule: "passthrough-worker.js",
    compatibilityDate: COMPATIBILITY_DATE,
    textBindings: { UPSTREAM_ORIGIN: upstreamOrigin },
    envBindings: {},
  });
  const cluster = await launchWorkerd({ dir, config, port: 0, processes });
  defer(cluster.close);
  return { name: "pass-through Worker", url: cluster.url, pids: cluster.pids };
}
