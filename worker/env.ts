/**
 * The gateway Worker's bindings (wrangler vars / workerd `bindings`) and their parsed form.
 * The gateway holds a read-only credential for the snapshot endpoint and the snapshot public key;
 * never the admin token, never the signing key.
 */
export interface Env {
  /** Base URL of control, e.g. `http://127.0.0.1:7400`. */
  CONTROL_URL: string;
  /** Read-only gateway token for `GET /v1/snapshot`. */
  GATEWAY_TOKEN: string;
  /** Raw Ed25519 public key (32 bytes), base64. */
  SNAPSHOT_PUBLIC_KEY: string;
  /** How often an isolate asks control for a newer snapshot while serving, ms (default 1000). */
  SNAPSHOT_POLL_MS?: string;
  /** How long the first request waits for the first snapshot, ms (default 3000). */
  SNAPSHOT_FIRST_WAIT_MS?: string;
  /** Path of the gateway's own status document (default `/__sluice/status`). */
  STATUS_PATH?: string;
}

export interface GatewayConfig {
  controlUrl: string;
  gatewayToken: string;
  publicKeyBase64: string;
  pollMs: number;
  firstWaitMs: number;
  statusPath: string;
}

/** Parses bindings, applying defaults. @throws Error naming a missing binding. */
export function readConfig(env: Env): GatewayConfig {
  for (const name of ["CONTROL_URL", "GATEWAY_TOKEN", "SNAPSHOT_PUBLIC_KEY"] as const) {
    if (!env[name]) throw new Error(`binding ${name} is not set`);
  }
  return {
    controlUrl: env.CONTROL_URL.replace(/\/+$/, ""),
    gatewayToken: env.GATEWAY_TOKEN,
    publicKeyBase64: env.SNAPSHOT_PUBLIC_KEY,
    pollMs: positiveInt(env.SNAPSHOT_POLL_MS, 1000),
    firstWaitMs: positiveInt(env.SNAPSHOT_FIRST_WAIT_MS, 3000),
    statusPath: env.STATUS_PATH || "/__sluice/status",
  };
}

function positiveInt(raw: string | undefined, fallback: number): number {
  const n = Number(raw);
  return raw && Number.isInteger(n) && n > 0 ? n : fallback;
}
