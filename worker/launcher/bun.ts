/**
 * Runs the gateway on Bun (worker/runtime/bun.ts), one process per core. Each process binds the
 * port itself with Bun's `reusePort` (SO_REUSEPORT: the kernel spreads connections over them),
 * so unlike workerd nothing is handed down; the processes are supervised as workerd's are
 * (worker/launcher/supervisor.ts).
 */
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import pino, { type Logger } from "pino";
import { processBindings } from "../env.ts";
import { freePort } from "./ports.ts";
import { type ProcessCluster, type ProcessPlace, runCluster } from "./supervisor.ts";

/** The bun binary from the `bun` npm package (pinned in package.json). */
export const BUN_BIN = fileURLToPath(new URL("../../node_modules/.bin/bun", import.meta.url));
/** The gateway's Bun entry; bun runs the TypeScript as it is, no bundle. */
export const BUN_ENTRY = fileURLToPath(new URL("../runtime/bun.ts", import.meta.url));

/**
 * Request header bytes a Bun process accepts (Bun's default is 16 KiB, answering 431 above it):
 * 128 KiB, Cloudflare's limit for a request's headers, so a 64 KiB field passes as on workerd.
 */
const MAX_HEADER_BYTES = 128 * 1024;

export interface BunLaunch {
  /** Binding name → value (worker/env.ts), passed as environment variables of those names. */
  bindings: Record<string, string>;
  /** Listening address (default 127.0.0.1); port 0 picks a free one. */
  host?: string;
  port: number;
  /** Processes (default: one per core). */
  processes?: number;
  /** Where Bun's stdout/stderr go (default: inherit). */
  stdio?: "inherit" | "ignore";
  /** Where restarts are reported (default: pino to stdout, name `sluice-launcher`). */
  logger?: Logger;
}

/**
 * Starts the processes and waits until the port answers.
 * @throws as runCluster (worker/launcher/supervisor.ts).
 */
export async function launchBun(launch: BunLaunch): Promise<ProcessCluster> {
  const host = launch.host ?? "127.0.0.1";
  const port = launch.port || (await freePort(host));
  // Only what Bun itself reads is inherited: the gateway's bindings are exactly `bindings`, as
  // under workerd, not whatever CONTROL_URL or ZONE the launcher's own environment holds.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => ["PATH", "HOME", "TMPDIR"].includes(name) || name.startsWith("BUN_")),
  );
  const env = { ...inherited, ...launch.bindings, SLUICE_GATEWAY_HOST: host, SLUICE_GATEWAY_PORT: String(port) };
  // Each process also gets its place in the cluster (worker/env.ts PROCESS_BINDINGS) for its status document.
  const start = async (place: ProcessPlace) =>
    spawn(BUN_BIN, [`--max-http-header-size=${MAX_HEADER_BYTES}`, BUN_ENTRY], {
      stdio: ["ignore", launch.stdio ?? "inherit", launch.stdio ?? "inherit"],
      env: { ...env, ...processBindings(place) },
    });
  return runCluster({
    name: "bun",
    host,
    port,
    processes: launch.processes ?? availableParallelism(),
    start,
    logger: launch.logger ?? pino({ name: "sluice-launcher" }),
  });
}
