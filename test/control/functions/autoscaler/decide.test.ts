/**
 * decideScale against Knative's own scenarios (knative/serving pkg/autoscaler/scaling/autoscaler_test.go),
 * re-expressed as sequences of decisions. Knative's test spec is target 10 per pod, panic
 * threshold 2, max scale up/down rate 10, stable window 60 s: here targetConcurrency 20 × 0.5 = 10,
 * so the total per instance (for excess burst capacity) is 20. Arithmetic in the comments.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createScaleState, decideScale, type ScaleReason, type ScaleState } from "../../../../control/functions/autoscaler/decide.ts";
import { SCALING_DEFAULTS, type ScalingSettings } from "../../../../control/functions/autoscaler/settings.ts";

const KNATIVE_TEST_SPEC: ScalingSettings = {
  ...SCALING_DEFAULTS,
  targetConcurrency: 20,
  targetUtilization: 0.5,
  maxScaleUpRate: 10,
  maxScaleDownRate: 10,
  panicThreshold: 2,
  stableWindowMs: 60_000,
  initialScale: 0,
};

interface Step {
  atMs: number;
  ready: number;
  /** [stable, panic] averages; null = no data. */
  averages: [number, number] | null;
  want: { desired: number; panic?: boolean; ebc?: number; reason?: ScaleReason };
}

interface Case {
  name: string;
  settings: Partial<ScalingSettings>;
  /** Ready instances when the decider is created at 0 ms, or a state to start from. */
  start: number | Partial<ScaleState>;
  steps: Step[];
}

const S = 1000;
const MIN = 60 * S;

const CASES: Case[] = [
  {
    name: "no data: no decision, keep current (AutoscalerNoDataNoAutoscale)",
    settings: {},
    start: 1,
    steps: [{ atMs: 0, ready: 3, averages: null, want: { desired: 3, reason: "no-data" } }],
  },
  {
    name: "stable, no change (AutoscalerStableModeNoChange)",
    settings: { targetBurstCapacity: 100 },
    start: 1,
    // ceil(50/10) = 5; 5/1 ≥ 2 so Knative panics too; EBC 1×20 − 100 − 50 = −130
    steps: [{ atMs: 0, ready: 1, averages: [50, 50], want: { desired: 5, panic: true, ebc: -130 } }],
  },
  {
    name: "already scaled (AutoscalerStableModeNoChangeAlreadyScaled)",
    settings: { targetBurstCapacity: 100 },
    start: 5,
    // 5 ready start in panic (restart); ceil(50/10) = 5; EBC 5×20 − 100 − 50 = −50
    steps: [{ atMs: 0, ready: 5, averages: [50, 50], want: { desired: 5, ebc: -50 } }],
  },
  {
    name: "unlimited TBC: EBC −1 (AutoscalerStableModeUnlimitedTBC)",
    settings: { targetConcurrency: 362, targetBurstCapacity: -1 },
    start: 1,
    // target 362 × 0.5 = 181; ceil(21/181) = 1
    steps: [{ atMs: 0, ready: 1, averages: [21, 26], want: { desired: 1, ebc: -1 } }],
  },
  {
    name: "zero TBC: EBC 0 (Autoscaler0TBC)",
    settings: { targetBurstCapacity: 0 },
    start: 1,
    steps: [{ atMs: 0, ready: 1, averages: [50, 49], want: { desired: 5, ebc: 0 } }],
  },
  {
    name: "panic: stable larger than panic wins (AutoscalerPanicStableLargerThanPanic)",
    settings: { targetConcurrency: 2, targetBurstCapacity: 100 },
    start: { panicSinceMs: -5 * S, maxPanicInstances: 5 },
    // target 1: ceil(50/1) = 50 ≤ ceil(10 × 5) = 50; EBC 5×2 − 100 − 30 = −120
    steps: [{ atMs: 0, ready: 5, averages: [50, 30], want: { desired: 50, panic: true, ebc: -120 } }],
  },
  {
    name: "panic: panic larger than stable wins (AutoscalerPanicStableLessThanPanic)",
    settings: { targetConcurrency: 2 },
    start: { panicSinceMs: -5 * S, maxPanicInstances: 5 },
    steps: [{ atMs: 0, ready: 5, averages: [20, 30], want: { desired: 30, panic: true } }],
  },
  {
    name: "small scale-up rate still grows by one (AutoscalerStableModeIncreaseWithSmallScaleUpRate)",
    settings: { targetConcurrency: 2, maxScaleUpRate: 1.1, targetBurstCapacity: 1982 },
    start: 2,
    // wanted ceil(3/1) = 3; cap ceil(1.1 × 2) = ceil(2.2) = 3 (floor would give 2)
    steps: [{ atMs: 0, ready: 2, averages: [3, 3.1], want: { desired: 3 } }],
  },
  {
    name: "small scale-down rate (AutoscalerStableModeDecreaseWithSmallScaleDownRate)",
    settings: { maxScaleDownRate: 1.1 },
    start: { panicSinceMs: null, maxPanicInstances: 0 },
    // wanted ceil(1/10) = 1; floor(100 / 1.1) = floor(90.9) = 90
    steps: [{ atMs: 0, ready: 100, averages: [1, 1], want: { desired: 90, panic: false } }],
  },
  {
    name: "panic doubles (AutoscalerPanicModeDoublePodCount)",
    settings: { targetBurstCapacity: 84 },
    start: 1,
    // stable ceil(50/10) = 5, panic ceil(100/10) = 10; 10/1 ≥ 2: panic → 10; EBC 20 − 84 − 100 = −164
    steps: [{ atMs: 0, ready: 1, averages: [50, 100], want: { desired: 10, panic: true, ebc: -164 } }],
  },
  {
    name: "stable increase (AutoscalerStableModeIncreaseWithConcurrencyDefault)",
    settings: {},
    start: 1,
    steps: [
      { atMs: 0, ready: 1, averages: [50, 10], want: { desired: 5, panic: false } }, // 5, panic ceil(10/10)=1 < 2
      { atMs: 2 * S, ready: 1, averages: [100, 10], want: { desired: 10, panic: false } }, // ceil(100/10) = 10 = ceil(10 × 1)
    ],
  },
  {
    name: "stable decrease (AutoscalerStableModeDecrease)",
    settings: { targetBurstCapacity: 98 },
    start: { panicSinceMs: null, maxPanicInstances: 0 },
    steps: [
      { atMs: 0, ready: 8, averages: [100, 100], want: { desired: 10, panic: false, ebc: 8 * 20 - 98 - 100 } }, // 10/8 < 2
      { atMs: 2 * S, ready: 8, averages: [50, 50], want: { desired: 5, panic: false } },
    ],
  },
  {
    name: "1000 concurrent at target 10: 1 → 10 → 100 (AutoscalerRateLimitScaleUp)",
    settings: { targetBurstCapacity: 61 },
    start: 1,
    steps: [
      // wanted ceil(1000/10) = 100, cap ceil(10 × 1) = 10; EBC 20 − 61 − 1001 = −1042
      { atMs: 0, ready: 1, averages: [1000, 1001], want: { desired: 10, ebc: -1042 } },
      // cap ceil(10 × 10) = 100; panic wanted 101 capped to 100
      { atMs: 2 * S, ready: 10, averages: [1000, 1001], want: { desired: 100 } },
    ],
  },
  {
    name: "rate-limited scale down: 100 → 10 → 1 (AutoscalerRateLimitScaleDown)",
    settings: {},
    start: { panicSinceMs: null, maxPanicInstances: 0 },
    steps: [
      { atMs: 0, ready: 100, averages: [1, 1], want: { desired: 10 } }, // floor(100/10) = 10
      { atMs: 2 * S, ready: 10, averages: [1, 1], want: { desired: 1 } }, // floor(10/10) = 1, wanted 1
    ],
  },
  {
    name: "no endpoints: rates from one instance (AutoscalerUseOnePodAsMinimumIfEndpointsNotFound)",
    settings: { targetBurstCapacity: 81 },
    start: 0,
    // cap ceil(10 × max(1, 0)) = 10; EBC 0 × 20 − 81 − 888 = −969
    steps: [{ atMs: 0, ready: 0, averages: [1000, 888], want: { desired: 10, ebc: -969 } }],
  },
  {
    name: "panic, then un-panic and scale down (AutoscalerPanicThenUnPanicScaleDown)",
    settings: {},
    start: 1,
    steps: [
      { atMs: 0, ready: 1, averages: [100, 100], want: { desired: 10, panic: true } }, // 10/1 ≥ 2
      { atMs: 0, ready: 10, averages: [100, 1000], want: { desired: 100, panic: true } }, // 100/10 ≥ 2: panic since 0
      { atMs: 30 * S, ready: 10, averages: [1, 1], want: { desired: 100, panic: true } }, // never down in panic
      { atMs: 61 * S, ready: 10, averages: [1, 1], want: { desired: 1, panic: false } }, // 0 + 60 s < 61 s: out; floor(10/10) = 1
    ],
  },
  {
    name: "exponential growth tracked in panic: 6 → 36 → 216 → 1296 (AutoscalerPanicModeExponentialTrackAndStabilize)",
    settings: { targetConcurrency: 2 },
    start: 1,
    steps: [
      { atMs: 0, ready: 1, averages: [6, 6], want: { desired: 6, panic: true } }, // 6/1 ≥ 2; cap 10
      { atMs: 0, ready: 6, averages: [36, 36], want: { desired: 36, panic: true } }, // cap 60
      { atMs: 1 * S, ready: 36, averages: [216, 216], want: { desired: 216, panic: true } }, // cap 360
      { atMs: 1 * S, ready: 216, averages: [1296, 1296], want: { desired: 1296, panic: true } }, // cap 2160
      { atMs: 2 * S, ready: 1296, averages: [1296, 1296], want: { desired: 1296, panic: true } }, // 1296/1296 < 2, still within 60 s
    ],
  },
  {
    name: "un-panic after slow increase (AutoscalerUnpanicAfterSlowIncrease)",
    settings: { targetConcurrency: 2 },
    start: 10,
    steps: [
      { atMs: 0, ready: 10, averages: [11, 25], want: { desired: 25, panic: true } }, // 25/10 ≥ 2: panic since 0
      { atMs: 30 * S, ready: 40, averages: [30, 41], want: { desired: 41, panic: true } }, // 41/40 < 2: panic not extended
      { atMs: 62 * S, ready: 55, averages: [50, 56], want: { desired: 50, panic: false } }, // 0 + 60 s < 62 s: stable 50
    ],
  },
  {
    name: "panic extended while surging (AutoscalerExtendPanicWindow)",
    settings: { targetConcurrency: 2 },
    start: 10,
    steps: [
      { atMs: 0, ready: 10, averages: [11, 25], want: { desired: 25, panic: true } },
      { atMs: 30 * S, ready: 40, averages: [30, 80], want: { desired: 80, panic: true } }, // 80/40 ≥ 2: since 30 s
      { atMs: 62 * S, ready: 80, averages: [30, 30], want: { desired: 80, panic: true } }, // 30 s + 60 s > 62 s: still panic
    ],
  },
  {
    name: "scale-down delay is the max over 5 min, then the grace (AutoscalerScaleDownDelay)",
    settings: { panicThreshold: 100, scaleDownDelayMs: 5 * MIN },
    start: 1,
    steps: [
      { atMs: 2 * S, ready: 1, averages: [40, 40], want: { desired: 4 } }, // slot 1
      { atMs: 5 * MIN, ready: 1, averages: [0, 0], want: { desired: 4, reason: "scale-down-delayed" } }, // slot 150: 150 − 1 < 150 slots
      { atMs: 5 * MIN + 2 * S, ready: 1, averages: [0, 0], want: { desired: 1, reason: "zero-grace" } }, // 4 scrolled out; 0 waits 30 s
      { atMs: 9 * MIN, ready: 1, averages: [40, 40], want: { desired: 4 } },
      { atMs: 10 * MIN, ready: 4, averages: [30, 30], want: { desired: 4 } }, // 4 still dominates 3
      { atMs: 11 * MIN, ready: 4, averages: [0, 0], want: { desired: 4 } },
      { atMs: 14 * MIN, ready: 4, averages: [0, 0], want: { desired: 3 } }, // 4 (9 min) scrolls out; 3 (10 min) remains
      { atMs: 15 * MIN, ready: 3, averages: [0, 0], want: { desired: 1, reason: "zero-grace" } }, // all out: zero wanted since 15 min
      { atMs: 15 * MIN + 30 * S, ready: 1, averages: [0, 0], want: { desired: 0 } }, // grace of 30 s passed
    ],
  },
  {
    name: "zero delay scales down at once (AutoscalerScaleDownDelayZero)",
    settings: { panicThreshold: 100 },
    start: 1,
    steps: [
      { atMs: 0, ready: 1, averages: [40, 40], want: { desired: 4 } },
      { atMs: 500, ready: 1, averages: [20, 20], want: { desired: 2 } },
    ],
  },
  {
    name: "activation scale (AutoscalerActivationScale)",
    settings: { activationScale: 2 },
    start: 0,
    steps: [
      { atMs: 0, ready: 0, averages: [0, 0], want: { desired: 0 } },
      { atMs: 2 * S, ready: 0, averages: [1, 0], want: { desired: 2 } }, // ceil(1/10) = 1 > 0 → activation scale 2
    ],
  },
  {
    name: "no traffic: zero only after the grace (AutoscalerStableModeNoTrafficScaleToZero + scaler grace)",
    settings: {},
    start: 1,
    steps: [
      { atMs: 0, ready: 1, averages: [1, 0], want: { desired: 1 } },
      { atMs: 2 * S, ready: 1, averages: [0, 0], want: { desired: 1, reason: "zero-grace" } }, // zero wanted since 2 s
      { atMs: 31 * S, ready: 1, averages: [0, 0], want: { desired: 1, reason: "zero-grace" } }, // 29 s < 30 s
      { atMs: 32 * S, ready: 1, averages: [1, 1], want: { desired: 1, reason: "stable" } }, // traffic: grace resets
      { atMs: 34 * S, ready: 1, averages: [0, 0], want: { desired: 1, reason: "zero-grace" } }, // since 34 s
      { atMs: 64 * S, ready: 1, averages: [0, 0], want: { desired: 0 } }, // 30 s passed
    ],
  },
  {
    name: "RPS target (AutoscalerStableModeIncreaseWithRPS)",
    settings: { scalingMetric: "rps", targetRps: 20, targetBurstCapacity: 101 },
    start: 1,
    // ceil(50/10) = 5; EBC 1×20 − 101 − 10 = −91
    steps: [{ atMs: 0, ready: 1, averages: [50, 10], want: { desired: 5, panic: false, ebc: -91 } }],
  },
  {
    name: "min instances hold, max instances cap",
    settings: { minInstances: 3, maxInstances: 50 },
    start: { panicSinceMs: null, maxPanicInstances: 0 },
    steps: [
      { atMs: 0, ready: 3, averages: [0, 0], want: { desired: 3, reason: "bounded" } },
      { atMs: 2 * S, ready: 3, averages: [1000, 1000], want: { desired: 30 } }, // cap ceil(10 × 3) = 30
      { atMs: 4 * S, ready: 30, averages: [1000, 1000], want: { desired: 50, reason: "bounded" } }, // wanted 100, max 50
    ],
  },
  {
    name: "initial scale held until reached once",
    settings: { initialScale: 3 },
    start: 0,
    steps: [
      { atMs: 0, ready: 0, averages: null, want: { desired: 3, reason: "no-data" } },
      { atMs: 2 * S, ready: 1, averages: [0, 0], want: { desired: 3, reason: "bounded" } },
      { atMs: 4 * S, ready: 3, averages: [0, 0], want: { desired: 1, reason: "zero-grace" } }, // reached: min back to 0
    ],
  },
];

function runCase(c: Case) {
  const settings = { ...KNATIVE_TEST_SPEC, ...c.settings };
  let state = typeof c.start === "number" ? createScaleState(settings, c.start, 0) : { ...createScaleState(settings, 0, 0), ...c.start };
  return c.steps.map((step) => {
    const averages = step.averages === null ? null : { stableAverage: step.averages[0], panicAverage: step.averages[1] };
    const decision = decideScale(settings, state, { readyInstances: step.ready, averages }, step.atMs);
    state = decision.state;
    return decision;
  });
}

describe("decideScale: Knative scenarios", () => {
  it.each(CASES.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const decisions = runCase(c);
    c.steps.forEach((step, i) => {
      const got = decisions[i];
      const label = `step ${i} at ${step.atMs} ms`;
      expect(got.desired, label).toBe(step.want.desired);
      if (step.want.panic !== undefined) expect(got.panic, label).toBe(step.want.panic);
      if (step.want.ebc !== undefined) expect(got.excessBurstCapacity, label).toBe(step.want.ebc);
      if (step.want.reason !== undefined) expect(got.reason, label).toBe(step.want.reason);
    });
  });

  it("starts in panic above one ready instance, as Knative TestStartInPanicMode", () => {
    expect(createScaleState(KNATIVE_TEST_SPEC, 0, 0).panicSinceMs).toBeNull();
    expect(createScaleState(KNATIVE_TEST_SPEC, 1, 0).panicSinceMs).toBeNull();
    expect(createScaleState(KNATIVE_TEST_SPEC, 2, 7).panicSinceMs).toBe(7);
    expect(createScaleState(KNATIVE_TEST_SPEC, 2, 7).maxPanicInstances).toBe(2);
  });
});

describe("decideScale: properties", () => {
  const settingsArb = fc.record({
    targetConcurrency: fc.integer({ min: 1, max: 200 }),
    targetUtilization: fc.double({ min: 0.1, max: 1, noNaN: true }),
    minInstances: fc.integer({ min: 0, max: 5 }),
    maxInstances: fc.oneof(fc.constant(0), fc.integer({ min: 5, max: 500 })),
    initialScale: fc.integer({ min: 0, max: 1 }),
    activationScale: fc.integer({ min: 1, max: 4 }),
    panicThreshold: fc.double({ min: 1, max: 5, noNaN: true }),
    maxScaleUpRate: fc.double({ min: 1.01, max: 1000, noNaN: true }),
    maxScaleDownRate: fc.double({ min: 1.01, max: 10, noNaN: true }),
    scaleDownDelayMs: fc.constantFrom(0, 4000, 30_000),
  });
  const stepArb = fc.record({
    dtMs: fc.integer({ min: 0, max: 20_000 }),
    stable: fc.double({ min: 0, max: 5000, noNaN: true }),
    panic: fc.double({ min: 0, max: 5000, noNaN: true }),
  });

  it("desired within bounds, never down in panic, at most the scale-up rate, zero only after the grace", () => {
    fc.assert(
      fc.property(
        settingsArb,
        fc.integer({ min: 0, max: 20 }),
        fc.array(stepArb, { minLength: 1, maxLength: 40 }),
        (overrides, startReady, steps) => {
          const settings: ScalingSettings = { ...SCALING_DEFAULTS, ...overrides };
          let state = createScaleState(settings, startReady, 0);
          let ready = startReady;
          let nowMs = 0;
          for (const step of steps) {
            nowMs += step.dtMs;
            const d = decideScale(
              settings,
              state,
              { readyInstances: ready, averages: { stableAverage: step.stable, panicAverage: step.panic } },
              nowMs,
            );
            expect(d.desired).toBeGreaterThanOrEqual(settings.minInstances);
            if (settings.maxInstances > 0) expect(d.desired).toBeLessThanOrEqual(settings.maxInstances);
            if (d.panic) expect(d.desired).toBeGreaterThanOrEqual(Math.min(ready, settings.maxInstances || Infinity));
            const upCap = Math.ceil(settings.maxScaleUpRate * Math.max(ready, 1));
            expect(d.desired).toBeLessThanOrEqual(Math.max(upCap, settings.activationScale, settings.minInstances, 1));
            if (d.desired === 0 && ready > 0)
              expect(nowMs - (d.state.zeroWantedSinceMs ?? nowMs)).toBeGreaterThanOrEqual(settings.scaleToZeroGraceMs);
            state = d.state;
            ready = d.desired; // the platform converges before the next decision
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
