/**
 * `npm run bench:coldstart`: how long a request to a function at zero instances takes to its
 * first byte (Nest's ~2 s, Knative's 2–10 s: issue 15 targets p50 < 50 ms, p99 < 200 ms), and
 * what the activator path costs a warm request.
 *
 * All on 127.0.0.1 (bench/functions-stack.ts): control (PGlite), BENCH_GATEWAY_PROCESSES (1)
 * gateway processes, one agent running instances as workerd processes.
 * - Cold: BENCH_ACTIVATIONS (60) functions, each created at zero (initialScale 0); each is called
 *   once, one after the other, and the time from sending to the response headers is a cold start
 *   — gateway buffer, poke, scaler decision, assignment long poll, workerd start, report,
 *   snapshot rebuild and its long poll, the proxied request.
 * - Warm: BENCH_WARM_REQUESTS (2000) sequential requests to a warm function through the gateway,
 *   against the same instance reached through an ordinary group route (a static instance at the
 *   instance's queue-proxy address) and directly: the differences are the function path's cost
 *   (version choice, activator check) and the gateway's.
 * Prints a table and writes build/bench/coldstart.json.
 */
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import { deployFunction, type FunctionStack, startFunctionStack } from "./functions-stack.ts";
import { runBenchMain, type Stop } from "./run-main.ts";
import { percentile } from "./stats.ts";

const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const ACTIVATIONS = env("BENCH_ACTIVATIONS", 60);
const WARM_REQUESTS = env("BENCH_WARM_REQUESTS", 2000);
const GATEWAY_PROCESSES = env("BENCH_GATEWAY_PROCESSES", 1);
const TICK_MS = env("BENCH_TICK_MS", 2000);
const APPKEY = "bench.coldstart";
/** Issue 15's targets, ms. */
const TARGET_P50_MS = 50;
const TARGET_P99_MS = 200;

const stops: Stop[] = [];

/** ms from sending to the response headers; the body is read after the clock stops. @throws on a non-200. */
async function timeToHeaders(url: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(url);
  const ms = performance.now() - started;
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${url} → ${res.status} ${text}`);
  return ms;
}

async function until<T>(probe: () => Promise<T | null>, timeoutMs: number, what: string): Promise<T> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const value = await probe().catch(() => null);
    if (value !== null) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms`);
}

/** The gateway's groups by name (from its status document). */
async function groups(stack: FunctionStack): Promise<Map<string, { instances: { address: string }[] }>> {
  // A routed request keeps the isolate's snapshot poll running (the status document does not).
  await fetch(`${stack.gateway.url}/__wake`).then((r) => r.arrayBuffer());
  const doc = await stack.status();
  return new Map((doc.balancing?.groups ?? []).map((g: { name: string }) => [g.name, g]));
}

function stats(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { count: sorted.length, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), maxMs: sorted[sorted.length - 1] ?? 0 };
}

async function main(): Promise<void> {
  const stack = await startFunctionStack({ tickMs: TICK_MS, gatewayProcesses: GATEWAY_PROCESSES, appkey: APPKEY }, stops);
  const names = Array.from({ length: ACTIVATIONS }, (_, i) => `cold${i + 1}`);
  for (const name of names) await deployFunction(stack, APPKEY, name, { initialScale: 0, minInstances: 0 });
  // Every route and entry group is in the gateway's snapshot before the first cold request.
  await until(async () => ((await groups(stack)).has(`fn:${names[names.length - 1]}`) ? true : null), 10_000, "all routes in the gateway");

  const cold: number[] = [];
  for (const name of names) cold.push(await timeToHeaders(`${stack.gateway.url}/${name}`));

  // Warm: the first function now has an instance; find its queue-proxy address.
  const warmName = names[0] as string;
  const address = await until(
    async () => (await groups(stack)).get(`fn:${warmName}@1`)?.instances[0]?.address ?? null,
    10_000,
    "the warm instance in the status document",
  );
  const [host, port] = address.split(":");
  await stack.admin("POST", `/v1/services/${APPKEY}/groups`, { name: "direct" });
  await stack.admin("POST", `/v1/services/${APPKEY}/groups/direct/instances`, { host, port: Number(port) });
  await stack.admin("POST", "/v1/routes", { appkey: APPKEY, path: "/direct", match: "prefix", defaultGroup: "direct" });
  await until(async () => ((await groups(stack)).get("direct")?.instances.length ? true : null), 10_000, "the direct group");

  const series = async (url: string) => {
    for (let i = 0; i < 200; i++) await timeToHeaders(url); // warm-up: connections, JIT
    const samples: number[] = [];
    for (let i = 0; i < WARM_REQUESTS; i++) samples.push(await timeToHeaders(url));
    return stats(samples);
  };
  const viaFunction = await series(`${stack.gateway.url}/${warmName}`);
  const viaGroup = await series(`${stack.gateway.url}/direct`);
  const direct = await series(`http://${address}/`);
  const coldStats = stats(cold);

  const result = {
    bench: "coldstart",
    date: new Date().toISOString(),
    machine: `${os.cpus()[0]?.model ?? "?"} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    settings: { activations: ACTIVATIONS, warmRequests: WARM_REQUESTS, gatewayProcesses: GATEWAY_PROCESSES, tickMs: TICK_MS },
    cold: {
      ...coldStats,
      targetP50Ms: TARGET_P50_MS,
      targetP99Ms: TARGET_P99_MS,
      met: coldStats.p50Ms < TARGET_P50_MS && coldStats.p99Ms < TARGET_P99_MS,
    },
    warm: {
      viaFunction,
      viaGroup,
      direct,
      functionPathCostP50Ms: viaFunction.p50Ms - viaGroup.p50Ms,
      gatewayCostP50Ms: viaGroup.p50Ms - direct.p50Ms,
    },
  };
  const f = (ms: number) => ms.toFixed(2);
  console.log(`\ncold start (request at zero → first byte), ${ACTIVATIONS} activations, ${result.machine}`);
  console.log("| what | count | p50 ms | p99 ms | max ms | target | met |");
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  console.log(
    `| cold start | ${coldStats.count} | ${f(coldStats.p50Ms)} | ${f(coldStats.p99Ms)} | ${f(coldStats.maxMs)} | p50 < ${TARGET_P50_MS}, p99 < ${TARGET_P99_MS} | ${result.cold.met ? "yes" : "NO"} |`,
  );
  console.log(`\nwarm requests, ${WARM_REQUESTS} each, sequential`);
  console.log("| path | p50 ms | p99 ms | p50 vs group route |");
  console.log("| --- | --- | --- | --- |");
  for (const [label, s] of [
    ["gateway → function", viaFunction],
    ["gateway → group route, same instance", viaGroup],
    ["direct to the instance", direct],
  ] as const) {
    console.log(`| ${label} | ${f(s.p50Ms)} | ${f(s.p99Ms)} | ${(s.p50Ms / viaGroup.p50Ms).toFixed(2)}× |`);
  }
  await mkdir("build/bench", { recursive: true });
  await writeFile("build/bench/coldstart.json", `${JSON.stringify(result, null, 2)}\n`);
}

await runBenchMain(main, stops);
