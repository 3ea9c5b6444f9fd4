/**
 * worker/telemetry/sampler.ts: OTel `parentbased_traceidratio` — the parent's flag wins; without
 * a parent, TraceIdRatioBased on the trace-id's rightmost 56 bits (R ≥ (1 − ratio) × 2^56),
 * deterministic, monotone in the ratio and close to the ratio on random ids.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { rejectionThreshold, shouldSample, traceIdSampled } from "../../../worker/telemetry/sampler.ts";
import { randomTraceId } from "../../../worker/telemetry/trace-context.ts";

/** A trace-id whose randomness R is `r` (hex, 14 digits), behind an arbitrary left half. */
const withRandomness = (r: string) => `4bf92f3577b34da6a3${r.padStart(14, "0")}`;

describe("traceIdSampled", () => {
  it.each([
    // [ratio, R as 14 hex digits, sampled]
    [1, "00000000000000", true],
    [0, "ffffffffffffff", false],
    [0.5, "80000000000000", true], // T = 2^55: R = T is sampled
    [0.5, "7fffffffffffff", false],
    [0.25, "c0000000000000", true],
    [0.25, "bfffffffffffff", false],
    [0.01, "fd70a3d70a3d71", true], // T = ceil(0.99 × 2^56) = 0xfd70a3d70a3d71 (rounded up)
    [0.01, "fd70a3d70a3d6f", false],
    [-1, "ffffffffffffff", false],
    [2, "00000000000000", true],
    [Number.NaN, "ffffffffffffff", false],
  ])("ratio %s, R = %s → %s", (ratio, r, sampled) => {
    expect(traceIdSampled(withRandomness(r), rejectionThreshold(ratio))).toBe(sampled);
  });

  it("ignores the trace-id's left 9 bytes", () => {
    expect(traceIdSampled(`ffffffffffffffffff${"0".repeat(14)}`, rejectionThreshold(0.5))).toBe(false);
  });

  it("is monotone: sampled at ratio p implies sampled at every p' ≥ p", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9a-f]{32}$/),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (id, a, b) => {
          const [low, high] = a <= b ? [a, b] : [b, a];
          if (traceIdSampled(id, rejectionThreshold(low))) expect(traceIdSampled(id, rejectionThreshold(high))).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("samples about `ratio` of random trace-ids", () => {
    const threshold = rejectionThreshold(0.1);
    let sampled = 0;
    for (let i = 0; i < 20_000; i += 1) if (traceIdSampled(randomTraceId(), threshold)) sampled += 1;
    // 20,000 draws at p = 0.1: σ ≈ 42; 6σ either side.
    expect(sampled).toBeGreaterThan(2000 - 255);
    expect(sampled).toBeLessThan(2000 + 255);
  });
});

describe("shouldSample (ParentBased)", () => {
  const never = rejectionThreshold(0);
  const always = rejectionThreshold(1);
  const id = withRandomness("ffffffffffffff");
  it.each([
    // [parent flags, threshold, sampled]
    [0x01, never, true], // remote parent sampled → AlwaysOn
    [0x03, never, true],
    [0x00, always, false], // remote parent not sampled → AlwaysOff
    [0x02, always, false],
    [null, always, true], // root → TraceIdRatioBased
    [null, never, false],
  ])("parent flags %s, threshold %s → %s", (flags, threshold, sampled) => {
    expect(shouldSample(flags, id, threshold)).toBe(sampled);
  });
});
