/**
 * Route rules and slow start (route-rules.cases.ts) and selection with health
 * (selection.cases.ts) against the TypeScript reference.
 */
import { describe, expect, it } from "vitest";
import { referenceRouteRules, referenceSelection } from "./reference-adapters.ts";
import { ROUTE_RULE_CASES, runRouteRuleCase } from "./route-rules.cases.ts";
import { runHashRetryAvoidance, runSelectionCase, SELECTION_CASES } from "./selection.cases.ts";

describe("route rules: the nodes a balancer receives", () => {
  it.each(ROUTE_RULE_CASES.map((c) => [c.name, c] as const))("%s", (_, c) => {
    expect(runRouteRuleCase(referenceRouteRules, c)).toEqual(c.want);
  });
});

describe("selection with health", () => {
  it.each(SELECTION_CASES.map((c) => [c.name, c] as const))("%s", (_, c) => {
    expect(runSelectionCase(referenceSelection, c)).toEqual([]);
  });

  it.each(["ring-hash", "maglev"] as const)("%s: a retry leaves the key's instance for almost every key", (kind) => {
    // Three host-selection attempts; all three landing on the tried instance is ~1 % of keys.
    expect(runHashRetryAvoidance(referenceSelection, kind, 1_000)).toBeGreaterThan(0.97);
  });
});
