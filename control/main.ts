/**
 * `sluice-control`: runs control alone. Environment: SLUICE_DATA_DIR (default `.sluice`),
 * DATABASE_URL (PostgreSQL instead of the embedded PGlite), SLUICE_CONTROL_HOST (127.0.0.1),
 * SLUICE_CONTROL_PORT (7400), SLUICE_ADMIN_TOKEN, SLUICE_GATEWAY_TOKEN, SLUICE_METRICS_TOKEN,
 * SLUICE_SIGNING_KEY, SLUICE_AUTOSCALER_TICK_MS (time between function scaling decisions, default 2000),
 * JWKS_REFRESH_MS (time between refreshes of consumers' JWKS URLs, default 300000).
 */
import { startControl } from "./server.ts";

const control = await startControl({
  dataDir: process.env.SLUICE_DATA_DIR || ".sluice",
  databaseUrl: process.env.DATABASE_URL || undefined,
  host: process.env.SLUICE_CONTROL_HOST || "127.0.0.1",
  port: Number(process.env.SLUICE_CONTROL_PORT || 7400),
});
console.log(`sluice control listening on ${control.url}`);
console.log(`admin token: ${control.tokens.admin.from === "env" ? "from SLUICE_ADMIN_TOKEN" : control.tokens.admin.path}`);
console.log(
  `metrics token (GET ${control.url}/metrics): ${control.tokens.metrics.from === "env" ? "from SLUICE_METRICS_TOKEN" : control.tokens.metrics.path}`,
);
console.log(`snapshot public key (gateway SNAPSHOT_PUBLIC_KEY): ${control.signingKey.publicKeyBase64}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void control.close().then(() => process.exit(0));
  });
}
