/**
 * Runs the gateway on Bun (worker/runtime/bun.ts), one process per core. Each process binds the
 * port itself with Bun's `reusePort` (SO_REUSEPORT: the kernel spreads connections over them),
 * so unlike workerd nothing is handed down; the processes are supervised as workerd's are
 * (worker/launcher/supervisor.ts).
 */
import { fileURLToPath } from "node:url";
import { launchSelfBinding, type SelfBindingLaunch } from "./self-binding.ts";
import type { ProcessCluster } from "./supervisor.ts";

/** The bun binary from the `bun` npm package (pinned in package.json). */
export const BUN_BIN = fileURLToPath(new URL("../../node_modules/.bin/bun", import.meta.url));
/** The gateway's Bun entry; bun runs the TypeScript as it is, no bundle. */
export const BUN_ENTRY = fileURLToPath(new URL("../runtime/bun.ts", import.meta.url));

/**
 * Request header bytes a Bun process accepts (Bun's default is 16 KiB, answering 431 above it):
 * 128 KiB, Cloudflare's limit for a request's headers, so a 64 KiB field passes as on workerd.
 */
const MAX_HEADER_BYTES = 128 * 1024;

export type BunLaunch = SelfBindingLaunch;

/**
 * Starts the processes and waits until the port answers.
 * @throws as runCluster (worker/launcher/supervisor.ts).
 */
export function launchBun(launch: BunLaunch): Promise<ProcessCluster> {
  return launchSelfBinding(
    {
      name: "bun",
      bin: BUN_BIN,
      args: () => [`--max-http-header-size=${MAX_HEADER_BYTES}`, BUN_ENTRY],
      inherits: (name) => ["PATH", "HOME", "TMPDIR"].includes(name) || name.startsWith("BUN_"),
    },
    launch,
  );
}
