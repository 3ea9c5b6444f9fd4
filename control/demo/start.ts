/**
 * `npm start`: control on the embedded database, the gateway on SLUICE_RUNTIME (`bun`, the
 * default: DEFAULT_RUNTIME; `workerd` or `deno`; one process per core), three demo upstreams on 127.0.0.1 and the demo
 * route + policy, a node agent running function instances (`--functions`) and the demo function
 * `greet` at `/fn`; prints how to try it. Ctrl-C stops every process it started. Ports:
 * SLUICE_CONTROL_PORT (7400), SLUICE_GATEWAY_PORT (8080), SLUICE_DEMO_PORT (9101: stable
 * 9101–9102, canary 9103). Data: SLUICE_DATA_DIR (.sluice).
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseRuntime, startGateway } from "../../worker/launcher/gateway.ts";
import { startControl } from "../server.ts";
import { demoAgentToken, seedDemo, seedDemoFunction } from "./seed.ts";
import { startUpstream } from "./upstream-server.ts";

const env = process.env;
const port = (name: string, fallback: number) => Number(env[name] || fallback);
const dataDir = env.SLUICE_DATA_DIR || ".sluice";
const demoPort = port("SLUICE_DEMO_PORT", 9101);

const AGENT_MAIN = fileURLToPath(new URL("../../agents/main.ts", import.meta.url));

const stoppers: (() => Promise<void>)[] = [];
async function stopAll(code: number): Promise<never> {
  for (const stop of stoppers.reverse()) await stop().catch(() => {});
  process.exit(code);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void stopAll(0));

try {
  const runtime = parseRuntime(env.SLUICE_RUNTIME);
  const control = await startControl({ dataDir, databaseUrl: env.DATABASE_URL || undefined, port: port("SLUICE_CONTROL_PORT", 7400) });
  stoppers.push(control.close);
  const upstreams = await Promise.all([
    startUpstream("stable-1", demoPort),
    startUpstream("stable-2", demoPort + 1),
    startUpstream("canary-1", demoPort + 2),
  ]);
  for (const u of upstreams) stoppers.push(u.close);
  await seedDemo(control.url, control.tokens.adminToken, {
    stable: [upstreams[0].port, upstreams[1].port],
    canary: [upstreams[2].port],
  });
  await seedDemoFunction(control.url, control.tokens.adminToken);
  await control.builder.rebuild();
  const gateway = await startGateway({
    runtime,
    controlUrl: control.url,
    gatewayToken: control.tokens.gatewayToken,
    snapshotPublicKey: control.signingKey.publicKeyBase64,
    port: port("SLUICE_GATEWAY_PORT", 8080),
    statusToken: env.SLUICE_STATUS_TOKEN || undefined,
  });
  stoppers.push(gateway.close);
  // The node agent runs the function's instances as workerd processes. Its own log goes nowhere
  // but its errors; it talks to control only over HTTP, with an agent token. Started after the
  // gateway so that it stops before it (stoppers run in reverse): its drain waits for the
  // gateways to acknowledge, then ends its instances.
  const agent = spawn(
    process.execPath,
    [AGENT_MAIN, "--control", control.url, "--functions", "--node", "demo-node", "--data-dir", `${dataDir}/agent`],
    {
      stdio: ["ignore", "ignore", "inherit"],
      env: { PATH: env.PATH ?? "", SLUICE_AGENT_TOKEN: await demoAgentToken(control.url, control.tokens.adminToken) },
    },
  );
  stoppers.push(async () => {
    if (agent.exitCode !== null || agent.signalCode !== null) return;
    const exited = new Promise((resolve) => agent.once("exit", resolve));
    agent.kill("SIGTERM"); // drains its instances, then exits
    const timer = setTimeout(() => agent.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
  });
  const first = await fetch(`${gateway.url}/`);
  await first.body?.cancel();

  const tokenNote =
    control.tokens.admin.from === "env" ? "SLUICE_ADMIN_TOKEN (from your environment)" : `${control.tokens.admin.path} (mode 0600)`;
  const metricsNote =
    control.tokens.metrics.from === "env" ? "SLUICE_METRICS_TOKEN (from your environment)" : `${control.tokens.metrics.path} (mode 0600)`;
  console.log(`
Sluice is running.
  gateway  ${gateway.url}   (${runtime} ×${gateway.pids.length}, pids ${gateway.pids.join(", ")}; first request: ${first.status})
  control  ${control.url}/v1   (OpenAPI: ${control.url}/v1/openapi.json)
  admin token: ${tokenNote}
  metrics  ${control.url}/metrics   (Prometheus; token: ${metricsNote}; docs/metrics.md)
  status document: ${env.SLUICE_STATUS_TOKEN ? `${gateway.url}/__sluice/status with "Authorization: Bearer $SLUICE_STATUS_TOKEN"` : "off (set SLUICE_STATUS_TOKEN to serve it)"}

Try the routing (policy demo-canary-uid: int(uid) % 100 < 10 → group canary, else stable):
  curl -s '${gateway.url}/hello?uid=7'      # uid 7 → canary-1
  curl -s '${gateway.url}/hello?uid=42'     # uid 42 → stable-1 / stable-2, round robin
  curl -s -H "authorization: Bearer $(cat ${control.tokens.admin.path ?? "$SLUICE_ADMIN_TOKEN"})" ${control.url}/v1/routes

Try a rate limit (route /limited: limit-count 5 per 10 s per client, counted per gateway process — ${gateway.pids.length} here; docs/edge-protection.md):
  for i in $(seq 12); do curl -s -o /dev/null -w '%{http_code} ' '${gateway.url}/limited'; done; echo   # 200 up to ${5 * gateway.pids.length} times, then 429

Try a function (greet, at zero instances until called; docs/functions-runtime.md):
  curl -s '${gateway.url}/fn'            # cold start: the agent starts a workerd instance, then it answers

Ctrl-C stops everything.`);
} catch (err) {
  console.error(`sluice: start failed: ${(err as Error).stack ?? err}`);
  await stopAll(1);
}
