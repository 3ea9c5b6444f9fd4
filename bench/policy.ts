/**
 * `npm run bench:policy`: ns per routing decision for 1, 10 and 50 policies on one route
 * (bench/policy-cases.ts), four ways (bench/policy-approaches.ts) — (a) Sluice's WASM hot path
 * incl. copying the request's attributes in (and, as a fifth column, the full product path with
 * host/path encoding and route lookup), (b) the TypeScript reference evaluator, (c) @bufbuild/cel
 * with planned programs, (d) compiling per request with `new Function` as Oceanus did with Lua
 * `load()` — in workerd (the production runtime; bench/policy-worker.ts) and in Node, in one run.
 * Then snapshot compile time and size for 10,000 policies. Prints the tables and the targets.
 *
 * Environment: BENCH_ROUNDS (5), BENCH_TARGET_MS (250 per timed run). Every process started is
 * stopped by PID at the end, also on error.
 */
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { writeSnapshot } from "../control/snapshot/writer.ts";
import { HotPath } from "../wasm/host.ts";
import { bundleWorker } from "../worker/launcher/bundle.ts";
import { renderWorkerdConfig } from "../worker/launcher/capnp.ts";
import { COMPATIBILITY_DATE } from "../worker/launcher/gateway.ts";
import { launchWorkerd, WORKERD_BIN } from "../worker/launcher/workerd.ts";
import { benchCelEnv, celApproach, compilePerRequestApproach, type Decide, referenceApproach, wasmApproach } from "./policy-approaches.ts";
import { benchModel, benchPolicies, benchRequest } from "./policy-cases.ts";
import { measureCompile } from "./policy-compile.ts";
import { calibrate, Quietness, ROUNDS, type Runner, timeRun } from "./policy-measure.ts";
import { median } from "./stats.ts";

const SIZES = [1, 10, 50] as const;
const APPROACHES = [
  ["a", "(a) WASM, attributes in"],
  ["full", "(a+) WASM full request path"],
  ["b", "(b) TS reference"],
  ["c", "(c) @bufbuild/cel planned"],
  ["d", "(d) compile per request"],
] as const;
type Name = (typeof APPROACHES)[number][0];
const OUT_DIR = fileURLToPath(new URL("../build/bench-policy", import.meta.url));

/** Node: the same closures the Worker builds. */
async function nodeRunners(): Promise<Map<string, Runner>> {
  const wasm = await readFile(new URL("../build/hotpath.wasm", import.meta.url));
  const req = benchRequest();
  const env = benchCelEnv();
  const runners = new Map<string, Runner>();
  for (const n of SIZES) {
    const policies = benchPolicies(n);
    const hot = await HotPath.instantiate(wasm);
    const loaded = hot.load(writeSnapshot(benchModel(policies), { version: 1n, builtAtMs: 0 }));
    if (!loaded.ok) throw new Error(loaded.reason);
    const closures: Record<Name, Decide> = {
      a: wasmApproach(hot, req),
      full: wasmApproach(hot, req, true),
      b: referenceApproach(policies, req),
      c: celApproach(policies, req, env),
      d: compilePerRequestApproach(policies, req),
    };
    for (const [name, decide] of Object.entries(closures)) {
      if (decide() !== n - 1) throw new Error(`node ${name} n=${n}: decided ${decide()}, want ${n - 1}`);
      runners.set(`${name}:${n}`, async (iters) => {
        for (let i = 0; i < iters; i++) decide();
      });
    }
  }
  return runners;
}

/** workerd: bundles the bench Worker, starts one process, and drives it over HTTP. */
async function workerdRunners(): Promise<{ runners: Map<string, Runner>; pid: number; close: () => Promise<void>; refused: string[] }> {
  await bundleWorker(fileURLToPath(new URL("./policy-worker.ts", import.meta.url)), OUT_DIR);
  const config = renderWorkerdConfig({
    mainModule: "worker.js",
    wasmModule: "hotpath.wasm",
    compatibilityDate: COMPATIBILITY_DATE,
    textBindings: { BENCH: "policy" },
    envBindings: {},
  });
  const cluster = await launchWorkerd({ dir: OUT_DIR, config, port: 0, processes: 1, stdio: "ignore" });
  const runners = new Map<string, Runner>();
  const refused: string[] = [];
  for (const n of SIZES) {
    for (const [name] of APPROACHES) {
      const url = (iters: number) => `${cluster.url}/run?approach=${name}&n=${n}&iters=${iters}`;
      const probe = await fetch(url(1));
      const body = (await probe.json()) as { policy?: number; error?: string };
      if (probe.status !== 200) {
        refused.push(`${name}:${n} ${body.error}`);
        continue;
      }
      if (body.policy !== n - 1) throw new Error(`workerd ${name} n=${n}: decided ${body.policy}, want ${n - 1}`);
      runners.set(`${name}:${n}`, async (iters) => {
        const r = await fetch(url(iters));
        if (r.status !== 200) throw new Error(`workerd ${name} n=${n}: ${await r.text()}`);
        await r.arrayBuffer();
      });
    }
  }
  return { runners, pid: cluster.pids[0] as number, close: cluster.close, refused };
}

/** Calibrates every runner, then ROUNDS interleaved rounds; CPU ns per decision, median. */
async function measure(runners: Map<string, Runner>, quiet: Quietness, pid: number | null): Promise<Map<string, number>> {
  const iters = new Map<string, number>();
  for (const [id, run] of runners) {
    await run(1000); // warm: V8 tiers up WASM and JS
    iters.set(id, await calibrate(run));
  }
  const samples = new Map<string, number[]>([...runners.keys()].map((id) => [id, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [id, run] of runners) {
      quiet.begin();
      samples.get(id)?.push(await timeRun(run, iters.get(id) as number, pid));
      quiet.end();
    }
  }
  return new Map([...samples].map(([id, xs]) => [id, median(xs)]));
}

const fmt = (ns: number | undefined) =>
  ns === undefined
    ? "not allowed"
    : ns >= 10_000
      ? `${Math.round(ns / 1000).toLocaleString("en-US")} µs`
      : `${Math.round(ns).toLocaleString("en-US")} ns`;

function table(title: string, results: Map<string, number>): string {
  const lines = [
    `### ${title}`,
    "",
    `| policies | ${APPROACHES.map(([, label]) => label).join(" | ")} | b ÷ a | c ÷ a |`,
    `|---|${APPROACHES.map(() => "---:").join("|")}|---:|---:|`,
  ];
  for (const n of SIZES) {
    const a = results.get(`a:${n}`) as number;
    const row = APPROACHES.map(([name]) => fmt(results.get(`${name}:${n}`)));
    lines.push(
      `| ${n} | ${row.join(" | ")} | ${((results.get(`b:${n}`) as number) / a).toFixed(1)}× | ${((results.get(`c:${n}`) as number) / a).toFixed(0)}× |`,
    );
  }
  return lines.join("\n");
}

function verdicts(w: Map<string, number>): string[] {
  const get = (id: string) => w.get(id) as number;
  const v = (ok: boolean) => (ok ? "**PASS**" : "**MISS**");
  return [
    `- 50 policies ≤ 1 µs: ${fmt(get("a:50"))} → ${v(get("a:50") <= 1000)}`,
    `- 50 policies ≥ 2× faster than (b): ${(get("b:50") / get("a:50")).toFixed(2)}× → ${v(get("b:50") >= 2 * get("a:50"))}`,
    `- 1 policy not slower than (b): ${fmt(get("a:1"))} vs ${fmt(get("b:1"))} → ${v(get("a:1") <= get("b:1"))}`,
    ...SIZES.map(
      (n) =>
        `- ${n} ${n === 1 ? "policy" : "policies"} ≥ 40× faster than (c): ${(get(`c:${n}`) / get(`a:${n}`)).toFixed(0)}× → ${v(get(`c:${n}`) >= 40 * get(`a:${n}`))}`,
    ),
  ];
}

const workerdVersion = execFileSync(WORKERD_BIN, ["--version"], { encoding: "utf8" }).trim();
console.log(`bench:policy — ${new Date().toISOString()}
machine: nproc ${os.availableParallelism()}, ${os.cpus()[0]?.model ?? "?"}, load average at start ${os.loadavg()[0]?.toFixed(2)}
versions: ${workerdVersion}, node ${process.version}; CPU time per decision, ${ROUNDS} rounds, median`);

const worker = await workerdRunners();
try {
  const quietW = new Quietness([process.pid, worker.pid]);
  const w = await measure(worker.runners, quietW, worker.pid);
  const quietN = new Quietness([process.pid]);
  const node = await measure(await nodeRunners(), quietN, null);
  const compile = await measureCompile();
  const qw = quietW.summary();
  const qn = quietN.summary();
  console.log(`
${table("workerd (production runtime)", w)}

${table("Node", node)}

Other processes' CPU during the timed runs: workerd runs median ${qw.median.toFixed(2)} / max ${qw.max.toFixed(2)} cores, Node runs median ${qn.median.toFixed(2)} / max ${qn.max.toFixed(2)} cores.
${worker.refused.length > 0 ? `workerd refused: ${[...new Set(worker.refused.map((r) => r.split(" ").slice(1).join(" ")))].join("; ")} (${worker.refused.map((r) => r.split(" ")[0]).join(", ")})` : ""}

Targets (workerd):
${verdicts(w).join("\n")}

${compile}`);
} finally {
  await worker.close();
}
