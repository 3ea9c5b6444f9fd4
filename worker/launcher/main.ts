/**
 * `npm run gateway`: the gateway alone, for a control running elsewhere. Environment:
 * SLUICE_RUNTIME (`bun`, the default: DEFAULT_RUNTIME; `workerd` or `deno`), SLUICE_CONTROL_URL (required),
 * SLUICE_GATEWAY_TOKEN (required, the read-only snapshot token), SLUICE_SNAPSHOT_PUBLIC_KEY
 * (required, control prints it),
 * SLUICE_GATEWAY_HOST (127.0.0.1; 0.0.0.0 to serve other machines), SLUICE_GATEWAY_PORT (8080),
 * SLUICE_GATEWAY_PROCESSES (one per core), SLUICE_SNAPSHOT_POLL_MS (1000), SLUICE_TRUSTED_PROXIES
 * (none: addresses or CIDRs whose X-Forwarded-For is believed for request.ip),
 * SLUICE_CLIENT_IP_HEADER (x-forwarded-for), SLUICE_ZONE and SLUICE_REGION (this gateway's
 * zone and region, for zone-affine balancing; none by default), SLUICE_STATUS_TOKEN (bearer token
 * of the status document; none by default: no status document), SLUICE_FUNCTION_RUNNER (`loader`: function versions run in the
 * gateway through the Worker Loader binding, workerd only), SLUICE_FUNCTION_BUFFER_MAX (1000:
 * requests an isolate buffers for function activations), SLUICE_REDIS_URL and SLUICE_REDIS_TIMEOUT_MS
 * (limit-count's cluster store and its per-check timeout, 50 ms: REDIS_URL, REDIS_TIMEOUT_MS), and SLUICE_<NAME> for each
 * telemetry binding (worker/env.ts TELEMETRY_BINDINGS: SLUICE_METRICS_PUSH_MS, SLUICE_ACCESS_LOG …).
 */
import { TELEMETRY_BINDINGS } from "../env.ts";
import { type GatewayRuntime, parseRuntime, startGateway } from "./gateway.ts";

const env = process.env;
const missing = ["SLUICE_CONTROL_URL", "SLUICE_GATEWAY_TOKEN", "SLUICE_SNAPSHOT_PUBLIC_KEY"].filter((name) => !env[name]);
if (missing.length > 0) {
  console.error(`sluice-gateway: set ${missing.join(", ")}`);
  process.exit(2);
}
let runtime: GatewayRuntime;
try {
  runtime = parseRuntime(env.SLUICE_RUNTIME);
} catch (err) {
  console.error(`sluice-gateway: ${(err as Error).message}`);
  process.exit(2);
}
const gateway = await startGateway({
  runtime,
  controlUrl: env.SLUICE_CONTROL_URL as string,
  gatewayToken: env.SLUICE_GATEWAY_TOKEN as string,
  snapshotPublicKey: env.SLUICE_SNAPSHOT_PUBLIC_KEY as string,
  host: env.SLUICE_GATEWAY_HOST || "127.0.0.1",
  port: Number(env.SLUICE_GATEWAY_PORT || 8080),
  processes: env.SLUICE_GATEWAY_PROCESSES ? Number(env.SLUICE_GATEWAY_PROCESSES) : undefined,
  snapshotPollMs: env.SLUICE_SNAPSHOT_POLL_MS ? Number(env.SLUICE_SNAPSHOT_POLL_MS) : undefined,
  trustedProxies: env.SLUICE_TRUSTED_PROXIES || undefined,
  clientIpHeader: env.SLUICE_CLIENT_IP_HEADER || undefined,
  zone: env.SLUICE_ZONE || undefined,
  region: env.SLUICE_REGION || undefined,
  statusToken: env.SLUICE_STATUS_TOKEN || undefined,
  functionBufferMax: env.SLUICE_FUNCTION_BUFFER_MAX ? Number(env.SLUICE_FUNCTION_BUFFER_MAX) : undefined,
  functionRunner: env.SLUICE_FUNCTION_RUNNER === "loader" ? "loader" : undefined,
  redisUrl: env.SLUICE_REDIS_URL || undefined,
  redisTimeoutMs: env.SLUICE_REDIS_TIMEOUT_MS ? Number(env.SLUICE_REDIS_TIMEOUT_MS) : undefined,
  telemetry: Object.fromEntries(
    TELEMETRY_BINDINGS.filter((name) => env[`SLUICE_${name}`]).map((name) => [name, env[`SLUICE_${name}`] as string]),
  ),
});
console.log(`sluice gateway on ${gateway.url} (${runtime} pids ${gateway.pids.join(", ")})`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void gateway.close().then(() => process.exit(0));
  });
}
