/**
 * Circuit breakers. Per instance, Sentinel semantics: error ratio or slow-call ratio over a
 * 1 s statistic window with at least 5 calls opens it; after timeWindow (10 s) one half-open
 * probe decides: success closes, failure or slowness reopens. Per group, Envoy's limits:
 * max requests and max pending (1024 each); beyond both, overflow.
 */
import type { CaseOutcome } from "./selection.cases.ts";

export type BreakerStateName = "closed" | "open" | "half-open";

export interface InstanceBreakerHarness {
  /** May a pick choose the instance now? */
  available(nowMs: number): boolean;
  /** The instance was picked; true when this pick is the half-open probe. */
  pick(nowMs: number): boolean;
  /** An attempt ended (slow = 200 after 2 s, others 10 ms; slow calls are > 1 s). */
  record(outcome: CaseOutcome, probe: boolean, nowMs: number): void;
  state(): BreakerStateName;
}

export interface GroupBreakerHarness {
  admit(): "run" | "queue" | "reject";
  /** A running request ended; true when a queued one may now run. */
  finish(): boolean;
  counts(): { active: number; pending: number; overflow: number };
}

export interface BreakerAdapter {
  /** Instance breaker with defaults, except `errorRatio` when given. */
  instance(options: { errorRatio?: number }): InstanceBreakerHarness;
  /** Group limits; defaults 1024 / 1024 when not given. */
  group(options: { maxRequests?: number; maxPendingRequests?: number }): GroupBreakerHarness;
}

export type BreakerStep =
  | { calls: [outcome: CaseOutcome, atMs: number, times?: number] }
  | { pick: number; probe: boolean }
  | { probeResult: [outcome: CaseOutcome, atMs: number] }
  | { expect: [atMs: number, state: BreakerStateName, available: boolean] };

export interface BreakerCase {
  name: string;
  errorRatio?: number;
  steps: BreakerStep[];
}

export const INSTANCE_BREAKER_CASES: BreakerCase[] = [
  {
    name: "error ratio above 0.5 over ≥ 5 calls opens",
    // ok, ok, 500, 500, 500: at the 5th call 3 / 5 = 0.6 > 0.5.
    steps: [
      { calls: [200, 100, 2] },
      { calls: [500, 100, 2] },
      { expect: [100, "closed", true] },
      { calls: [500, 100] },
      { expect: [100, "open", false] },
    ],
  },
  {
    name: "fewer than 5 calls never open",
    steps: [{ calls: [500, 100, 4] }, { expect: [100, "closed", true] }],
  },
  {
    name: "exactly 0.5 does not open",
    // ok, 500 alternating: 1/2, 1/3 (<5 calls) … 2/5, 3/6 = 0.5 — never above.
    steps: [
      { calls: [200, 100] },
      { calls: [500, 100] },
      { calls: [200, 100] },
      { calls: [500, 100] },
      { calls: [200, 100] },
      { calls: [500, 100] },
      { expect: [100, "closed", true] },
    ],
  },
  {
    name: "the statistic window restarts every second",
    // 4 failures in [0, 1 s), 1 in [1 s, 2 s): neither window reaches 5 calls.
    steps: [{ calls: [500, 900, 4] }, { calls: [500, 1_000] }, { expect: [1_000, "closed", true] }],
  },
  {
    name: "slow calls open it by ratio",
    steps: [{ calls: ["slow", 100, 5] }, { expect: [100, "open", false] }],
  },
  {
    name: "open for the time window, then one half-open probe",
    steps: [
      { calls: [500, 0, 5] },
      { expect: [9_999, "open", false] },
      { expect: [10_000, "open", true] },
      { pick: 10_000, probe: true },
      { expect: [10_000, "half-open", false] },
      { pick: 10_001, probe: false },
    ],
  },
  {
    name: "the probe succeeds: closed with fresh counters",
    steps: [
      { calls: [500, 0, 5] },
      { pick: 10_000, probe: true },
      { probeResult: [200, 10_020] },
      { expect: [10_020, "closed", true] },
      // Counters were reset: 4 failures are not enough to reopen.
      { calls: [500, 10_030, 4] },
      { expect: [10_030, "closed", true] },
    ],
  },
  {
    name: "the probe fails: open for another window from then",
    steps: [
      { calls: [500, 0, 5] },
      { pick: 10_000, probe: true },
      { probeResult: ["connect", 10_020] },
      { expect: [10_020, "open", false] },
      { expect: [20_019, "open", false] },
      { expect: [20_020, "open", true] },
    ],
  },
  {
    name: "a slow probe reopens it",
    steps: [{ calls: [500, 0, 5] }, { pick: 10_000, probe: true }, { probeResult: ["slow", 12_000] }, { expect: [12_000, "open", false] }],
  },
  {
    name: "calls ending while open or half-open decide nothing",
    steps: [
      { calls: [500, 0, 5] },
      { calls: [200, 100, 10] },
      { expect: [100, "open", false] },
      { pick: 10_000, probe: true },
      { calls: [200, 10_010, 3] },
      { expect: [10_010, "half-open", false] },
    ],
  },
  {
    name: "threshold 1.0 opens only when every call failed",
    errorRatio: 1,
    steps: [
      { calls: [500, 100, 4] },
      { calls: [200, 100] },
      { expect: [100, "closed", true] },
      { calls: [500, 2_000, 5] },
      { expect: [2_000, "open", false] },
    ],
  },
];

export function runInstanceBreakerCase(adapter: BreakerAdapter, c: BreakerCase): string[] {
  const b = adapter.instance({ errorRatio: c.errorRatio });
  const failures: string[] = [];
  c.steps.forEach((step, i) => {
    if ("calls" in step) {
      const [outcome, at, times = 1] = step.calls;
      for (let k = 0; k < times; k++) b.record(outcome, false, at);
    } else if ("pick" in step) {
      const probe = b.pick(step.pick);
      if (probe !== step.probe) failures.push(`step ${i}: probe ${probe}, want ${step.probe}`);
    } else if ("probeResult" in step) {
      b.record(step.probeResult[0], true, step.probeResult[1]);
    } else {
      const [at, state, available] = step.expect;
      if (b.state() !== state) failures.push(`step ${i}: state ${b.state()}, want ${state}`);
      if (b.available(at) !== available) failures.push(`step ${i}: available ${!available} at ${at}, want ${available}`);
    }
  });
  return failures;
}

export interface GroupBreakerCase {
  name: string;
  limits: { maxRequests?: number; maxPendingRequests?: number };
  /** Admissions, then finishes; `want` lists every admission result, then every finish result. */
  admits: number;
  finishes: number;
  want: {
    admitted: Record<"run" | "queue" | "reject", number>;
    promoted: number;
    counts: { active: number; pending: number; overflow: number };
  };
}

export const GROUP_BREAKER_CASES: GroupBreakerCase[] = [
  {
    name: "2 running, 1 waiting, the rest refused; a finish lets the waiting one run",
    limits: { maxRequests: 2, maxPendingRequests: 1 },
    admits: 5,
    finishes: 2,
    // run, run, queue, reject, reject; first finish promotes the queued one, the second frees a slot.
    want: { admitted: { run: 2, queue: 1, reject: 2 }, promoted: 1, counts: { active: 1, pending: 0, overflow: 2 } },
  },
  {
    name: "Envoy's defaults: 1024 running and 1024 pending",
    limits: {},
    admits: 2_049,
    finishes: 0,
    want: { admitted: { run: 1024, queue: 1024, reject: 1 }, promoted: 0, counts: { active: 1024, pending: 1024, overflow: 1 } },
  },
];

export function runGroupBreakerCase(adapter: BreakerAdapter, c: GroupBreakerCase): GroupBreakerCase["want"] {
  const g = adapter.group(c.limits);
  const admitted = { run: 0, queue: 0, reject: 0 };
  for (let i = 0; i < c.admits; i++) admitted[g.admit()]++;
  let promoted = 0;
  for (let i = 0; i < c.finishes; i++) if (g.finish()) promoted++;
  return { admitted, promoted, counts: g.counts() };
}
