/**
 * Route rules and slow start (route-rules.cases.ts) and selection with health
 * (selection.cases.ts) against both implementations: the TypeScript
 * reference and the WASM port (build/hotpath.wasm via wasm/balancing.ts), the same cases.
 */
import { describe, expect, it } from "vitest";
import { referenceRouteRules, referenceSelection } from "./reference-adapters.ts";
import { ROUTE_RULE_CASES, runRouteRuleCase } from "./route-rules.cases.ts";
import { runHashRetryAvoidance, runSelectionCase, SELECTION_CASES } from "./selection.cases.ts";
import { wasmRouteRules, wasmSelection } from "./wasm-adapters.ts";

describe.each([
  ["TypeScript reference", referenceRouteRules, referenceSelection],
  ["WASM port", wasmRouteRules, wasmSelection],
] as const)("%s", (_, routeRules, selection) => {
  describe("route rules: the nodes a balancer receives", () => {
    it.each(ROUTE_RULE_CASES.map((c) => [c.name, c] as const))("%s", (_, c) => {
      expect(runRouteRuleCase(routeRules, c)).toEqual(c.want);
    });
  });

  describe("selection with health", () => {
    it.each(SELECTION_CASES.map((c) => [c.name, c] as const))("%s", (_, c) => {
      expect(runSelectionCase(selection, c)).toEqual([]);
    });

    it.each(["ring-hash", "maglev"] as const)("%s: a retry leaves the key's instance for almost every key", (kind) => {
      // Three host-selection attempts; all three landing on the tried instance is ~1 % of keys.
      expect(runHashRetryAvoidance(selection, kind, 1_000)).toBeGreaterThan(0.97);
    });
  });
});
