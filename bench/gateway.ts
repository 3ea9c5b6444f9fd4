/**
 * `npm run bench`: the Sluice gateway on every gateway runtime (GATEWAY_RUNTIMES) against that
 * runtime's own ceiling and against nginx, all on 127.0.0.1 and on this machine's cores. Targets,
 * one proxy process each by default (BENCH_PROCESSES), so runtimes compare process for process:
 *   - per runtime (skipped with a note when its binary or launcher is missing): the bare
 *     pass-through (bench/passthrough.ts: native server + native fetch(), nothing else) and the
 *     Sluice gateway (control in this process, demo route + its CEL policy: uid % 100 < 10 →
 *     canary, else stable) with telemetry as `npm start` runs it (access log on, metrics pushed
 *     to control every 5 s); on the default runtime also the same gateway with telemetry off
 *     (bench/targets.ts TELEMETRY_OFF: ACCESS_LOG=off, METRICS_PUSH_MS=0: no access log, no
 *     metrics recorded or pushed), and (BENCH_POLICIES50=all: every runtime) the
 *     gateway with 50 policies on the route (49 non-matching + the demo one, last); on the
 *     default runtime also (BENCH_EDGE=none skips them) the demo route with issue 16's plugins:
 *     key-auth (the client sends its `apikey`) + a local limit-count keyed by consumer (a quota
 *     never reached) + a proxy-rewrite header set from `$consumer_name`, and the same with the
 *     limit-count `cluster` (Redis at BENCH_REDIS_URL, default redis://127.0.0.1:6379; skipped
 *     with a note when it does not answer) — compared with the plain gateway row ("Edge
 *     protection cost", target ≤ +EDGE_BUDGET_US µs CPU/req). Each
 *     gateway's stdout/stderr, access log included, is written to its own file in build/bench/
 *     (truncated per run), so log lines cost a real write;
 *   - nginx proxy_pass (same worker count) and the Oceanus-style baseline (nginx + ngx_lua
 *     rendering and load()ing each of the same 50 policies per request, bench/oceanus/), when
 *     nginx (and the Lua module) is installed;
 *   - the upstream directly: nginx `return 200` (one worker, two ports: stable and canary), or a
 *     Node server when nginx is absent; its row shows it is not what limits the proxies.
 * Load: wrk -t1 (bench/wrk.ts; autocannon when wrk is absent), BENCH_CONNECTIONS keep-alive
 * connections, GET /bench?uid=0…999 with User-Agent and Accept as curl sends them (CLIENT_FIELDS;
 * on Bun a second gateway row is driven with Host only: its node:http path). Phase 1, saturation (closed loop); phase 2, each target at a
 * fixed rate of half its own phase-1 median req/s (wrk paced by bench/wrk/load.lua). Each phase
 * runs BENCH_ROUNDS rounds; a round runs every target once, warm-up then a measured window, and
 * the order alternates (ABC, CBA, …); tables show medians.
 * Measured: req/s (responses ÷ window s); latency p50/p99/p99.9/max of responses, ms; CPU per
 * request, µs = utime+stime (/proc/<pid>/stat) of the target's processes over the window ÷
 * responses; the same for the upstream and the load generator; and other processes' CPU (cores).
 * Prints markdown tables, "telemetry on vs off" (CPU µs/req of both, the difference against
 * TELEMETRY_BUDGET_US, req/s ratio, p50/p99) and the issue's targets (met / MISSED) for
 * DEFAULT_RUNTIME, and writes everything as JSON to build/bench/gateway.json (`telemetry`: the
 * comparison, what "off" means, the access-log file and its size).
 *
 * Environment: BENCH_SECONDS (measured window per run, default 10), BENCH_WARMUP_SECONDS (2),
 * BENCH_CONNECTIONS (32), BENCH_ROUNDS (2), BENCH_PROCESSES (1: processes per proxy, nginx
 * workers), BENCH_RUNTIMES (comma-separated subset of GATEWAY_RUNTIMES; default all),
 * BENCH_POLICIES50 (`default` | `all` | `none`), BENCH_EDGE (`default` | `none`), BENCH_REDIS_URL,
 * BENCH_HALF_RATE (0 skips phase 2),
 * BENCH_LOAD=autocannon (force autocannon). Every process started is stopped by PID at the end,
 * also on error or Ctrl-C.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_RUNTIME, GATEWAY_RUNTIMES, type GatewayRuntime } from "../worker/launcher/gateway.ts";
import { type LoadSettings, measure, type Run, type Target } from "./load.ts";
import { findNginx, nginxVersion, startNginxProxy } from "./nginx.ts";
import { oceanusMissing, startOceanus } from "./oceanus/nginx.ts";
import { benchPolicies, DEMO_POLICY, POLICY_COUNT } from "./oceanus/policies.ts";
import { PASSTHROUGHS, runtimeBinary, runtimeMissing } from "./passthrough.ts";
import {
  EDGE_BUDGET_US,
  edgeComparison,
  edgeTable,
  halfRateTable,
  median,
  saturationTable,
  summarize,
  TELEMETRY_BUDGET_US,
  telemetryComparison,
  telemetryTable,
  verdictLines,
  verdicts,
} from "./report.ts";
import {
  type BenchEdge,
  type Defer,
  type SluiceControl,
  startBenchUpstream,
  startSluice,
  startSluiceControl,
  TELEMETRY_OFF,
} from "./targets.ts";
import { loadGenerator } from "./wrk.ts";

/** The bench consumer's key-auth key (sent by the client as `apikey`). */
const BENCH_API_KEY = "bench-consumer-key-0123456789";

/** Issue 16's route: key-auth + limit-count (a quota never reached, so every request is counted and passes) + a header rewrite. */
function benchEdge(policy: "local" | "cluster"): BenchEdge {
  return {
    label: `key-auth + limit-count (${policy}) + header rewrite`,
    consumers: [{ name: "bench", credentials: { "key-auth": { key: BENCH_API_KEY } } }],
    plugins: {
      "key-auth": {},
      "limit-count": { count: 1_000_000_000, windowSeconds: 60, key: { from: "consumer" }, policy },
      "proxy-rewrite": { headers: { set: { "x-consumer": "$consumer_name" } } },
    },
  };
}

/** Whether a Redis answers PING at `url` within 1 s (the cluster row needs one). */
async function redisAnswers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) || 6379 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => done(data.toString().startsWith("+PONG")));
  });
}

/** Median CPU of other processes (cores) above which the report warns that the machine was busy. */
const BUSY_CORES = 0.2;
const JSON_PATH = fileURLToPath(new URL("../build/bench/gateway.json", import.meta.url));
/** Where the Sluice gateways' stdout and stderr (access logs) are written, one file per gateway, truncated per run. */
const LOG_DIR = dirname(JSON_PATH);
/** What the telemetry-off row turns off, for the report and the JSON. */
const TELEMETRY_OFF_MEANS = `${Object.entries(TELEMETRY_OFF)
  .map(([k, v]) => `${k}=${v}`)
  .join(", ")}: no access log, no metrics recorded or pushed; X-Request-Id still set; tracing is off in both rows (no TRACE_ENDPOINT)`;

function envInt(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got '${raw}'`);
  return n;
}

/** BENCH_RUNTIMES as runtimes, in GATEWAY_RUNTIMES order. @throws on a name that is not one. */
function benchRuntimes(): GatewayRuntime[] {
  const raw = process.env.BENCH_RUNTIMES;
  if (!raw) return [...GATEWAY_RUNTIMES];
  const wanted = raw.split(",").map((s) => s.trim());
  for (const name of wanted) {
    if (!GATEWAY_RUNTIMES.some((r) => r === name))
      throw new Error(`BENCH_RUNTIMES: "${name}" is not one of ${GATEWAY_RUNTIMES.join(", ")}`);
  }
  return GATEWAY_RUNTIMES.filter((r) => wanted.includes(r));
}

function packageVersion(name: string): string {
  const url = new URL(`../node_modules/${name}/package.json`, import.meta.url);
  return (JSON.parse(readFileSync(url, "utf8")) as { version: string }).version;
}

/** `<binary> --version`'s first line, or `absent`. */
function binaryVersion(runtime: string): string {
  const out = spawnSync(runtimeBinary(runtime), ["--version"], { encoding: "utf8" });
  return out.status === 0 ? `${out.stdout.split("\n")[0]?.trim()} (npm ${runtime} ${packageVersion(runtime)})` : "absent";
}

/**
 * Checks a target answers before it is measured: routers (gateways, Oceanus) must send uid
 * 0…99 where the demo policy says (uid % 100 < 10 → canary, else stable; the upstream's body
 * names the group), so the 49 extra policies match nothing; every other target answers 200 from
 * stable. @throws naming the target, the uid and what came back.
 */
async function checkTarget(target: Target): Promise<void> {
  const routes = ["gateway", "gatewayBare", "gatewayTelemetryOff", "gateway50", "gatewayEdge", "gatewayEdgeCluster", "oceanus"].includes(
    target.kind ?? "",
  );
  const uids = routes ? Array.from({ length: 100 }, (_, uid) => uid) : [1];
  for (const uid of uids) {
    const group = routes && uid % 100 < 10 ? "canary" : "stable";
    const res = await fetch(`${target.url}/bench?uid=${uid}`, { headers: target.fields });
    const body = await res.text();
    if (res.status !== 200 || !body.includes(`"group":"${group}"`)) {
      throw new Error(`${target.name}: uid=${uid} should reach ${group}; got ${res.status} ${body.slice(0, 200)}`);
    }
  }
}

function runLine(round: number, run: Run): string {
  const rate = run.rate === null ? "" : ` (offered ${Math.round(run.rate)})`;
  const late = run.lateSends ? `  late ${run.lateSends} (max lag ${run.lagMaxMs?.toFixed(1)} ms)` : "";
  return (
    `  round ${round} ${run.target.padEnd(44)} ${Math.round(run.reqPerSec).toString().padStart(6)} req/s${rate}  ` +
    `p50 ${run.p50Ms.toFixed(2)}  p99 ${run.p99Ms.toFixed(1)}  p99.9 ${run.p999Ms.toFixed(1)}  max ${run.maxMs.toFixed(0)} ms  ` +
    `errors ${run.non2xx}/${run.errors}  proxy CPU ${run.proxyCpuUs === null ? "—" : `${run.proxyCpuUs.toFixed(0)} µs/req`}  ` +
    `other load ${run.otherCores.toFixed(2)} cores${late}`
  );
}

/** Runs every target `rounds` times, order alternating per round; `rateOf` null = saturation. */
async function phase(
  name: string,
  targets: Target[],
  rounds: number,
  settings: LoadSettings,
  rateOf: (t: Target) => number | null,
): Promise<Map<Target, Run[]>> {
  console.log(`\n${name}`);
  const runs = new Map<Target, Run[]>(targets.map((t) => [t, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const target of order) {
      const run = await measure(target, settings, rateOf(target));
      runs.get(target)?.push(run);
      console.log(runLine(round + 1, run));
    }
  }
  return runs;
}

async function main(defer: Defer, signal: AbortSignal): Promise<void> {
  const seconds = envInt("BENCH_SECONDS", 10, 1);
  const warmupSeconds = envInt("BENCH_WARMUP_SECONDS", 2, 0);
  const connections = envInt("BENCH_CONNECTIONS", 32, 1);
  const rounds = envInt("BENCH_ROUNDS", 2, 1);
  const processes = envInt("BENCH_PROCESSES", 1, 1);
  const halfRate = envInt("BENCH_HALF_RATE", 1, 0) > 0;
  const policies50 = process.env.BENCH_POLICIES50 || "default";
  if (!["default", "all", "none"].includes(policies50))
    throw new Error(`BENCH_POLICIES50 must be default, all or none, got '${policies50}'`);
  const runtimes = benchRuntimes();
  const edge = (process.env.BENCH_EDGE || "default") !== "none";
  const redisUrl = process.env.BENCH_REDIS_URL || "redis://127.0.0.1:6379";
  const generator = await loadGenerator();
  const nginxBin = await findNginx();
  const notes: string[] = [];
  const skip = (note: string) => {
    notes.push(note);
    console.log(`skipped: ${note}`);
  };

  const versions: Record<string, string> = {
    node: process.version,
    load: generator.name,
    nginx: nginxBin ? nginxVersion(nginxBin) : "absent",
    ...Object.fromEntries(GATEWAY_RUNTIMES.map((r) => [r, binaryVersion(r)])),
  };
  const machine = {
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? "unknown CPU",
    memGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    loadAverageAtStart: Number(os.loadavg()[0].toFixed(2)),
  };
  console.log(`# Sluice gateway benchmark, ${new Date().toISOString()}
machine: nproc ${machine.nproc}, ${machine.cpu}, ${machine.memGiB} GiB RAM, load average at start ${machine.loadAverageAtStart}
versions: ${Object.entries(versions)
    .map(([k, v]) => `${k} ${v}`)
    .join("; ")}
method: ${generator.name}, ${connections} connections, ${processes} process(es) per proxy; ${rounds} round(s) per phase, order alternating; ${warmupSeconds} s warm-up + ${seconds} s measured per run; GET /bench?uid=0…999; default runtime ${DEFAULT_RUNTIME}`);

  const upstream = await startBenchUpstream(nginxBin, defer);
  const upstreamOrigin = `http://127.0.0.1:${upstream.stablePort}`;
  const targets: Target[] = [{ name: `upstream direct (${upstream.kind})`, url: upstreamOrigin, pids: [], kind: "upstream" }];
  const control = await startSluiceControl(upstream, [DEMO_POLICY], defer);
  let control50: SluiceControl | undefined;
  for (const runtime of runtimes) {
    const missing = runtimeMissing(runtime);
    if (missing) {
      skip(`${runtime}: ${missing}`);
      continue;
    }
    const passthrough = PASSTHROUGHS[runtime];
    if (passthrough) {
      const target = await passthrough(upstreamOrigin, processes, defer);
      targets.push({ ...target, kind: "passthrough", runtime });
    } else skip(`pass-through, ${runtime}: no pass-through entry in bench/passthrough.ts`);
    const with50 = policies50 === "all" || (policies50 === "default" && runtime === DEFAULT_RUNTIME);
    try {
      const gateway = await startSluice(control, runtime, processes, defer, { logDir: LOG_DIR });
      targets.push(gateway);
      // Next to the gateway row, so the alternating order keeps the two adjacent (…AB…, …BA…).
      if (runtime === DEFAULT_RUNTIME)
        targets.push(await startSluice(control, runtime, processes, defer, { logDir: LOG_DIR, telemetryOff: true }));
      // Bun proxies a request without User-Agent and Accept through node:http (worker/runtime/bun.ts): that path's own row.
      if (runtime === "bun")
        targets.push({ ...gateway, name: `${gateway.name}, client sending Host only`, kind: "gatewayBare", bareClient: true });
      if (runtime === DEFAULT_RUNTIME && edge) {
        const fields = { apikey: BENCH_API_KEY };
        const local = await startSluiceControl(upstream, [DEMO_POLICY], defer, benchEdge("local"));
        targets.push(await startSluice(local, runtime, processes, defer, { logDir: LOG_DIR, kind: "gatewayEdge", fields }));
        if (await redisAnswers(redisUrl)) {
          const cluster = await startSluiceControl(upstream, [DEMO_POLICY], defer, benchEdge("cluster"));
          targets.push(
            await startSluice(cluster, runtime, processes, defer, { logDir: LOG_DIR, kind: "gatewayEdgeCluster", fields, redisUrl }),
          );
        } else skip(`cluster limit-count row: no Redis answering at ${redisUrl} (BENCH_REDIS_URL)`);
      }
      if (with50) {
        control50 ??= await startSluiceControl(upstream, benchPolicies(POLICY_COUNT), defer);
        targets.push(await startSluice(control50, runtime, processes, defer, { logDir: LOG_DIR }));
      }
    } catch (err) {
      skip(`Sluice gateway, ${runtime}: could not start (${(err as Error).message})`);
    }
  }
  if (nginxBin) {
    targets.push({ ...(await startNginxProxy(nginxBin, upstream.stablePort, processes, defer)), kind: "nginx" });
    const lua = oceanusMissing();
    if (lua) skip(`Oceanus-style baseline: ${lua}`);
    else targets.push({ ...(await startOceanus(nginxBin, upstream, benchPolicies(POLICY_COUNT), processes, defer)), kind: "oceanus" });
  } else
    skip(
      "nginx proxy_pass and the Oceanus-style baseline: nginx not installed (Debian: apt-get install nginx-light libnginx-mod-http-lua)",
    );
  for (const target of targets) await checkTarget(target);
  console.log(`pids: upstream ${upstream.pids.join(",")}; ${targets.map((t) => `${t.name} ${t.pids.join(",") || "—"}`).join("; ")}`);

  const settings: LoadSettings = { generator, connections, seconds, warmupSeconds, upstreamPids: upstream.pids, signal };
  const satRuns = await phase("Phase 1: saturation (closed loop)", targets, rounds, settings, () => null);
  const saturation = targets.map((t) => summarize(t, satRuns.get(t) ?? []));
  const halfRuns = halfRate
    ? await phase("Phase 2: fixed rate, half of each target's saturation req/s", targets, rounds, settings, (t) =>
        // At least 1 req/s: a rate of 0 would make the generator run closed loop.
        Math.max(1, 0.5 * (saturation.find((s) => s.target === t.name)?.reqPerSec ?? 0)),
      )
    : new Map<Target, Run[]>();
  const half = halfRate ? targets.map((t) => summarize(t, halfRuns.get(t) ?? [])) : [];

  const allRuns = [...satRuns.values(), ...halfRuns.values()].flat();
  const measuredRuntimes = runtimes.filter((r) => saturation.some((s) => s.kind === "gateway" && s.runtime === r));
  const verdictsByRuntime = Object.fromEntries(measuredRuntimes.map((r) => [r, verdicts(r, saturation, half)]));
  const other = allRuns.map((r) => r.otherCores);
  const telemetry = telemetryComparison(DEFAULT_RUNTIME, saturation, half);
  const edgeCost = edgeComparison(DEFAULT_RUNTIME, saturation);
  const accessLogFile = targets.find((t) => t.kind === "gateway" && t.runtime === DEFAULT_RUNTIME)?.logFile;
  const accessLog = accessLogFile ? { file: accessLogFile, bytes: statSync(accessLogFile).size } : null;
  console.log(`
## Saturation

${saturationTable(saturation)}
${
  halfRate
    ? `
## Half of saturation (fixed rate)

${halfRateTable(half)}
`
    : ""
}
## Telemetry on vs off, default runtime (${DEFAULT_RUNTIME})

${
  telemetry
    ? `${telemetryTable(telemetry)}

on: telemetry as \`npm start\` runs it (access log on, every line written to ${accessLog ? `${accessLog.file}, ${(accessLog.bytes / 2 ** 20).toFixed(1)} MiB this run` : "a file"}; metrics recorded and pushed to control every 5 s). off: ${TELEMETRY_OFF_MEANS}. Target: on ≤ off + ${TELEMETRY_BUDGET_US} µs CPU/req.`
    : `not measured: the ${DEFAULT_RUNTIME} gateway or its telemetry-off row was skipped`
}

## Edge protection cost, default runtime (${DEFAULT_RUNTIME})

${
  edgeCost
    ? `${edgeTable(edgeCost)}

Plain: the demo route (its CEL policy) with telemetry on. Edge rows add key-auth (the client sends its apikey), a limit-count keyed by consumer whose quota is never reached, and a proxy-rewrite header from $consumer_name; the cluster row checks every request in Redis (${redisUrl}). Target: local row ≤ plain + ${EDGE_BUDGET_US} µs CPU/req; the cluster row is reported.`
    : "not measured: BENCH_EDGE=none, or the plain or edge row was skipped"
}

## Targets, default runtime (${DEFAULT_RUNTIME})

${DEFAULT_RUNTIME in verdictsByRuntime ? verdictLines(verdictsByRuntime[DEFAULT_RUNTIME] ?? []).join("\n") : `not measured: ${DEFAULT_RUNTIME} was skipped`}
${measuredRuntimes
  .filter((r) => r !== DEFAULT_RUNTIME)
  .map((r) => `\nSame targets on ${r} (for information):\n\n${verdictLines(verdictsByRuntime[r] ?? []).join("\n")}`)
  .join("\n")}
${notes.length > 0 ? `\nSkipped: ${notes.join("; ")}.\n` : ""}
Other processes' CPU during the windows (machine quietness): median ${median(other).toFixed(2)} cores, max ${Math.max(...other).toFixed(2)} of ${machine.nproc}.${
    median(other) > BUSY_CORES
      ? `\nWARNING: other processes used more than ${BUSY_CORES} cores during most windows: the machine was busy, these figures are not reliable.`
      : ""
  }
Notes: medians over ${rounds} run(s) per target and phase (of an even count, the mean of the middle two); max is the slowest response of all runs; errors are summed (error status = HTTP ≥ 400 under wrk, non-2xx under autocannon).
Latency: per response from its send (no coordinated-omission correction); at a fixed rate, "late sends" left > 1 ms after their slot (all connections busy, or wrk not scheduled), so a run with many is closer to saturation than its offered rate says.
CPU µs/req = utime+stime over the measured window ÷ responses. proxy: the target's processes (${processes} per proxy; nginx: master + ${processes} worker(s)); upstream: ${upstream.kind}; client: the load generator. Load generator, upstream and proxy share the same ${machine.nproc} cores, so req/s is bounded by their sum: compare ratios and CPU per request rather than absolute req/s.`);

  mkdirSync(dirname(JSON_PATH), { recursive: true });
  writeFileSync(
    JSON_PATH,
    `${JSON.stringify(
      {
        bench: "gateway",
        date: new Date().toISOString(),
        machine,
        versions,
        settings: { seconds, warmupSeconds, connections, rounds, processes, halfRate, policies50, runtimes, generator: generator.name },
        defaultRuntime: DEFAULT_RUNTIME,
        upstream: upstream.kind,
        skipped: notes,
        units: { reqPerSec: "responses/s", latency: "ms", cpu: "µs per response", otherCores: "cores" },
        saturation,
        halfRate: half,
        verdicts: verdictsByRuntime,
        telemetry: telemetry ? { ...telemetry, offMeans: TELEMETRY_OFF_MEANS, accessLog } : null,
        edge: edgeCost ? { budgetUs: EDGE_BUDGET_US, plain: edgeCost.plain.target, rows: edgeCost.rows } : null,
        otherCores: { median: median(other), max: Math.max(...other) },
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nJSON: ${JSON_PATH}`);
}

const stops: (() => Promise<void>)[] = [];
const abort = new AbortController();
let stopping: Promise<void> | undefined;

/** Runs every registered stop, newest first, once. */
function stopAll(): Promise<void> {
  stopping ??= (async () => {
    for (const stop of stops.reverse()) await stop().catch((err: Error) => console.error(`bench: stop failed: ${err.message}`));
  })();
  return stopping;
}

for (const name of ["SIGINT", "SIGTERM"] as const) {
  process.once(name, () => {
    console.error(`\nbench: ${name}, stopping every process it started`);
    abort.abort(new Error(`interrupted by ${name}`));
    void stopAll().then(() => process.exit(130));
  });
}

let exitCode = 0;
try {
  await main((stop) => stops.push(stop), abort.signal);
} catch (err) {
  if (!abort.signal.aborted) {
    console.error(`bench: failed: ${(err as Error).stack ?? err}`);
    exitCode = 1;
  }
} finally {
  await stopAll();
}
process.exit(abort.signal.aborted ? 130 : exitCode);
