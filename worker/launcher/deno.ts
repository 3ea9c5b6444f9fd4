/**
 * Runs the gateway on Deno (worker/runtime/deno.ts), one process per core. Each process binds
 * the port itself with Deno.serve's `reusePort` (SO_REUSEPORT: the kernel spreads connections
 * over them; Deno still calls it unstable, hence `--unstable-net`), and the processes are
 * supervised as workerd's and Bun's are (worker/launcher/supervisor.ts). Not `deno serve
 * --parallel`: that runs its isolates as threads of one process, which dies (and is restarted)
 * whole, and it would be supervised unlike the other runtimes. Neither is clearly faster: a
 * pass-through over worker/runtime/upstream-fetch.ts on 2 shared cores did 8.3–10.9k req/s at
 * 72–78 µs CPU each with `--parallel` (2 workers), 9.1–12.1k at 85–90 µs with 2 processes
 * (wrk -t1 -c32, two interleaved rounds, 2026-12-07).
 *
 * Permissions are the narrowest the entry runs with: network (it listens, and its upstreams are
 * whatever the routes say), reading the WASM file alone, and reading exactly the variables the
 * launcher passes; nothing else (`--no-prompt`: a denied access throws instead of asking).
 * Deno.serve answers 400 to a request whose header block exceeds 64 KiB, and has no flag to
 * raise it (Bun is given 128 KiB, Cloudflare's limit): a deviation the proxy conformance suite pins.
 */
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import pino, { type Logger } from "pino";
import { PROCESS_BINDINGS, processBindings } from "../env.ts";
import { freePort } from "./ports.ts";
import { type ProcessCluster, type ProcessPlace, runCluster } from "./supervisor.ts";

/** The deno binary from the `deno` npm package (pinned in package.json). */
export const DENO_BIN = fileURLToPath(new URL("../../node_modules/.bin/deno", import.meta.url));
/** The gateway's Deno entry; deno runs the TypeScript as it is, no bundle. */
export const DENO_ENTRY = fileURLToPath(new URL("../runtime/deno.ts", import.meta.url));
/** The WASM the entry compiles (its default path; the one file it may read). */
export const DENO_WASM = fileURLToPath(new URL("../../build/hotpath.wasm", import.meta.url));

export interface DenoLaunch {
  /** Binding name → value (worker/env.ts), passed as environment variables of those names. */
  bindings: Record<string, string>;
  /** Listening address (default 127.0.0.1); port 0 picks a free one. */
  host?: string;
  port: number;
  /** Processes (default: one per core). */
  processes?: number;
  /** Where Deno's stdout/stderr go (default: inherit). */
  stdio?: "inherit" | "ignore";
  /** Where restarts are reported (default: pino to stdout, name `sluice-launcher`). */
  logger?: Logger;
}

/**
 * Starts the processes and waits until the port answers.
 * @throws as runCluster (worker/launcher/supervisor.ts).
 */
export async function launchDeno(launch: DenoLaunch): Promise<ProcessCluster> {
  const host = launch.host ?? "127.0.0.1";
  const port = launch.port || (await freePort(host));
  // Only what Deno itself reads is inherited (HOME or DENO_DIR locate its module cache): the
  // gateway's bindings are exactly `bindings`, as under workerd.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => ["PATH", "HOME", "TMPDIR", "DENO_DIR"].includes(name)),
  );
  const gatewayEnv = { ...launch.bindings, SLUICE_GATEWAY_HOST: host, SLUICE_GATEWAY_PORT: String(port) };
  const args = [
    "run",
    "--no-prompt",
    "--unstable-net",
    "--allow-net",
    `--allow-read=${DENO_WASM}`,
    `--allow-env=${[...Object.keys(gatewayEnv), ...Object.values(PROCESS_BINDINGS)].join(",")}`,
    DENO_ENTRY,
  ];
  const start = async (place: ProcessPlace) =>
    spawn(DENO_BIN, args, {
      stdio: ["ignore", launch.stdio ?? "inherit", launch.stdio ?? "inherit"],
      env: { ...inherited, ...gatewayEnv, ...processBindings(place) },
    });
  return runCluster({
    name: "deno",
    host,
    port,
    processes: launch.processes ?? availableParallelism(),
    start,
    logger: launch.logger ?? pino({ name: "sluice-launcher" }),
  });
}
