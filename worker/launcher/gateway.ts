/**
 * Starts the Sluice gateway Worker (build/worker/, from `npm run build`) under workerd. The
 * gateway token reaches workerd through its environment (a `fromEnvironment` binding), so it is
 * never written into the generated config.
 */
import { fileURLToPath } from "node:url";
import { renderWorkerdConfig } from "./capnp.ts";
import { launchWorkerd, type WorkerdCluster } from "./workerd.ts";

/** Miniflare/workerd of this pin refuse later dates (../shared/TOOLCHAIN.md). */
export const COMPATIBILITY_DATE = "2026-07-01";
export const GATEWAY_BUILD_DIR = fileURLToPath(new URL("../../build/worker", import.meta.url));

export interface GatewayLaunch {
  controlUrl: string;
  gatewayToken: string;
  /** Raw Ed25519 public key, base64. */
  snapshotPublicKey: string;
  host?: string;
  /** 0 picks a free port. */
  port: number;
  processes?: number;
  /** Snapshot poll interval per isolate, ms. */
  snapshotPollMs?: number;
  stdio?: "inherit" | "ignore";
}

/** @throws as launchWorkerd, or when the Worker has not been built. */
export function startGateway(launch: GatewayLaunch): Promise<WorkerdCluster> {
  const config = renderWorkerdConfig({
    mainModule: "worker.js",
    wasmModule: "hotpath.wasm",
    compatibilityDate: COMPATIBILITY_DATE,
    textBindings: {
      CONTROL_URL: launch.controlUrl,
      SNAPSHOT_PUBLIC_KEY: launch.snapshotPublicKey,
      ...(launch.snapshotPollMs ? { SNAPSHOT_POLL_MS: String(launch.snapshotPollMs) } : {}),
    },
    envBindings: { GATEWAY_TOKEN: "SLUICE_GATEWAY_TOKEN" },
  });
  return launchWorkerd({
    dir: GATEWAY_BUILD_DIR,
    config,
    host: launch.host,
    port: launch.port,
    processes: launch.processes,
    env: { SLUICE_GATEWAY_TOKEN: launch.gatewayToken },
    stdio: launch.stdio,
  });
}
