/**
 * Hash keys and sticky sessions (hash-key.cases.ts) against both implementations: the TypeScript
 * reference and the WASM port (build/hotpath.wasm via wasm/balancing.ts), the same cases.
 */
import { describe, expect, it } from "vitest";
import { HASH_KEY_CASES, runSticky, runStickySpread, STICKY_CASES } from "./hash-key.cases.ts";
import { referenceHashKeys } from "./reference-adapters.ts";
import { wasmHashKeys } from "./wasm-adapters.ts";

describe.each([
  ["TypeScript reference", referenceHashKeys],
  ["WASM port", wasmHashKeys],
] as const)("%s", (_, adapter) => {
  describe("hash key source", () => {
    it.each(HASH_KEY_CASES.map((c) => [c.name, c] as const))("%s", (_, c) => {
      expect(adapter.keyOf(c.source, c.request)).toBe(c.want);
    });
  });

  describe("sticky sessions", () => {
    it.each(STICKY_CASES.map((c) => [c.name, c] as const))("%s", (_, c) => {
      expect(runSticky(adapter, c)).toBe(1);
    });

    it.each(["ring-hash", "maglev"] as const)("%s: different sessions still spread (no instance above 15 % of 1,000 keys)", (kind) => {
      expect(runStickySpread(adapter, kind)).toBeLessThan(0.15);
    });
  });
});
