/**
 * Passive outlier detection with Envoy's defaults: consecutive 5xx 5, interval 10 s, base
 * ejection 30 s × backoff capped at 300 s, max ejection 10 % (one host always ejectable),
 * success-rate ejection with ≥ 5 hosts of ≥ 100 requests, stdev factor 1.9. Scenarios drive
 * `record` and `sweep` with explicit times and check which hosts are ejected.
 */
import type { CaseOutcome } from "./selection.cases.ts";

export interface CaseOutlierOptions {
  consecutive5xx?: number;
  enforcingConsecutiveGatewayFailure?: number;
  alwaysEjectOneHost?: boolean;
}

export interface OutlierHarness {
  record(id: number, outcome: CaseOutcome, nowMs: number): void;
  sweep(nowMs: number): void;
  /** Ejected host ids, ascending. */
  ejected(): number[];
}

export interface OutlierAdapter {
  /** A detector over hosts 1…hosts, created at t = 0. */
  create(hosts: number, options: CaseOutlierOptions, seed: number): OutlierHarness;
  /** Envoy's threshold maths, when the implementation exposes it. */
  successRateThreshold?(rates: number[], factor: number): { mean: number; threshold: number };
}

export type OutlierStep =
  | { record: [id: number, outcome: CaseOutcome, atMs: number, times?: number] }
  /** `ok` successes and `fail` 500s on `id`, alternating so no 5 failures are consecutive. */
  | { mix: [id: number, ok: number, fail: number, atMs: number] }
  | { sweep: number }
  | { ejected: number[] };

export interface OutlierCase {
  name: string;
  hosts: number;
  options?: CaseOutlierOptions;
  steps: OutlierStep[];
}

const hostsFrom = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

export const OUTLIER_CASES: OutlierCase[] = [
  {
    name: "ejected after exactly 5 consecutive 5xx",
    hosts: 10,
    steps: [{ record: [1, 500, 0, 4] }, { ejected: [] }, { record: [1, 500, 0] }, { ejected: [1] }],
  },
  {
    name: "a success in between starts the count again",
    hosts: 10,
    steps: [
      { record: [1, 500, 0, 4] },
      { record: [1, 200, 0] },
      { record: [1, 500, 0, 4] },
      { ejected: [] },
      { record: [1, 503, 0] },
      { ejected: [1] },
    ],
  },
  {
    name: "4xx responses are successes",
    hosts: 10,
    steps: [{ record: [1, 500, 0, 4] }, { record: [1, 404, 0] }, { record: [1, 500, 0, 4] }, { ejected: [] }],
  },
  {
    name: "connect failures (503), timeouts (504) and resets count as 5xx",
    hosts: 10,
    steps: [{ record: [1, "connect", 0, 2] }, { record: [1, "timeout", 0, 2] }, { record: [1, "reset", 0] }, { ejected: [1] }],
  },
  {
    name: "consecutive gateway failures are counted, not enforced by default (Envoy 0 %)",
    hosts: 10,
    options: { consecutive5xx: 100 },
    steps: [{ record: [1, 503, 0, 5] }, { ejected: [] }],
  },
  {
    name: "consecutive gateway failures eject when enforced",
    hosts: 10,
    options: { consecutive5xx: 100, enforcingConsecutiveGatewayFailure: 100 },
    steps: [{ record: [1, 502, 0, 4] }, { record: [1, 504, 0] }, { ejected: [1] }],
  },
  {
    name: "a 500 breaks a run of gateway failures",
    hosts: 10,
    options: { consecutive5xx: 100, enforcingConsecutiveGatewayFailure: 100 },
    steps: [{ record: [1, 503, 0, 4] }, { record: [1, 500, 0] }, { record: [1, 503, 0, 4] }, { ejected: [] }],
  },
  {
    name: "un-ejected at the first sweep at least 30 s after the ejection",
    hosts: 10,
    steps: [
      { record: [1, 500, 5_000, 5] },
      { sweep: 10_000 },
      { sweep: 20_000 },
      { sweep: 30_000 },
      // 30 s − 5 s = 25 s < 30 s.
      { ejected: [1] },
      { sweep: 40_000 },
      { ejected: [] },
    ],
  },
  {
    name: "un-ejected counters start from zero",
    hosts: 10,
    steps: [
      { record: [1, 500, 0, 5] },
      // Traffic reaching it while ejected (panic) is not charged towards a new ejection.
      { record: [1, 500, 1_000, 3] },
      { sweep: 30_000 },
      { record: [1, 500, 31_000, 4] },
      { ejected: [] },
      { record: [1, 500, 31_000] },
      { ejected: [1] },
    ],
  },
  {
    name: "the backoff decays while the host stays healthy",
    hosts: 10,
    steps: [
      // Ejected at 0 for 30 s (backoff 1), back at the 30 s sweep.
      { record: [1, 500, 0, 5] },
      { sweep: 30_000 },
      // 40 s: un-ejected ≥ one interval ago → backoff 1 → 0.
      { sweep: 40_000 },
      // Ejected again at 45 s: backoff 0 → 1, 30 s again (not 60 s).
      { record: [1, 500, 45_000, 5] },
      { sweep: 70_000 },
      { ejected: [1] },
      { sweep: 80_000 },
      { ejected: [] },
    ],
  },
  {
    name: "max ejection percent: 10 failing hosts of 10 → 1 ejected",
    hosts: 10,
    // (0 + 1) / 10 = 10 % ≤ 10 %; (1 + 1) / 10 = 20 % > 10 %.
    steps: [...hostsFrom(1, 10).map((id) => ({ record: [id, 500, 0, 5] as [number, CaseOutcome, number, number] })), { ejected: [1] }],
  },
  {
    name: "max ejection percent: 3 failing hosts of 20 → 2 ejected",
    hosts: 20,
    // 1/20 = 5 %, 2/20 = 10 % ≤ 10 %; 3/20 = 15 % > 10 %.
    steps: [{ record: [1, 500, 0, 5] }, { record: [2, 500, 0, 5] }, { record: [3, 500, 0, 5] }, { ejected: [1, 2] }],
  },
  {
    name: "one host is always ejectable: 1 of 3 (33 % > 10 %)",
    hosts: 3,
    steps: [{ record: [2, "connect", 0, 5] }, { ejected: [2] }, { record: [3, "connect", 0, 5] }, { ejected: [2] }],
  },
  {
    name: "without alwaysEjectOneHost (Envoy's current default) 1 of 3 is never ejected",
    hosts: 3,
    options: { alwaysEjectOneHost: false },
    steps: [{ record: [2, "connect", 0, 5] }, { ejected: [] }],
  },
  {
    name: "success rate: a host at 50 % among five at 100 % is ejected at the sweep",
    hosts: 6,
    // Rates {100 ×5, 50}: mean 91.67, stdev 18.63, threshold 91.67 − 1.9 · 18.63 = 56.27 > 50.
    steps: [
      ...hostsFrom(1, 5).map((id) => ({ mix: [id, 100, 0, 1_000] as [number, number, number, number] })),
      { mix: [6, 50, 50, 1_000] },
      { ejected: [] },
      { sweep: 10_000 },
      { ejected: [6] },
    ],
  },
  {
    name: "success rate: with ≥ 5 hosts a lone host at 99 % is below the threshold too",
    hosts: 6,
    // Rates {100 ×5, 99}: mean 99.833, stdev 0.373, threshold 99.125 > 99. With one low host
    // among n, it is ejected whenever √(n − 1) > 1.9, i.e. n ≥ 5, however small the gap.
    steps: [
      ...hostsFrom(1, 5).map((id) => ({ mix: [id, 100, 0, 1_000] as [number, number, number, number] })),
      { mix: [6, 99, 1, 1_000] },
      { sweep: 10_000 },
      { ejected: [6] },
    ],
  },
  {
    name: "success rate needs 5 hosts with ≥ 100 requests in the interval",
    hosts: 6,
    // Hosts 4 and 5 have 99 requests: valid are 1, 2, 3 and 6 — 4 < 5, no evaluation.
    steps: [
      ...hostsFrom(1, 3).map((id) => ({ mix: [id, 100, 0, 1_000] as [number, number, number, number] })),
      { mix: [4, 99, 0, 1_000] },
      { mix: [5, 99, 0, 1_000] },
      { mix: [6, 50, 50, 1_000] },
      { sweep: 10_000 },
      { ejected: [] },
    ],
  },
  {
    name: "success rate looks at one interval at a time",
    hosts: 6,
    // Host 6's bad interval has no peers with volume (1 valid host < 5); the next interval has
    // five good hosts but nothing from 6. Counts do not carry over, so nobody is ejected.
    steps: [
      { mix: [6, 50, 50, 1_000] },
      { sweep: 10_000 },
      ...hostsFrom(1, 5).map((id) => ({ mix: [id, 100, 0, 11_000] as [number, number, number, number] })),
      { sweep: 20_000 },
      { ejected: [] },
    ],
  },
  {
    name: "success rate with fewer than 5 hosts in the group: never",
    hosts: 4,
    steps: [
      ...hostsFrom(1, 3).map((id) => ({ mix: [id, 100, 0, 1_000] as [number, number, number, number] })),
      { mix: [4, 50, 50, 1_000] },
      { sweep: 10_000 },
      { ejected: [] },
    ],
  },
];

/** Returns [got, want] for every `ejected` check, in order. */
export function runOutlierCase(adapter: OutlierAdapter, c: OutlierCase): { got: number[][]; want: number[][] } {
  const h = adapter.create(c.hosts, c.options ?? {}, 1);
  const got: number[][] = [];
  const want: number[][] = [];
  for (const step of c.steps) {
    if ("record" in step) {
      const [id, outcome, at, times = 1] = step.record;
      for (let i = 0; i < times; i++) h.record(id, outcome, at);
    } else if ("mix" in step) {
      const [id, ok, fail, at] = step.mix;
      for (let i = 0; i < Math.max(ok, fail); i++) {
        if (i < ok) h.record(id, 200, at);
        if (i < fail) h.record(id, 500, at);
      }
    } else if ("sweep" in step) {
      h.sweep(step.sweep);
    } else {
      got.push(h.ejected());
      want.push(step.ejected);
    }
  }
  return { got, want };
}

/**
 * Ejection durations, in s, of `count` successive ejections of one host that fails five times
 * right after each un-ejection, with a sweep every 10 s.
 */
export function runEjectionDurations(adapter: OutlierAdapter, count: number): number[] {
  const h = adapter.create(10, {}, 1);
  const durations: number[] = [];
  let now = 0;
  for (let k = 0; k < count; k++) {
    for (let i = 0; i < 5; i++) h.record(1, 500, now);
    const ejectedAt = now;
    do {
      now += 10_000;
      h.sweep(now);
    } while (h.ejected().includes(1));
    durations.push((now - ejectedAt) / 1000);
  }
  return durations;
}

export const EJECTION_DURATIONS_S = [30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 300, 300];

export const SUCCESS_RATE_THRESHOLD_CASES: { name: string; rates: number[]; factor: number; want: { mean: number; threshold: number } }[] =
  [
    // Envoy's own example (outlier_detection_impl.cc): mean 90, variance 400, stdev 20, 90 − 1.9 · 20 = 52.
    { name: "Envoy's example", rates: [50, 100, 100, 100, 100], factor: 1.9, want: { mean: 90, threshold: 52 } },
    { name: "all equal: threshold = mean", rates: [80, 80, 80, 80, 80], factor: 1.9, want: { mean: 80, threshold: 80 } },
  ];
