/**
 * `npm run bench:autoscale`: a step-up / step-down load on one function, printing the desired and
 * actual (ready) instance timeline the scaler and the agent produced, and the failed requests
 * (issue 15's target: 0).
 *
 * All on 127.0.0.1 (bench/functions-stack.ts). The function answers after 100 ms
 * (BENCH_FUNCTION `?ms=100`); its scaling: target 2 in flight per instance at utilisation 1,
 * stable window 6 s (the minimum; panic window 10 % = 0.6 s), scale-to-zero grace 2 s, from zero.
 * Load: closed-loop clients, each sending its next request when the last is answered —
 * BENCH_STEPS (default `0:2,4:8,14:2,24:0` — at t seconds, c clients), until BENCH_DURATION_S (40).
 * Expected: ⌈c ÷ 2⌉ instances at each step (8 clients → 4), then 1, then 0 after the stable
 * window and the grace. Samples control's `sluice_function_instances` every 500 ms.
 * Prints the timeline and writes build/bench/autoscale.json.
 */
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import { deployFunction, type FunctionStack, startFunctionStack } from "./functions-stack.ts";
import { runBenchMain, type Stop } from "./run-main.ts";

const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const DURATION_S = env("BENCH_DURATION_S", 40);
const TICK_MS = env("BENCH_TICK_MS", 1000);
const STEPS = (process.env.BENCH_STEPS ?? "0:2,4:8,14:2,24:0").split(",").map((s) => {
  const [at, clients] = s.split(":").map(Number);
  return { atS: at as number, clients: clients as number };
});
const APPKEY = "bench.autoscale";
const NAME = "step";
const TARGET = 2;
const SAMPLE_MS = 500;

const stops: Stop[] = [];

interface Sample {
  tS: number;
  clients: number;
  desired: number;
  ready: number;
}

/** Reads one gauge series of control's /metrics (admin token), 0 when absent. */
async function instancesGauge(stack: FunctionStack, state: string): Promise<number> {
  const text = await stack.adminText("/metrics");
  const line = text
    .split("\n")
    .find((l) => l.startsWith("sluice_function_instances{") && l.includes(`function="${NAME}"`) && l.includes(`state="${state}"`));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

async function main(): Promise<void> {
  const stack = await startFunctionStack({ tickMs: TICK_MS, gatewayProcesses: 1, appkey: APPKEY }, stops);
  await deployFunction(stack, APPKEY, NAME, {
    initialScale: 0,
    minInstances: 0,
    targetConcurrency: TARGET,
    targetUtilization: 1,
    stableWindowMs: 6000,
    scaleToZeroGraceMs: 2000,
  });
  const url = `${stack.gateway.url}/${NAME}?ms=100`;
  // The route is in the gateway's snapshot (a 404 would count as a failure otherwise).
  for (let i = 0; i < 200; i++) {
    await fetch(`${stack.gateway.url}/__wake`).then((r) => r.arrayBuffer());
    const doc = await stack.status();
    if ((doc.balancing?.groups ?? []).some((g: { name: string }) => g.name === `fn:${NAME}`)) break;
    await new Promise((r) => setTimeout(r, 50));
  }

  let wanted = 0;
  let ok = 0;
  const failures = new Map<string, number>();
  /** Client `k` runs while fewer than k + 1 clients are wanted; it is started again when a step wants it back. */
  const active = new Set<number>();
  const client = async (k: number) => {
    active.add(k);
    while (k < wanted) {
      try {
        const res = await fetch(url);
        await res.arrayBuffer();
        if (res.status === 200) ok += 1;
        else failures.set(String(res.status), (failures.get(String(res.status)) ?? 0) + 1);
      } catch (error) {
        const key = (error as Error).message;
        failures.set(key, (failures.get(key) ?? 0) + 1);
      }
    }
    active.delete(k);
  };
  const clients: Promise<void>[] = [];
  const samples: Sample[] = [];
  const started = Date.now();
  while (Date.now() - started < DURATION_S * 1000) {
    const tS = (Date.now() - started) / 1000;
    const step = [...STEPS].reverse().find((s) => s.atS <= tS);
    const target = step?.clients ?? 0;
    if (target !== wanted) {
      // Clients above the new count stop by themselves after their request in flight.
      wanted = target;
      for (let k = 0; k < wanted; k++) if (!active.has(k)) clients.push(client(k));
    }
    const [desired, ready] = await Promise.all([instancesGauge(stack, "desired"), instancesGauge(stack, "ready")]);
    samples.push({ tS: Math.round(tS * 10) / 10, clients: wanted, desired, ready });
    await new Promise((r) => setTimeout(r, SAMPLE_MS));
  }
  wanted = 0;
  await Promise.all(clients);

  const failed = [...failures.values()].reduce((a, b) => a + b, 0);
  console.log(`\nautoscale timeline (target ${TARGET} in flight per instance, 100 ms requests), ${os.cpus().length} cores`);
  console.log("| t s | clients | expected | desired | ready |");
  console.log("| --- | --- | --- | --- | --- |");
  let last = "";
  for (const s of samples) {
    const row = `${s.clients}|${s.desired}|${s.ready}`;
    if (row === last) continue; // print changes only
    last = row;
    console.log(`| ${s.tS.toFixed(1)} | ${s.clients} | ${Math.ceil(s.clients / TARGET)} | ${s.desired} | ${s.ready} |`);
  }
  console.log(`\nrequests: ${ok} answered 200, ${failed} failed ${failed ? JSON.stringify(Object.fromEntries(failures)) : ""} (target 0)`);
  const result = {
    bench: "autoscale",
    date: new Date().toISOString(),
    machine: `${os.cpus()[0]?.model ?? "?"} × ${os.cpus().length}`,
    settings: { steps: STEPS, durationS: DURATION_S, tickMs: TICK_MS, targetConcurrency: TARGET, requestMs: 100 },
    samples,
    ok,
    failed,
    failures: Object.fromEntries(failures),
    met: failed === 0,
  };
  await mkdir("build/bench", { recursive: true });
  await writeFile("build/bench/autoscale.json", `${JSON.stringify(result, null, 2)}\n`);
}

await runBenchMain(main, stops);
