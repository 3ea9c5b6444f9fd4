/**
 * Selection with health: roles, panic and fail-open, the half-open probe, warmup after
 * un-ejection, and retries preferring an instance not yet tried. Scenarios drive the
 * implementation through attempts' outcomes only (no back door to mark an instance unhealthy):
 * five slow calls open a breaker (Sentinel: slow ratio 1 > 0.5 over ≥ 5 calls) without
 * touching outlier detection; five 5xx eject (and also open the breaker).
 */
import type { BalancerKindName } from "./balancer.cases.ts";
import { type CaseCaller, type CaseInstance, instance } from "./route-rules.cases.ts";

/** How an attempt ended: an HTTP status, a failure with no response, or a slow success. */
export type CaseOutcome = number | "connect" | "timeout" | "reset" | "slow";

/** The outcome a case notation stands for (latency 10 ms; "slow" = 200 after 2 s). */
export function caseOutcome(o: CaseOutcome): { status: number; failure?: "connect" | "timeout" | "reset"; latencyMs: number } {
  if (o === "slow") return { status: 200, latencyMs: 2_000 };
  if (typeof o === "number") return { status: o, latencyMs: 10 };
  return { status: 0, failure: o, latencyMs: 10 };
}

export interface SelectionResult {
  id: number | null;
  panic: boolean;
  probe: boolean;
  tier: "primary" | "backup" | "none";
}

export interface SelectionHarness {
  pick(nowMs: number, request?: { caller?: Partial<CaseCaller>; key?: string; tried?: number[] }): SelectionResult;
  /** An attempt on `id` ended (slow = status 200 after 2 s; others 10 ms). */
  record(id: number, outcome: CaseOutcome, nowMs: number, probe?: boolean): void;
  sweep(nowMs: number): void;
  panicCount(): number;
  /** A new snapshot: the group now holds `instances`; state is kept for ids still present. */
  swap(instances: CaseInstance[], nowMs: number): void;
}

export interface SelectionAdapter {
  create(kind: BalancerKindName, instances: CaseInstance[], seed: number): SelectionHarness;
}

export type SelectionStep =
  /** `times` attempts on `id` ended at `atMs`; `probe` marks the half-open probe's outcome. */
  | { record: [id: number, outcome: CaseOutcome, atMs: number, times?: number, probe?: boolean] }
  | { sweep: number }
  | { swap: CaseInstance[]; at: number }
  /** One pick; checks the fields given. */
  | { pick: number; tried?: number[]; want: Partial<SelectionResult> }
  /** `n` picks at `at`; `seen` = exactly the ids picked; `counts` = [min, max] per id; `panic` for every pick. */
  | { picks: number; at: number; tried?: number[]; seen?: number[]; counts?: Record<number, [number, number]>; panic?: boolean }
  | { panicCount: number };

export interface SelectionCase {
  name: string;
  kind?: BalancerKindName;
  instances: CaseInstance[];
  steps: SelectionStep[];
}

const slowTimes = (id: number, at: number) => ({ record: [id, "slow", at, 5] as [number, CaseOutcome, number, number] });

export const SELECTION_CASES: SelectionCase[] = [
  {
    name: "backups serve only when no primary is healthy",
    instances: [instance(1), instance(2), instance(3, { role: "backup" })],
    steps: [
      { picks: 6, at: 0, seen: [1, 2], panic: false },
      slowTimes(1, 100),
      slowTimes(2, 100),
      { pick: 200, want: { id: 3, tier: "backup", panic: false } },
      { picks: 4, at: 200, seen: [3] },
    ],
  },
  {
    name: "below 50 % healthy the tier is balanced as if all were healthy, and it is counted",
    instances: [instance(1), instance(2), instance(3), instance(4)],
    // 1 healthy of 4 = 25 % < 50 %.
    steps: [slowTimes(2, 0), slowTimes(3, 0), slowTimes(4, 0), { picks: 8, at: 100, seen: [1, 2, 3, 4], panic: true }, { panicCount: 8 }],
  },
  {
    name: "exactly 50 % healthy is not panic",
    instances: [instance(1), instance(2), instance(3), instance(4)],
    // 2 of 4 = 50 %, not below.
    steps: [slowTimes(3, 0), slowTimes(4, 0), { picks: 8, at: 100, seen: [1, 2], panic: false }, { panicCount: 0 }],
  },
  {
    name: "every instance unhealthy: fail open, no pick comes back empty",
    instances: [instance(1), instance(2), instance(3)],
    steps: [slowTimes(1, 0), slowTimes(2, 0), slowTimes(3, 0), { picks: 9, at: 100, seen: [1, 2, 3], panic: true }],
  },
  {
    name: "an ejected instance gets nothing until the sweep after its ejection time",
    instances: [instance(1), instance(2), instance(3)],
    steps: [
      { record: [1, 503, 0, 5] },
      { picks: 6, at: 1_000, seen: [2, 3] },
      // The first request after 10 s runs the sweep (lazily, at 20 s): 20 s < 30 s, still out.
      { picks: 6, at: 20_000, seen: [2, 3] },
      // Sweep at 30 s: 30 s ≥ 30 s → back. (Its breaker, opened by the same five 503s, lets it
      // through as the half-open probe; it is picked once, then waits for the probe.)
      { picks: 6, at: 30_000, seen: [1, 2, 3] },
    ],
  },
  {
    name: "half-open: after the window one probe goes out and nothing else; only the probe decides",
    instances: [instance(1), instance(2)],
    steps: [
      slowTimes(2, 0),
      { picks: 4, at: 5_000, seen: [1] },
      // At 10 s the window (10 s) is over: SWRR (1:1) picks 1, then 2 as the probe.
      { pick: 10_000, want: { id: 1, probe: false } },
      { pick: 10_000, want: { id: 2, probe: true } },
      { picks: 3, at: 10_010, seen: [1] },
      // An older request on 2 ending now is not the probe: ignored.
      { record: [2, 200, 10_050] },
      { picks: 3, at: 10_060, seen: [1] },
    ],
  },
  {
    name: "half-open: a successful probe closes the breaker",
    instances: [instance(1), instance(2)],
    steps: [
      slowTimes(2, 0),
      { pick: 10_000, want: { id: 1 } },
      { pick: 10_000, want: { id: 2, probe: true } },
      { record: [2, 200, 10_050, 1, true] },
      { picks: 4, at: 10_100, seen: [1, 2] },
    ],
  },
  {
    name: "half-open: a failed probe opens the breaker for another window",
    instances: [instance(1), instance(2)],
    steps: [
      slowTimes(2, 0),
      { pick: 10_000, want: { id: 1 } },
      { pick: 10_000, want: { id: 2, probe: true } },
      { record: [2, "timeout", 10_050, 1, true] },
      { picks: 4, at: 20_000, seen: [1] },
      { picks: 4, at: 20_050, seen: [1, 2] },
    ],
  },
  {
    name: "a retry prefers an instance not yet tried",
    instances: [instance(1), instance(2), instance(3)],
    steps: [
      { picks: 6, at: 0, tried: [1], seen: [2, 3] },
      { picks: 6, at: 0, tried: [1, 3], seen: [2] },
    ],
  },
  {
    name: "a retry that has tried every instance may use any",
    instances: [instance(1), instance(2)],
    steps: [{ picks: 4, at: 0, tried: [1, 2], seen: [1, 2] }],
  },
  {
    name: "an un-ejected instance warms up again",
    instances: [instance(1, { warmupMs: 60_000 }), instance(2)],
    steps: [
      // Five successes, then five 500s: ejected (5 consecutive), breaker still closed (5 / 10 = 0.5
      // is not above 0.5).
      { record: [1, 200, 0, 5] },
      { record: [1, 500, 0, 5] },
      { sweep: 30_000 },
      // 6 s into a 60 s ramp: 10^7 · 0.1 = 10^6 against 10^7 — about 1 pick in 11.
      { picks: 110, at: 36_000, counts: { 1: [9, 11], 2: [99, 101] } },
    ],
  },
  {
    name: "snapshot swap: an ejected instance that still exists stays ejected",
    instances: [instance(1), instance(2), instance(3)],
    steps: [
      { record: [1, 503, 0, 5] },
      { swap: [instance(1), instance(2), instance(3), instance(4)], at: 1_000 },
      { picks: 6, at: 1_000, seen: [2, 3, 4] },
    ],
  },
  {
    name: "snapshot swap: an ejected instance the registry marks dead, then alive again, is un-ejected at once (Envoy successful_active_health_check_uneject_host)",
    instances: [instance(1), instance(2), instance(3)],
    steps: [
      { record: [1, 503, 0, 5] },
      { swap: [instance(1, { status: "dead" }), instance(2), instance(3)], at: 1_000 },
      { picks: 4, at: 1_000, seen: [2, 3] },
      // Alive again long before its 30 s ejection ends (and its breaker, which the five 503s also
      // opened, closed with it): picked at once.
      { swap: [instance(1), instance(2), instance(3)], at: 2_000 },
      { picks: 6, at: 2_000, seen: [1, 2, 3] },
    ],
  },
  {
    name: "snapshot swap: an ejected instance whose alive-since moved on is un-ejected, though no snapshot showed it down (snapshots coalesce)",
    instances: [instance(1, { aliveSinceMs: 0 }), instance(2), instance(3)],
    steps: [
      { record: [1, 503, 0, 5] },
      { picks: 4, at: 1_000, seen: [2, 3] },
      // Control restamped alive-since when the registry saw it recover: un-ejected, breaker closed.
      { swap: [instance(1, { aliveSinceMs: 1_500 }), instance(2), instance(3)], at: 2_000 },
      { picks: 6, at: 2_000, seen: [1, 2, 3] },
      // The same alive-since again changes nothing: ejected at the 5th consecutive 503 once more.
      { record: [1, 503, 2_000, 5] },
      { swap: [instance(1, { aliveSinceMs: 1_500 }), instance(2), instance(3)], at: 3_000 },
      { picks: 4, at: 3_000, seen: [2, 3] },
    ],
  },
  {
    name: "snapshot swap: smooth weighted round robin carries on where it was",
    instances: [instance(1, { weight: 5 }), instance(2, { weight: 1 }), instance(3, { weight: 1 })],
    // a a b | swap | a c a a: the nginx 5:1:1 cycle is not restarted.
    steps: [
      { pick: 0, want: { id: 1 } },
      { pick: 0, want: { id: 1 } },
      { pick: 0, want: { id: 2 } },
      { swap: [instance(1, { weight: 5 }), instance(2, { weight: 1 }), instance(3, { weight: 1 })], at: 0 },
      { pick: 0, want: { id: 1 } },
      { pick: 0, want: { id: 3 } },
      { pick: 0, want: { id: 1 } },
      { pick: 0, want: { id: 1 } },
    ],
  },
  {
    name: "snapshot swap: a late completion on a removed instance is ignored",
    instances: [instance(1), instance(2)],
    steps: [{ swap: [instance(2)], at: 0 }, { record: [1, 503, 10, 5] }, { picks: 2, at: 20, seen: [2] }],
  },
  {
    name: "snapshot swap: an instance back to alive in the registry warms up again",
    instances: [instance(1, { warmupMs: 60_000 }), instance(2)],
    steps: [
      { swap: [instance(1, { warmupMs: 60_000, status: "dead" }), instance(2)], at: 50_000 },
      { picks: 3, at: 50_000, seen: [2] },
      { swap: [instance(1, { warmupMs: 60_000 }), instance(2)], at: 100_000 },
      // 6 s of 60 s: 10^6 against 10^7.
      { picks: 110, at: 106_000, counts: { 1: [9, 11], 2: [99, 101] } },
    ],
  },
];

/** Runs a case; returns one message per failed check (empty = pass). */
export function runSelectionCase(adapter: SelectionAdapter, c: SelectionCase): string[] {
  const h = adapter.create(c.kind ?? "swrr", c.instances, 1);
  const failures: string[] = [];
  c.steps.forEach((step, index) => {
    const at = `step ${index}`;
    if ("record" in step) {
      const [id, outcome, nowMs, times = 1, probe = false] = step.record;
      for (let i = 0; i < times; i++) h.record(id, outcome, nowMs, probe);
    } else if ("sweep" in step) {
      h.sweep(step.sweep);
    } else if ("swap" in step) {
      h.swap(step.swap, step.at);
    } else if ("pick" in step) {
      const got = h.pick(step.pick, { tried: step.tried });
      for (const [field, want] of Object.entries(step.want)) {
        const value = got[field as keyof SelectionResult];
        if (value !== want) failures.push(`${at}: ${field} ${String(value)}, want ${String(want)}`);
      }
    } else if ("picks" in step) {
      const counts = new Map<number | null, number>();
      for (let i = 0; i < step.picks; i++) {
        const got = h.pick(step.at, { tried: step.tried });
        counts.set(got.id, (counts.get(got.id) ?? 0) + 1);
        if (step.panic !== undefined && got.panic !== step.panic) failures.push(`${at}: panic ${got.panic}, want ${step.panic}`);
      }
      const seen = [...counts.keys()].map((id) => id ?? -1).sort((a, b) => a - b);
      if (step.seen && seen.join() !== step.seen.join()) failures.push(`${at}: seen [${seen}], want [${step.seen}]`);
      for (const [id, [min, max]] of Object.entries(step.counts ?? {})) {
        const n = counts.get(Number(id)) ?? 0;
        if (n < min || n > max) failures.push(`${at}: instance ${id} picked ${n} times, want ${min}–${max}`);
      }
    } else if (h.panicCount() !== step.panicCount) {
      failures.push(`${at}: panic count ${h.panicCount()}, want ${step.panicCount}`);
    }
  });
  return failures;
}

/**
 * Hash kinds on a retry: share of keys whose retry (tried = the first pick) lands on another
 * instance. Envoy re-picks with attempt 1, 2 … ; a few keys may land on the same instance again.
 */
export function runHashRetryAvoidance(adapter: SelectionAdapter, kind: BalancerKindName, keys: number): number {
  const h = adapter.create(
    kind,
    Array.from({ length: 10 }, (_, i) => instance(i + 1)),
    1,
  );
  let elsewhere = 0;
  for (let i = 0; i < keys; i++) {
    const key = `session-${i}`;
    const first = h.pick(0, { key }).id!;
    if (h.pick(0, { key, tried: [first] }).id !== first) elsewhere++;
  }
  return elsewhere / keys;
}
