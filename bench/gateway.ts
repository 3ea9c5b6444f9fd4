/**
 * `npm run bench`: throughput, latency and CPU per request of the Sluice gateway against the
 * runtime's own ceiling, all on 127.0.0.1 and all at once on this machine's cores:
 *   1. Sluice gateway — workerd ×2 running the built Worker, demo route + one CEL policy, so
 *      every request runs a real decision (uid varies: 10 % canary, 90 % stable);
 *   2. pass-through Worker — bench/passthrough-worker.js, same launcher, process count and
 *      compatibility date: fetch() to the upstream and nothing else;
 *   3. the upstream directly (a Node http server in a child process, fixed 48-byte body);
 *   4. nginx proxy_pass, when `nginx` is on PATH.
 * Load: autocannon (closed loop, keep-alive) in this process. Each round runs every target once,
 * warm-up then a measured window; rounds alternate the order (ABCD, DCBA, …) and the table shows
 * medians. CPU per request = utime + stime of the target's processes over the window ÷ responses.
 *
 * Environment: BENCH_SECONDS (measured window per run, default 10), BENCH_WARMUP_SECONDS (2),
 * BENCH_CONNECTIONS (64), BENCH_ROUNDS (2). Every process started is stopped by PID at the end,
 * also on error or Ctrl-C.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { WORKERD_BIN } from "../worker/launcher/workerd.ts";
import { type LoadSettings, measure, type Run, type Target } from "./load.ts";
import { findNginx, nginxVersion, startNginx } from "./nginx.ts";
import { markdownTable, median, summarize, verdicts } from "./report.ts";
import { type BenchUpstream, type Defer, startBenchUpstream, startPassthrough, startSluice } from "./targets.ts";

/** workerd processes, and nginx workers, per proxy. */
const PROCESSES = 2;

function envInt(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got '${raw}'`);
  return n;
}

function packageVersion(name: string): string {
  const url = new URL(`../node_modules/${name}/package.json`, import.meta.url);
  return (JSON.parse(readFileSync(url, "utf8")) as { version: string }).version;
}

/** One request to each outcome of the demo policy, checked at the upstream's per-port counters. */
async function checkPolicyOutcomes(gateway: Target, upstream: BenchUpstream): Promise<void> {
  for (const [uid, outcome] of [
    [7, "canary"],
    [42, "stable"],
  ] as const) {
    const before = await upstream.counts();
    const res = await fetch(`${gateway.url}/bench?uid=${uid}`);
    const body = await res.text();
    const after = await upstream.counts();
    const reached = `stable +${after.stable - before.stable}, canary +${after.canary - before.canary}`;
    if (res.status !== 200 || after[outcome] - before[outcome] !== 1) {
      throw new Error(`gateway: uid=${uid} should reach ${outcome} only; got ${res.status} (${reached}) ${body.slice(0, 200)}`);
    }
  }
}

async function checkAnswers(target: Target): Promise<void> {
  const res = await fetch(`${target.url}/bench?uid=1`);
  const body = await res.text();
  if (res.status !== 200) throw new Error(`${target.name}: ${res.status} ${body.slice(0, 200)}`);
}

function printHeader(settings: Omit<LoadSettings, "signal">, rounds: number, nginx: string | null): void {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const workerd = spawnSync(WORKERD_BIN, ["--version"], { encoding: "utf8" }).stdout.trim();
  console.log(`# Sluice gateway benchmark, ${new Date().toISOString()}
machine: nproc ${os.availableParallelism()}, ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, load average at start ${os.loadavg()[0].toFixed(2)}
versions: ${workerd} (npm workerd ${packageVersion("workerd")}), node ${process.version}, ${nginx ? `nginx ${nginx}` : "nginx absent (row skipped)"}, autocannon ${packageVersion("autocannon")}
method: ${rounds} round(s); each runs every target once (order alternates between rounds), ${settings.warmupSeconds} s warm-up + ${settings.seconds} s measured, ${settings.connections} connections, GET /bench?uid=0…999`);
}

async function main(defer: Defer, signal: AbortSignal): Promise<void> {
  const settings: LoadSettings = {
    seconds: envInt("BENCH_SECONDS", 10, 1),
    warmupSeconds: envInt("BENCH_WARMUP_SECONDS", 2, 0),
    connections: envInt("BENCH_CONNECTIONS", 64, 1),
    signal,
  };
  const rounds = envInt("BENCH_ROUNDS", 2, 1);
  const nginxBin = await findNginx();
  printHeader(settings, rounds, nginxBin ? nginxVersion(nginxBin) : null);

  const upstream = await startBenchUpstream(defer);
  const upstreamOrigin = `http://127.0.0.1:${upstream.stablePort}`;
  const direct: Target = { name: "upstream direct", url: upstreamOrigin, pids: [] };
  const passthrough = await startPassthrough(upstreamOrigin, PROCESSES, defer);
  const gateway = await startSluice(upstream, PROCESSES, defer);
  const nginx = nginxBin ? await startNginx(nginxBin, upstream.stablePort, PROCESSES, defer) : null;
  const targets = [direct, passthrough, gateway, ...(nginx ? [nginx] : [])];
  await checkPolicyOutcomes(gateway, upstream);
  for (const target of targets) await checkAnswers(target);
  console.log(
    `pids: gateway ${gateway.pids.join(",")}; pass-through ${passthrough.pids.join(",")}; upstream ${upstream.pid}` +
      (nginx ? `; nginx ${nginx.pids.join(",")}` : ""),
  );

  const runs = new Map<Target, Run[]>(targets.map((t) => [t, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const target of order) {
      const run = await measure(target, upstream, settings);
      runs.get(target)?.push(run);
      console.log(
        `  round ${round + 1} ${target.name.padEnd(20)} ${Math.round(run.reqPerSec).toString().padStart(6)} req/s  ` +
          `p50 ${run.p50Ms.toFixed(2)} ms  p99 ${run.p99Ms.toFixed(1)} ms  max ${run.maxMs.toFixed(0)} ms  non-2xx ${run.non2xx}  errors ${run.errors}  ` +
          `proxy CPU ${run.proxyCpuUs === null ? "—" : `${run.proxyCpuUs.toFixed(0)} µs/req`}  other load ${run.otherCores.toFixed(2)} cores`,
      );
    }
  }

  const summaries = new Map(targets.map((t) => [t, summarize(t.name, runs.get(t) ?? [])]));
  const ptSummary = summaries.get(passthrough)!;
  const gwSummary = summaries.get(gateway)!;
  const gwRuns = gwSummary.runs;
  const allRuns = [...runs.values()].flat();
  const canary = gwRuns.reduce((acc, r) => acc + r.upstreamCanary, 0);
  const stable = gwRuns.reduce((acc, r) => acc + r.upstreamStable, 0);
  console.log(`
${markdownTable([...summaries.values()], ptSummary)}

${verdicts(gwSummary, ptSummary).join("\n")}

Other processes' CPU during the windows (machine quietness): median ${median(allRuns.map((r) => r.otherCores)).toFixed(2)} cores, max ${Math.max(...allRuns.map((r) => r.otherCores)).toFixed(2)} of ${os.availableParallelism()}.
Policy outcomes at the upstream during the gateway's windows: ${canary} canary, ${stable} stable (${((100 * canary) / (canary + stable)).toFixed(1)} % canary; policy: 10 %).
Notes: medians over ${rounds} run(s) per target (of an even count, the mean of the middle two); non-2xx and errors are summed over runs.
Latency: every response's time as autocannon measured it, nearest-rank percentiles (closed loop: no coordinated-omission correction).
CPU µs/req = utime+stime (/proc/<pid>/stat) over the measured window ÷ responses. proxy: the target's own processes
(workerd ×${PROCESSES}; nginx master + ${PROCESSES} workers); upstream: the Node upstream; client: this process (autocannon, plus
control answering each gateway isolate's 1 s snapshot poll). Load generator, upstream and proxy share the same ${os.availableParallelism()} cores,
so req/s is bounded by their sum: compare ratios and CPU per request rather than absolute req/s.`);
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
