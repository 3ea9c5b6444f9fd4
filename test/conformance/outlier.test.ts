/**
 * Outlier detection (outlier.cases.ts) against both implementations: the TypeScript
 * reference and the WASM port (build/hotpath.wasm via wasm/balancing.ts), the same cases.
 */
import { describe, expect, it } from "vitest";
import {
  EJECTION_DURATIONS_S,
  OUTLIER_CASES,
  runEjectionDurations,
  runOutlierCase,
  SUCCESS_RATE_THRESHOLD_CASES,
} from "./outlier.cases.ts";
import { referenceOutliers } from "./reference-adapters.ts";
import { wasmOutliers } from "./wasm-adapters.ts";

describe.each([
  ["TypeScript reference", referenceOutliers],
  ["WASM port", wasmOutliers],
] as const)("%s", (_, adapter) => {
  describe("outlier detection", () => {
    it.each(OUTLIER_CASES.map((c) => [c.name, c] as const))("%s", (_, c) => {
      const { got, want } = runOutlierCase(adapter, c);
      expect(got).toEqual(want);
    });

    it("ejection time grows by 30 s per ejection and stops at 300 s", () => {
      // min(30 s × backoff, 300 s); the backoff stops at 11 (11 · 30 = 330 ≥ 300 + 30).
      expect(runEjectionDurations(adapter, EJECTION_DURATIONS_S.length)).toEqual(EJECTION_DURATIONS_S);
    });

    // The WASM port exports no threshold function (the adapter method is optional); its maths is
    // held by the success-rate ejection cases above.
    (adapter.successRateThreshold ? it : it.skip).each(SUCCESS_RATE_THRESHOLD_CASES.map((c) => [c.name, c] as const))(
      "success-rate threshold: %s",
      (_, c) => {
        const got = adapter.successRateThreshold!(c.rates, c.factor);
        expect(got.mean).toBeCloseTo(c.want.mean, 9);
        expect(got.threshold).toBeCloseTo(c.want.threshold, 9);
      },
    );
  });
});
