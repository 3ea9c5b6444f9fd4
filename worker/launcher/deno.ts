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
import { fileURLToPath } from "node:url";
import { launchSelfBinding, type SelfBindingLaunch } from "./self-binding.ts";
import type { ProcessCluster } from "./supervisor.ts";

/** The deno binary from the `deno` npm package (pinned in package.json). */
export const DENO_BIN = fileURLToPath(new URL("../../node_modules/.bin/deno", import.meta.url));
/** The gateway's Deno entry; deno runs the TypeScript as it is, no bundle. */
export const DENO_ENTRY = fileURLToPath(new URL("../runtime/deno.ts", import.meta.url));
/** The WASM the entry compiles (its default path; the one file it may read). */
export const DENO_WASM = fileURLToPath(new URL("../../build/hotpath.wasm", import.meta.url));

export type DenoLaunch = SelfBindingLaunch;

/**
 * Starts the processes and waits until the port answers.
 * @throws as runCluster (worker/launcher/supervisor.ts).
 */
export function launchDeno(launch: DenoLaunch): Promise<ProcessCluster> {
  return launchSelfBinding(
    {
      name: "deno",
      bin: DENO_BIN,
      args: (envNames) => [
        "run",
        "--no-prompt",
        "--unstable-net",
        "--allow-net",
        `--allow-read=${DENO_WASM}`,
        `--allow-env=${envNames.join(",")}`,
        DENO_ENTRY,
      ],
      // HOME or DENO_DIR locate its module cache.
      inherits: (name) => ["PATH", "HOME", "TMPDIR", "DENO_DIR"].includes(name),
    },
    launch,
  );
}
