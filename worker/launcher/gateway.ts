/**
 * Starts the Sluice gateway (`npm run build` first) on a runtime: Bun (worker/runtime/bun.ts, the
 * default), workerd (build/worker/) or Deno (worker/runtime/deno.ts). All get the same
 * bindings. The gateway and status tokens reach workerd through its environment
 * (`fromEnvironment` bindings), so they are never written into the generated config; Bun and
 * Deno read every binding from their environment. Each process is also given its place in the
 * cluster (slot, restarts: worker/env.ts PROCESS_BINDINGS), shown on its status document.
 */
import { fileURLToPath } from "node:url";
import type { FunctionRunner, TelemetryBinding } from "../env.ts";
import { launchBun } from "./bun.ts";
import { renderWorkerdConfig } from "./capnp.ts";
import { launchDeno } from "./deno.ts";
import type { ProcessCluster, ProcessOutput } from "./supervisor.ts";
import { launchWorkerd, processEnvBindings } from "./workerd.ts";

/** The latest date the pinned workerd (1.20261023.1) and Miniflare accept; later dates are refused at start. */
export const COMPATIBILITY_DATE = "2026-07-01";
export const GATEWAY_BUILD_DIR = fileURLToPath(new URL("../../build/worker", import.meta.url));

/** The runtimes the gateway runs on (SLUICE_RUNTIME). */
export const GATEWAY_RUNTIMES = ["workerd", "bun", "deno"] as const;
export type GatewayRuntime = (typeof GATEWAY_RUNTIMES)[number];
/** The runtime used when SLUICE_RUNTIME is unset (README, "Runtimes", says why). */
export const DEFAULT_RUNTIME: GatewayRuntime = "bun";

/**
 * SLUICE_RUNTIME's value as a runtime; unset or empty = DEFAULT_RUNTIME.
 * @throws Error naming the runtimes when it is anything else.
 */
export function parseRuntime(value: string | undefined): GatewayRuntime {
  if (!value) return DEFAULT_RUNTIME;
  const runtime = GATEWAY_RUNTIMES.find((r) => r === value);
  if (!runtime) throw new Error(`SLUICE_RUNTIME: "${value}" is not one of ${GATEWAY_RUNTIMES.join(", ")}`);
  return runtime;
}

export interface GatewayLaunch {
  /** Default DEFAULT_RUNTIME. */
  runtime?: GatewayRuntime;
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
  /** Most requests an isolate buffers for function activations (FUNCTION_BUFFER_MAX; default 1000). */
  functionBufferMax?: number;
  /**
   * Where function versions run (FUNCTION_RUNNER; default `instances`): `loader` runs them in the
   * gateway's workerd through the Worker Loader binding, and only the workerd runtime has one.
   */
  functionRunner?: FunctionRunner;
  /** Bearer token for the status document (STATUS_TOKEN, passed through the environment); none = no status document. */
  statusToken?: string;
  /**
   * limit-count's cluster store, `redis://[:password@]host:port[/db]` (REDIS_URL, passed through
   * the environment as it may hold a password); none: cluster limits fail as configured.
   */
  redisUrl?: string;
  /** Per cluster limit check, ms (REDIS_TIMEOUT_MS; default 50). */
  redisTimeoutMs?: number;
  /** Telemetry settings by binding name (worker/env.ts TELEMETRY_BINDINGS: METRICS_PUSH_MS, ACCESS_LOG …); unset ones take the gateway's defaults. */
  telemetry?: Partial<Record<TelemetryBinding, string>>;
  /** Where the processes' stdout/stderr go (default: inherit; ProcessOutput). */
  stdio?: ProcessOutput;
}

/** @throws as launchWorkerd / launchBun / launchDeno, or when the gateway has not been built. */
export function startGateway(launch: GatewayLaunch): Promise<ProcessCluster> {
  const textBindings: Record<string, string> = {
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
    ...(launch.functionBufferMax !== undefined ? { FUNCTION_BUFFER_MAX: String(launch.functionBufferMax) } : {}),
    ...(launch.functionRunner ? { FUNCTION_RUNNER: launch.functionRunner } : {}),
    ...(launch.redisTimeoutMs !== undefined ? { REDIS_TIMEOUT_MS: String(launch.redisTimeoutMs) } : {}),
    ...launch.telemetry,
  };
  const secretBindings: Record<string, string> = {
    GATEWAY_TOKEN: launch.gatewayToken,
    ...(launch.statusToken ? { STATUS_TOKEN: launch.statusToken } : {}),
    ...(launch.redisUrl ? { REDIS_URL: launch.redisUrl } : {}),
  };
  const where = { host: launch.host, port: launch.port, processes: launch.processes, stdio: launch.stdio };
  const runtime = launch.runtime ?? DEFAULT_RUNTIME;
  if (launch.functionRunner === "loader" && runtime !== "workerd") {
    return Promise.reject(new Error(`function runner "loader" needs the workerd runtime (Worker Loader binding), not ${runtime}`));
  }
  if (runtime === "bun") return launchBun({ ...where, bindings: { ...textBindings, ...secretBindings } });
  if (runtime === "deno") return launchDeno({ ...where, bindings: { ...textBindings, ...secretBindings } });
  // workerd reads each secret from SLUICE_<NAME> in its environment.
  const secretEnv = Object.fromEntries(Object.entries(secretBindings).map(([name, value]) => [`SLUICE_${name}`, value]));
  const config = renderWorkerdConfig({
    mainModule: "worker.js",
    wasmModule: "hotpath.wasm",
    compatibilityDate: COMPATIBILITY_DATE,
    textBindings,
    envBindings: {
      ...Object.fromEntries(Object.keys(secretBindings).map((name) => [name, `SLUICE_${name}`])),
      // Each process's slot and restart counts, set per process by the launcher.
      ...processEnvBindings(),
    },
  });
  return launchWorkerd({ ...where, dir: GATEWAY_BUILD_DIR, config, env: secretEnv });
}
