/**
 * Route rules and slow start (route-rules.cases.ts) and selection with health
 * (selection.cases.ts) against the WASM port (build/hotpath.wasm via wasm/balancing.ts).
 */
import { describe, expect, it } from "vitest";
import { ROUTE_RULE_CASES, runRouteRuleCase } from "./route-rules.cases.ts";
import { runHashRetryAvoidance, runSelectionCase, SELECTION_CASES } from "./selection.cases.ts";
import { wasmRouteRules, wasmSelection } from "./wasm-adapters.ts";

describe("route rules: the nodes a balancer receives", () => {
  it.each(ROUTE_RULE_CASES.map((c) => [c.name, c] as const))("%s", (_, c) => {
    expect(runRouteRuleCase(wasmRouteRules, c)).toEqual(c.want);
  });
});

describe("selection with health", () => {
  it.each(SELECTION_CASES.map((c) => [c.name, c] as const))("%s", (_, c) => {
    expect(runSelectionCase(wasmSelection, c)).toEqual([]);
  });

  it.each(["ring-hash", "maglev"] as const)("%s: a retry leaves the key's instance for almost every key", (kind) => {
    // Three host-selection attempts; all three landing on the tried instance is ~1 % of keys.
    expect(runHashRetryAvoidance(wasmSelection, kind, 1_000)).toBeGreaterThan(0.97);
  });
});
