/**
 * The balancer conformance table: one set of cases that every implementation — the TypeScript
 * reference (wasm/reference) and the WASM port (wasm/assembly/lb) — must pass through an adapter.
 * Deterministic algorithms are held to exact sequences; randomized ones to shares within ±3 %
 * (relative) over 100,000 picks from a fixed seed, so a run is reproducible yet fails on a
 * wrong algorithm; hash balancers to stickiness and to the share of keys that move when one
 * of 10 nodes goes. The arithmetic is in the comments.
 */

import { BALANCER_KINDS, type BalancerKind } from "../../wasm/reference/balancer-kinds.ts";

export type BalancerKindName = BalancerKind;
export const ALL_KINDS: BalancerKindName[] = [...BALANCER_KINDS];

export interface CaseNode {
  id: number;
  /** `host:port`, what hash balancers hash. */
  address: string;
  weight: number;
}

/** Options a case may set; everything else is the implementation's default. */
export interface CaseBalancerOptions {
  activeRequestBias?: number;
  ringScale?: "stable" | "envoy";
  minRingSize?: number;
}

/** One balancer instance under test, over fixed nodes. */
export interface BalancerHarness {
  /** The picked node's id, or null. `key` is hashed with xxHash64 (null/absent: no key). */
  pick(options?: { key?: string | null; nowMs?: number; attempt?: number }): number | null;
  /** Sets a node's in-flight request count. */
  setActive(id: number, active: number): void;
  /** Feeds a latency sample (peak EWMA). */
  observeLatency(id: number, latencyMs: number, nowMs: number): void;
}

export interface BalancerAdapter {
  create(kind: BalancerKindName, nodes: readonly CaseNode[], seed: number, options?: CaseBalancerOptions): BalancerHarness;
}

/** Nodes 1…n with the given weights at 10.0.0.<id>:8080. */
export function nodes(...weights: number[]): CaseNode[] {
  return weights.map((weight, i) => ({ id: i + 1, address: `10.0.0.${i + 1}:8080`, weight }));
}

/** The i-th session key used by the hash cases. */
export function keyAt(i: number): string {
  return `session-${i}`;
}

// --- exact sequences -------------------------------------------------------------------------

export interface SequenceCase {
  name: string;
  kind: BalancerKindName;
  nodes: CaseNode[];
  active?: Record<number, number>;
  options?: CaseBalancerOptions;
  want: (number | null)[];
}

export const SEQUENCE_CASES: SequenceCase[] = [
  {
    name: "swrr 5:1:1 gives nginx's a a b a c a a, twice",
    kind: "swrr",
    nodes: nodes(5, 1, 1),
    // current (a,b,c) +5,+1,+1: (5,1,1) a → (−2,1,1); (3,2,2) a → (−4,2,2); (1,3,3) b (first of
    // the tie) → (1,−4,3); (6,−3,4) a → (−1,−3,4); (4,−2,5) c → (4,−2,−2); (9,−1,−1) a →
    // (2,−1,−1); (7,0,0) a → (0,0,0): back to the start.
    want: [1, 1, 2, 1, 3, 1, 1, 1, 1, 2, 1, 3, 1, 1],
  },
  {
    name: "swrr 2:1",
    kind: "swrr",
    nodes: nodes(2, 1),
    // (2,1) a → (−1,1); (1,2) b → (1,−1); (3,0) a → (0,0).
    want: [1, 2, 1, 1, 2, 1],
  },
  { name: "swrr, one node", kind: "swrr", nodes: nodes(7), want: [1, 1, 1] },
  {
    name: "least request, unequal weights and idle: SWRR on the weights",
    kind: "least-request",
    nodes: nodes(2, 1),
    // weight / (0 + 1) = weight: the swrr 2:1 sequence.
    want: [1, 2, 1, 1, 2, 1],
  },
  {
    name: "least request, unequal weights: weight / (active + 1)",
    kind: "least-request",
    nodes: nodes(4, 1),
    active: { 1: 3 },
    // 4 / (3 + 1) = 1 and 1 / (0 + 1) = 1: equal dynamic weights alternate.
    // (1,1) a → (−1,1); (0,2) b → (0,0).
    want: [1, 2, 1, 2],
  },
  {
    name: "least request, bias 0 ignores active requests",
    kind: "least-request",
    nodes: nodes(2, 1),
    active: { 1: 5 },
    options: { activeRequestBias: 0 },
    // weight / (5 + 1)^0 = weight: the swrr 2:1 sequence again.
    want: [1, 2, 1, 1, 2, 1],
  },
  ...ALL_KINDS.map((kind) => ({ name: `${kind}, no nodes → none`, kind, nodes: [], want: [null, null] })),
  ...ALL_KINDS.map((kind) => ({ name: `${kind}, one node → always it`, kind, nodes: nodes(3), want: [1, 1, 1] })),
];

export function runSequence(adapter: BalancerAdapter, c: SequenceCase): (number | null)[] {
  const b = adapter.create(c.kind, c.nodes, 1, c.options);
  for (const [id, n] of Object.entries(c.active ?? {})) b.setActive(Number(id), n);
  return c.want.map((_, i) => b.pick({ key: keyAt(i), nowMs: 0 }));
}

// --- distributions ---------------------------------------------------------------------------

export interface DistributionCase {
  name: string;
  kind: BalancerKindName;
  nodes: CaseNode[];
  active?: Record<number, number>;
  /** Latency samples fed before picking: [id, ms]. */
  latencies?: [number, number][];
  options?: CaseBalancerOptions;
  /** Picks with key keyAt(i) (hash kinds); otherwise keyless. */
  keyed?: boolean;
  picks: number;
  seed: number;
  /** Expected share per node id. */
  want: Record<number, number>;
  /** Allowed |observed − want| / want (default 0.03); a want of 0 must be exactly 0. */
  tolerance?: number;
}

export const DISTRIBUTION_CASES: DistributionCase[] = [
  {
    name: "swrr 3:1:6 is exact over whole cycles",
    kind: "swrr",
    nodes: nodes(3, 1, 6),
    // 100,000 picks = 10,000 cycles of total weight 10.
    picks: 100_000,
    seed: 1,
    want: { 1: 0.3, 2: 0.1, 3: 0.6 },
    tolerance: 0,
  },
  {
    name: "weighted random 5:3:2",
    kind: "random",
    nodes: nodes(5, 3, 2),
    // The smallest share, 0.2: σ = √(0.2·0.8/100000) ≈ 0.13 %, tolerance 3 % · 0.2 = 0.6 % ≈ 4.7σ.
    picks: 100_000,
    seed: 7,
    want: { 1: 0.5, 2: 0.3, 3: 0.2 },
  },
  {
    name: "weighted random 1:1:1:1",
    kind: "random",
    nodes: nodes(1, 1, 1, 1),
    picks: 100_000,
    seed: 8,
    want: { 1: 0.25, 2: 0.25, 3: 0.25, 4: 0.25 },
  },
  {
    name: "least request, equal weights and idle: P2C is uniform",
    kind: "least-request",
    nodes: nodes(1, 1, 1, 1),
    // Ties keep the first drawn, itself uniform.
    picks: 100_000,
    seed: 9,
    want: { 1: 0.25, 2: 0.25, 3: 0.25, 4: 0.25 },
  },
  {
    name: "least request P2C avoids a busy node (2 nodes)",
    kind: "least-request",
    nodes: nodes(1, 1),
    active: { 1: 50 },
    // The busy node wins only when both draws are it: (1/2)² = 0.25.
    picks: 100_000,
    seed: 10,
    want: { 1: 0.25, 2: 0.75 },
  },
  {
    name: "least request P2C avoids a busy node (4 nodes)",
    kind: "least-request",
    nodes: nodes(1, 1, 1, 1),
    active: { 1: 50 },
    // Busy: (1/4)² = 1/16 = 0.0625; the others share the rest: 15/16 / 3 = 0.3125.
    // 3 % of 0.0625 would be 2.4σ (σ ≈ 0.077 %), so this case allows 10 % (8σ).
    picks: 100_000,
    seed: 11,
    want: { 1: 0.0625, 2: 0.3125, 3: 0.3125, 4: 0.3125 },
    tolerance: 0.1,
  },
  {
    name: "peak EWMA P2C: the slowest of three never wins",
    kind: "peak-ewma",
    nodes: nodes(1, 1, 1),
    latencies: [
      [1, 10],
      [2, 20],
      [3, 30],
    ],
    // Two distinct nodes per pick: pairs {1,2} and {1,3} → 1, {2,3} → 2: 2/3, 1/3, 0.
    picks: 100_000,
    seed: 12,
    want: { 1: 2 / 3, 2: 1 / 3, 3: 0 },
  },
  {
    name: "maglev spreads keys evenly over 10 nodes",
    kind: "maglev",
    nodes: nodes(1, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    // 65537 slots / 10 → 6553 or 6554 each; 100,000 keys: σ ≈ 0.95 % of 10,000, tolerance 3.2σ.
    keyed: true,
    picks: 100_000,
    seed: 13,
    want: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [i + 1, 0.1])),
  },
  {
    name: "maglev honours weights 1:2:3:4",
    kind: "maglev",
    nodes: nodes(1, 2, 3, 4),
    keyed: true,
    picks: 100_000,
    seed: 14,
    want: { 1: 0.1, 2: 0.2, 3: 0.3, 4: 0.4 },
  },
  {
    name: "ring hash at the default ring size balances 10 nodes only roughly",
    kind: "ring-hash",
    nodes: nodes(1, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    // 128 points per node (1024 / 10 → 103 → 128): arc shares vary by ~1/√128 ≈ 9 %. Envoy
    // documents the same; raise minRingSize to balance better. The bound is ±25 %.
    keyed: true,
    picks: 100_000,
    seed: 15,
    want: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [i + 1, 0.1])),
    tolerance: 0.25,
  },
];

/** Observed share per node id (every node listed, 0 when never picked). */
export function runDistribution(adapter: BalancerAdapter, c: DistributionCase): Record<string, number> {
  const b = adapter.create(c.kind, c.nodes, c.seed, c.options);
  for (const [id, n] of Object.entries(c.active ?? {})) b.setActive(Number(id), n);
  for (const [id, ms] of c.latencies ?? []) b.observeLatency(id, ms, 0);
  const counts = new Map<number | null, number>(c.nodes.map((n) => [n.id, 0]));
  for (let i = 0; i < c.picks; i++) {
    const id = b.pick({ key: c.keyed ? keyAt(i) : null, nowMs: 0 });
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return Object.fromEntries([...counts].map(([id, n]) => [String(id), n / c.picks]));
}

// --- peak EWMA scenarios (two nodes: P2C always compares both, so picks are exact) ----------

export type EwmaStep =
  | { observe: [id: number, latencyMs: number, atMs: number] }
  | { active: [id: number, n: number] }
  | { pickAt: number; want: number };

export interface EwmaCase {
  name: string;
  steps: EwmaStep[];
}

export const EWMA_CASES: EwmaCase[] = [
  {
    name: "the lower latency wins",
    steps: [{ observe: [1, 10, 0] }, { observe: [2, 100, 0] }, { pickAt: 0, want: 1 }, { pickAt: 0, want: 1 }],
  },
  {
    name: "cost is ewma × (active + 1)",
    // 10 · (20 + 1) = 210 > 100 · (0 + 1) = 100.
    steps: [{ observe: [1, 10, 0] }, { observe: [2, 100, 0] }, { active: [1, 20] }, { pickAt: 0, want: 2 }],
  },
  {
    name: "an idle node's latency decays (τ = 10 s)",
    // Node 1: 100 ms at t = 0 reads as 100 · e^−1 ≈ 36.8 ms at t = 10 s, below node 2's fresh 60 ms.
    steps: [{ observe: [1, 100, 0] }, { observe: [2, 60, 10_000] }, { pickAt: 10_000, want: 1 }],
  },
  {
    name: "a latency peak takes effect at once",
    // Node 1: 10 ms; then 500 ms replaces it (peak), while node 2's 50 ms at t = 2 s reads
    // 50 · e^−0.1 ≈ 45.2 ms at t = 3 s.
    steps: [
      { observe: [1, 10, 0] },
      { observe: [2, 50, 2_000] },
      { pickAt: 2_000, want: 1 },
      { observe: [1, 500, 3_000] },
      { pickAt: 3_000, want: 2 },
    ],
  },
  {
    name: "a node without samples costs 0 and is tried first",
    steps: [{ observe: [1, 10, 0] }, { pickAt: 0, want: 2 }],
  },
];

export function runEwma(adapter: BalancerAdapter, c: EwmaCase): { got: number[]; want: number[] } {
  const b = adapter.create("peak-ewma", nodes(1, 1), 3);
  const got: number[] = [];
  const want: number[] = [];
  for (const step of c.steps) {
    if ("observe" in step) b.observeLatency(...step.observe);
    else if ("active" in step) b.setActive(...step.active);
    else {
      got.push(b.pick({ nowMs: step.pickAt }) ?? -1);
      want.push(step.want);
    }
  }
  return { got, want };
}

// --- hash balancers: stickiness and movement -------------------------------------------------

export const HASH_KINDS: BalancerKindName[] = ["ring-hash", "maglev"];

/**
 * Keys that changed node: across 3 picks each, and between two builds over the same nodes in
 * opposite order (every gateway must build the same table). Want 0.
 */
export function runStickiness(
  adapter: BalancerAdapter,
  kind: BalancerKindName,
  keys: number,
): { unstable: number; orderDependent: number } {
  const list = nodes(1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  const a = adapter.create(kind, list, 1);
  const b = adapter.create(kind, [...list].reverse(), 2);
  let unstable = 0;
  let orderDependent = 0;
  for (let i = 0; i < keys; i++) {
    const key = keyAt(i);
    const first = a.pick({ key });
    if (a.pick({ key }) !== first || a.pick({ key }) !== first) unstable++;
    if (b.pick({ key }) !== first) orderDependent++;
  }
  return { unstable, orderDependent };
}

export interface MovementCase {
  name: string;
  kind: BalancerKindName;
  options?: CaseBalancerOptions;
  keys: number;
  /** Bounds on the share of all keys that moved when node 4 of 10 was removed. */
  moved: [number, number];
  /** Bounds on the share of keys not on node 4 that moved anyway. */
  movedElsewhere: [number, number];
}

export const MOVEMENT_CASES: MovementCase[] = [
  {
    name: "ring hash (stable scale): only the removed node's keys move, ≈ 1/10",
    kind: "ring-hash",
    // 128 points per node before and after (103 → 128, 114 → 128): no other point changes.
    keys: 20_000,
    moved: [0.08, 0.12],
    movedElsewhere: [0, 0],
  },
  {
    name: "ring hash (Envoy's scale): other nodes gain points, more keys move",
    kind: "ring-hash",
    options: { ringScale: "envoy" },
    // 10 nodes: 103 points each; 9 nodes: 114 each — 11 new points per node take keys from
    // the others: ≈ 0.1 + 0.9 · (99 / 1026) · (8 / 9) ≈ 0.18.
    keys: 20_000,
    moved: [0.12, 0.25],
    movedElsewhere: [0.03, 0.12],
  },
  {
    name: "maglev: the removed node's keys and a few more",
    kind: "maglev",
    // Reported in docs/balancing.md; the bound only says "not much worse than a ring".
    keys: 20_000,
    moved: [0.08, 0.15],
    movedElsewhere: [0, 0.03],
  },
];

export function runMovement(adapter: BalancerAdapter, c: MovementCase): { moved: number; movedElsewhere: number } {
  const all = nodes(1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  const before = adapter.create(c.kind, all, 1, c.options);
  const after = adapter.create(
    c.kind,
    all.filter((n) => n.id !== 4),
    1,
    c.options,
  );
  let moved = 0;
  let movedElsewhere = 0;
  for (let i = 0; i < c.keys; i++) {
    const key = keyAt(i);
    const x = before.pick({ key });
    if (x !== after.pick({ key })) {
      moved++;
      if (x !== 4) movedElsewhere++;
    }
  }
  return { moved: moved / c.keys, movedElsewhere: movedElsewhere / c.keys };
}

/**
 * Exact picks for keys session-0 … session-15, pinned from the reference. Ring hash and maglev
 * are deterministic functions of xxHash64, the host keys (`<address>_<i>`; the address) and the
 * build rules, so a conforming port reproduces them exactly — which is what lets a mixed fleet
 * (TS and WASM, old and new gateways) send a key to the same instance.
 */
export const PINNED_HASH_CASES: { name: string; kind: BalancerKindName; nodes: CaseNode[]; want: number[] }[] = [
  {
    name: "ring hash, 10 equal nodes",
    kind: "ring-hash",
    nodes: nodes(1, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    want: [7, 4, 1, 10, 10, 4, 1, 6, 4, 4, 6, 2, 9, 9, 5, 5],
  },
  {
    name: "ring hash, weights 1:2:3:4",
    kind: "ring-hash",
    nodes: nodes(1, 2, 3, 4),
    want: [3, 4, 1, 2, 2, 4, 4, 4, 3, 4, 4, 2, 4, 4, 3, 4],
  },
  {
    name: "maglev, 10 equal nodes",
    kind: "maglev",
    nodes: nodes(1, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    want: [3, 9, 2, 2, 9, 2, 4, 2, 2, 5, 2, 6, 4, 1, 10, 8],
  },
  { name: "maglev, weights 1:2:3:4", kind: "maglev", nodes: nodes(1, 2, 3, 4), want: [3, 3, 2, 2, 3, 2, 4, 4, 2, 3, 2, 2, 4, 4, 4, 4] },
];

export function runPinned(adapter: BalancerAdapter, c: (typeof PINNED_HASH_CASES)[number]): (number | null)[] {
  const b = adapter.create(c.kind, c.nodes, 1);
  return c.want.map((_, i) => b.pick({ key: keyAt(i) }));
}

/** Share of keys whose attempt-1 pick differs from their attempt-0 pick (retries go elsewhere). */
export function runHashRetry(adapter: BalancerAdapter, kind: BalancerKindName, keys: number): number {
  const b = adapter.create(kind, nodes(1, 1, 1, 1, 1, 1, 1, 1, 1, 1), 1);
  let elsewhere = 0;
  for (let i = 0; i < keys; i++) {
    const key = keyAt(i);
    if (b.pick({ key, attempt: 1 }) !== b.pick({ key, attempt: 0 })) elsewhere++;
  }
  return elsewhere / keys;
}
