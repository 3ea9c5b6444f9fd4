/**
 * Circuit breakers (breaker.cases.ts) and retries (retry.cases.ts) against both implementations:
 * the TypeScript reference and the WASM port (build/hotpath.wasm via wasm/balancing.ts), the
 * same cases.
 */
import { describe, expect, it } from "vitest";
import { GROUP_BREAKER_CASES, INSTANCE_BREAKER_CASES, runGroupBreakerCase, runInstanceBreakerCase } from "./breaker.cases.ts";
import { referenceBreakers, referenceRetries } from "./reference-adapters.ts";
import { BACKOFF_CASES, expectedBackoff, RETRY_BUDGET_CASES, RETRY_DECISION_CASES, runBackoff } from "./retry.cases.ts";
import { wasmBreakers, wasmRetries } from "./wasm-adapters.ts";

describe.each([
  ["TypeScript reference", referenceBreakers, referenceRetries],
  ["WASM port", wasmBreakers, wasmRetries],
] as const)("%s", (_, breakers, retries) => {
  describe("instance breaker (Sentinel)", () => {
    it.each(INSTANCE_BREAKER_CASES.map((c) => [c.name, c] as const))("%s", (_, c) => {
      expect(runInstanceBreakerCase(breakers, c)).toEqual([]);
    });
  });

  describe("group breaker (Envoy limits)", () => {
    it.each(GROUP_BREAKER_CASES.map((c) => [c.name, c] as const))("%s", (_, c) => {
      expect(runGroupBreakerCase(breakers, c)).toEqual(c.want);
    });
  });

  describe("retry decision", () => {
    it.each(RETRY_DECISION_CASES.map((c) => [c.name, c] as const))("%s", (_, c) => {
      const got = retries.decide(
        { outcome: c.outcome, method: c.method ?? "GET", retriesDone: c.retriesDone ?? 0, nowMs: c.nowMs ?? 0 },
        c.policy ?? {},
        c.group ?? { active: 1, pending: 0, activeRetries: 0 },
        1,
      );
      expect(got).toEqual(c.want);
    });

    it.each(RETRY_BUDGET_CASES.map((c) => [`${c.active} active + ${c.pending} pending → ${c.want}`, c] as const))("budget: %s", (_, c) => {
      expect(retries.budget(c.active, c.pending)).toBe(c.want);
    });
  });

  describe("full-jitter back-off over 10,000 draws", () => {
    it.each(BACKOFF_CASES.map((c) => [`retry ${c.retry}: [0, ${c.range}) capped at 250`, c] as const))("%s", (_, c) => {
      const got = runBackoff(retries, c, 10_000);
      const want = expectedBackoff(c);
      expect(got.integers).toBe(true);
      expect(got.min).toBe(0);
      // Every value is drawn at least once at these sizes (range ≤ 375 ≪ 10,000).
      expect(got.max).toBe(want.max);
      // Mean within 3 %: σ of the mean ≈ range / √12 / 100 ≤ 1.1 ms, against 3 % of ≥ 12 ms.
      expect(Math.abs(got.mean - want.mean) / want.mean).toBeLessThan(0.03);
      if (want.capped === 0) expect(got.capped).toBe(0);
      else expect(Math.abs(got.capped - want.capped) / want.capped).toBeLessThan(0.05);
    });
  });
});
