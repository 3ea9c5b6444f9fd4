/**
 * `npm run bench:balancer`: CPU ns per pick of each balancer through the whole selection
 * pipeline (route rules, health, panic, zone factors, warmup, the balancer, the breaker's probe
 * check) at 10 and 1,000 instances — the WASM port called through wasm/balancing.ts (so the
 * JS→WASM call, writing the key and reading the result are included) against the TypeScript
 * reference (wasm/reference selectInstance, hash tables cached as there) — plus ring hash and
 * maglev table builds at 1,000 instances. CPU time (process.cpuUsage) because the machine is
 * shared; each figure is the median of ROUNDS interleaved rounds. Hash kinds pick with a key
 * from 1,024 session ids, hashed per pick by each side (xxHash64: u64 in WASM, BigInt in TS).
 */
import { SnapshotGroups, type TestInstance } from "../test/conformance/snapshot-groups.ts";
import { BALANCER_KINDS, type BalancerKind } from "../wasm/reference/balancer-kinds.ts";
import {
  BALANCER_DEFAULTS,
  type Balancer,
  buildMaglevTable,
  buildRing,
  createInstanceState,
  createRandom,
  GROUP_POLICY_DEFAULTS,
  type InstanceView,
  selectInstance,
  swapGroupRuntime,
  xxHash64Text,
} from "../wasm/reference/index.ts";
import { median } from "./stats.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const TARGET_MS = Number(process.env.BENCH_TARGET_MS ?? 120);
const KINDS = BALANCER_KINDS;
const SIZES = [10, 1_000];
const KEYS = Array.from({ length: 1024 }, (_, i) => `session-${i}`);

function views(n: number): InstanceView[] {
  return Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    address: `10.0.${i >> 8}.${i & 255}:8080`,
    weight: 1 + (i % 5),
    status: 2,
    role: 0,
    zone: "z1",
    region: "r1",
    lane: "",
    cell: "",
    warmupMs: 0,
    drained: false,
  }));
}

/** The same instances as the WASM side loads them (through a snapshot). */
function testInstances(n: number): TestInstance[] {
  return views(n).map((v) => ({ ...v, status: "alive", role: "primary" }));
}

type Runner = (iters: number) => void;

function wasmRunner(kind: BalancerKind, n: number): Runner {
  const s = new SnapshotGroups();
  const b = s.balancing;
  b.setCaller("z1", "r1");
  b.seedFrom(1);
  s.load([{ id: 1, balancer: kind, instances: testInstances(n) }], 0);
  const keyed = kind === "ring-hash" || kind === "maglev";
  let k = 0;
  return (iters) => {
    for (let i = 0; i < iters; i++) b.select(0, 1, s.at(1), keyed ? { key: KEYS[k++ & 1023] } : undefined);
  };
}

function referenceRunner(kind: BalancerKind, n: number): Runner {
  const group = swapGroupRuntime(null, views(n), 0);
  const policy = { ...GROUP_POLICY_DEFAULTS, balancer: kind };
  const random = createRandom(1);
  const cache = new Map<string, Balancer>();
  const caller = { zone: "z1", region: "r1", lane: "", cell: "" };
  const keyed = kind === "ring-hash" || kind === "maglev";
  let k = 0;
  return (iters) => {
    for (let i = 0; i < iters; i++) {
      selectInstance(group, policy, { caller, hash: keyed ? xxHash64Text(KEYS[k++ & 1023]!) : null, tried: [], nowMs: 1 }, random, cache);
    }
  };
}

function calibrate(run: Runner): number {
  let iters = 10;
  for (;;) {
    const t = performance.now();
    run(iters);
    const ms = performance.now() - t;
    if (ms > 20) return Math.max(10, Math.round((iters * TARGET_MS) / ms));
    iters *= 4;
  }
}

function cpuNsPer(run: Runner, iters: number): number {
  const before = process.cpuUsage();
  run(iters);
  const used = process.cpuUsage(before);
  return ((used.user + used.system) * 1000) / iters;
}

function fmt(ns: number): string {
  return ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${ns.toFixed(0)} ns`;
}

const rows: string[][] = [];
for (const kind of KINDS) {
  for (const n of SIZES) {
    const runners = { wasm: wasmRunner(kind, n), reference: referenceRunner(kind, n) };
    const iters = { wasm: calibrate(runners.wasm), reference: calibrate(runners.reference) };
    const got = { wasm: [] as number[], reference: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      got.wasm.push(cpuNsPer(runners.wasm, iters.wasm));
      got.reference.push(cpuNsPer(runners.reference, iters.reference));
    }
    const w = median(got.wasm);
    const t = median(got.reference);
    rows.push([kind, String(n), fmt(w), fmt(t), `${(t / w).toFixed(1)}×`]);
  }
}

// Table builds at 1,000 instances (wall ms, median): WASM builds on the first pick after a commit.
const buildRows: string[][] = [];
const nodes = views(1_000).map((v) => ({ id: v.id, address: v.address, weight: v.weight, state: createInstanceState(v.id, 2, 0) }));
for (const kind of ["ring-hash", "maglev"] as const) {
  const wasmMs: number[] = [];
  const refMs: number[] = [];
  const s = new SnapshotGroups();
  const b = s.balancing;
  for (let r = 0; r < ROUNDS; r++) {
    s.load([{ id: 1, balancer: kind, instances: testInstances(1_000) }], 0);
    let t = performance.now();
    b.select(0, 1, s.at(1), { key: "session-0" });
    wasmMs.push(performance.now() - t);
    t = performance.now();
    if (kind === "ring-hash") buildRing(nodes, BALANCER_DEFAULTS.ringHash);
    else buildMaglevTable(nodes, BALANCER_DEFAULTS.maglev.tableSize);
    refMs.push(performance.now() - t);
  }
  const w = median(wasmMs);
  const t = median(refMs);
  buildRows.push([`${kind} build`, "1000", `${w.toFixed(2)} ms`, `${t.toFixed(2)} ms`, `${(t / w).toFixed(1)}×`]);
}

const header = ["balancer", "instances", "WASM (via wrapper)", "TS reference", "reference / WASM"];
const all = [header, ...rows, ...buildRows];
const widths = header.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
console.log(`CPU per pick, median of ${ROUNDS} rounds (Node ${process.versions.node}); builds in wall ms\n`);
for (const [i, r] of all.entries()) {
  console.log(r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "));
  if (i === 0 || i === rows.length) console.log(widths.map((w) => "-".repeat(w)).join("  "));
}
