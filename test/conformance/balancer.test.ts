/**
 * The balancer table (balancer.cases.ts) against both implementations: the TypeScript
 * reference and the WASM port (build/hotpath.wasm via wasm/balancing.ts), the same cases.
 */
import { describe, expect, it } from "vitest";
import {
  DISTRIBUTION_CASES,
  EWMA_CASES,
  HASH_KINDS,
  MOVEMENT_CASES,
  PINNED_HASH_CASES,
  runDistribution,
  runEwma,
  runHashRetry,
  runMovement,
  runPinned,
  runSequence,
  runStickiness,
  SEQUENCE_CASES,
} from "./balancer.cases.ts";
import { referenceBalancers } from "./reference-adapters.ts";
import { wasmBalancers } from "./wasm-adapters.ts";

describe.each([
  ["TypeScript reference", referenceBalancers],
  ["WASM port", wasmBalancers],
] as const)("%s", (_, adapter) => {
  describe("exact sequences", () => {
    it.each(SEQUENCE_CASES.map((c) => [c.name, c] as const))("%s", (_, c) => {
      expect(runSequence(adapter, c)).toEqual(c.want);
    });
  });

  describe("distributions over 100,000 picks", () => {
    it.each(DISTRIBUTION_CASES.map((c) => [c.name, c] as const))("%s", (_, c) => {
      const got = runDistribution(adapter, c);
      const tolerance = c.tolerance ?? 0.03;
      for (const [id, want] of Object.entries(c.want)) {
        const share = got[id] ?? 0;
        if (want === 0) expect(share, `node ${id}`).toBe(0);
        else expect(Math.abs(share - want) / want, `node ${id}: ${share} vs ${want}`).toBeLessThanOrEqual(tolerance);
      }
      // Nothing picked outside the listed nodes (no null either).
      expect(Object.keys(got).sort()).toEqual(Object.keys(c.want).sort());
    });
  });

  describe("peak EWMA", () => {
    it.each(EWMA_CASES.map((c) => [c.name, c] as const))("%s", (_, c) => {
      const { got, want } = runEwma(adapter, c);
      expect(got).toEqual(want);
    });
  });

  describe.each(HASH_KINDS)("%s", (kind) => {
    it("keeps a key on the same node, whatever the node order", () => {
      expect(runStickiness(adapter, kind, 2_000)).toEqual({ unstable: 0, orderDependent: 0 });
    });

    it("sends a retry (attempt 1) to another node for most keys", () => {
      // Ring: the next point belongs to the same node with probability ~1/10; maglev: a flipped
      // hash lands on the same node with probability ~1/10.
      expect(runHashRetry(adapter, kind, 2_000)).toBeGreaterThan(0.85);
    });
  });

  describe("pinned hash picks", () => {
    it.each(PINNED_HASH_CASES.map((c) => [c.name, c] as const))("%s", (_, c) => {
      expect(runPinned(adapter, c)).toEqual(c.want);
    });
  });

  describe("keys that move when 1 of 10 nodes is removed", () => {
    it.each(MOVEMENT_CASES.map((c) => [c.name, c] as const))("%s", (_, c) => {
      const got = runMovement(adapter, c);
      console.info(
        `${c.name}: moved ${(got.moved * 100).toFixed(2)} %, of keys not on the removed node ${(got.movedElsewhere * 100).toFixed(2)} %`,
      );
      expect(got.moved).toBeGreaterThanOrEqual(c.moved[0]);
      expect(got.moved).toBeLessThanOrEqual(c.moved[1]);
      expect(got.movedElsewhere).toBeGreaterThanOrEqual(c.movedElsewhere[0]);
      expect(got.movedElsewhere).toBeLessThanOrEqual(c.movedElsewhere[1]);
    });
  });
});
