/**
 * The bare pass-through of each gateway runtime, its ceiling: a minimal fetch() proxy on the
 * runtime's native server and fetch, nothing of Sluice's (bench/passthrough-worker.js on
 * workerd, same launcher and compatibility date as the gateway; bench/passthrough-bun.js on
 * Bun.serve; bench/passthrough-deno.js on Deno.serve). Bun and Deno run `processes` processes on
 * one port with SO_REUSEPORT, supervised as the gateway's are (worker/launcher/supervisor.ts).
 * The binaries are the npm packages' (node_modules/.bin/<runtime>), as the gateway launchers use.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { renderWorkerdConfig } from "../worker/launcher/capnp.ts";
import { COMPATIBILITY_DATE } from "../worker/launcher/gateway.ts";
import { freePort } from "../worker/launcher/ports.ts";
import { runCluster } from "../worker/launcher/supervisor.ts";
import { launchWorkerd } from "../worker/launcher/workerd.ts";
import type { Target } from "./load.ts";
import type { Defer } from "./targets.ts";

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** node_modules/.bin/<runtime>: where each runtime's npm package puts its binary. */
export function runtimeBinary(runtime: string): string {
  return fileURLToPath(new URL(`../node_modules/.bin/${runtime}`, import.meta.url));
}

/** @returns null when `runtime`'s binary is installed, else why its rows are skipped. */
export function runtimeMissing(runtime: string): string | null {
  return existsSync(runtimeBinary(runtime)) ? null : `${runtimeBinary(runtime)} absent (npm ci installs the \`${runtime}\` package)`;
}

type Start = (upstreamOrigin: string, processes: number, defer: Defer) => Promise<Target>;

const logger = pino({ name: "sluice-bench", level: "warn" });

async function workerdPassthrough(upstreamOrigin: string, processes: number, defer: Defer): Promise<Target> {
  const dir = await mkdtemp(join(tmpdir(), "sluice-bench-passthrough-"));
  defer(() => rm(dir, { recursive: true, force: true }));
  await copyFile(here("./passthrough-worker.js"), join(dir, "passthrough-worker.js"));
  const config = renderWorkerdConfig({
    mainModule: "passthrough-worker.js",
    compatibilityDate: COMPATIBILITY_DATE,
    textBindings: { UPSTREAM_ORIGIN: upstreamOrigin },
    envBindings: {},
  });
  const cluster = await launchWorkerd({ dir, config, port: 0, processes, logger });
  defer(cluster.close);
  return { name: "pass-through, workerd", url: cluster.url, pids: cluster.pids };
}

/** A pass-through script run by `runtime`'s binary with `args`, `processes` processes on one port. */
function scriptPassthrough(runtime: string, args: (script: string) => string[], script: string): Start {
  return async (upstreamOrigin, processes, defer) => {
    const port = await freePort();
    const env = {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      DENO_NO_UPDATE_CHECK: "1",
      UPSTREAM_ORIGIN: upstreamOrigin,
      PORT: String(port),
    };
    const cluster = await runCluster({
      name: runtime,
      host: "127.0.0.1",
      port,
      processes,
      start: async () => spawn(runtimeBinary(runtime), args(here(script)), { stdio: ["ignore", "inherit", "inherit"], env }),
      logger,
    });
    defer(cluster.close);
    return { name: `pass-through, ${runtime}`, url: cluster.url, pids: cluster.pids };
  };
}

/** Pass-through starters by runtime name; a gateway runtime without one gets no pass-through row. */
export const PASSTHROUGHS: Record<string, Start> = {
  workerd: workerdPassthrough,
  bun: scriptPassthrough("bun", (script) => [script], "./passthrough-bun.js"),
  // Deno: `reusePort` is behind --unstable-net (2.9).
  deno: scriptPassthrough(
    "deno",
    (script) => ["run", "--quiet", "--unstable-net", "--allow-net", "--allow-env", script],
    "./passthrough-deno.js",
  ),
};
