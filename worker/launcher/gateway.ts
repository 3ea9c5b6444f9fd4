/**
 * Starts the Sluice gateway Worker (build/worker/, from `npm run build`) under workerd. The
 * gateway token reaches workerd through its environment (a `fromEnvironment` binding), so it is
 * never written into the generated config.
 */
import { fileURLToPath } from "node:url";
import { renderWorkerdConfig } from "./capnp.ts";
import { launchWorkerd, type WorkerdCluster } from "./workerd.ts";

/** The latest date the pinned workerd (1.20261023.1) and Miniflare accept; later dates are refused at start. */
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
  /** Fallback snapshot poll interval per isolate, ms (SNAPSHOT_POLL_MS). */
  snapshotPollMs?: number;
  /** Long-poll wait, ms (SNAPSHOT_WAIT_MS). */
  snapshotWaitMs?: number;
  /** Longest wait of a request on an isolate that is not polling, ms (SNAPSHOT_SYNC_WAIT_MS). */
  snapshotSyncWaitMs?: number;
  /** Stop long-polling after this long without requests, ms (SNAPSHOT_IDLE_STOP_MS). */
  snapshotIdleStopMs?: number;
  /** Label answers with the snapshot version that routed them (SNAPSHOT_VERSION_HEADER). */
  snapshotVersionHeader?: boolean;
  /** Proxies believed for `request.ip` (addresses or CIDRs, comma-separated; worker/client-ip.ts). */
  trustedProxies?: string;
  /** Header those proxies append the client to (default x-forwarded-for). */
  clientIpHeader?: string;
  /** This gateway's zone and region, for zone-affine balancing (ZONE, REGION; default none). */
  zone?: string;
  region?: string;
  /** Bearer token for the status document (STATUS_TOKEN, passed through the environment); none = no status document. */
  statusToken?: string;
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
      ...(launch.snapshotWaitMs ? { SNAPSHOT_WAIT_MS: String(launch.snapshotWaitMs) } : {}),
      ...(launch.snapshotSyncWaitMs ? { SNAPSHOT_SYNC_WAIT_MS: String(launch.snapshotSyncWaitMs) } : {}),
      ...(launch.snapshotIdleStopMs ? { SNAPSHOT_IDLE_STOP_MS: String(launch.snapshotIdleStopMs) } : {}),
      ...(launch.snapshotVersionHeader ? { SNAPSHOT_VERSION_HEADER: "1" } : {}),
      ...(launch.trustedProxies ? { TRUSTED_PROXIES: launch.trustedProxies } : {}),
      ...(launch.clientIpHeader ? { CLIENT_IP_HEADER: launch.clientIpHeader } : {}),
      ...(launch.zone ? { ZONE: launch.zone } : {}),
      ...(launch.region ? { REGION: launch.region } : {}),
    },
    envBindings: { GATEWAY_TOKEN: "SLUICE_GATEWAY_TOKEN", ...(launch.statusToken ? { STATUS_TOKEN: "SLUICE_STATUS_TOKEN" } : {}) },
  });
  return launchWorkerd({
    dir: GATEWAY_BUILD_DIR,
    config,
    host: launch.host,
    port: launch.port,
    processes: launch.processes,
    env: { SLUICE_GATEWAY_TOKEN: launch.gatewayToken, ...(launch.statusToken ? { SLUICE_STATUS_TOKEN: launch.statusToken } : {}) },
    stdio: launch.stdio,
  });
}
