/** The settings schema derives from SCALING_DEFAULTS, names the field in each error, and docs/autoscaling.md lists every default. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  panicWindowMs,
  resolveMetricTargets,
  SCALING_DEFAULTS,
  ScalingSettingsSchema,
} from "../../../../control/functions/autoscaler/settings.ts";

describe("scaling settings", () => {
  it("an empty object parses to SCALING_DEFAULTS", () => {
    expect(ScalingSettingsSchema.parse({})).toEqual(SCALING_DEFAULTS);
  });

  it.each([
    ["targetUtilization", { targetUtilization: 0 }],
    ["targetUtilization", { targetUtilization: 1.5 }],
    ["panicThreshold", { panicThreshold: 0.5 }],
    ["panicWindowPercent", { panicWindowPercent: 0 }],
    ["stableWindowMs", { stableWindowMs: 5000 }],
    ["stableWindowMs", { stableWindowMs: 6500 }],
    ["maxScaleUpRate", { maxScaleUpRate: 1 }],
    ["maxScaleDownRate", { maxScaleDownRate: 1 }],
    ["targetBurstCapacity", { targetBurstCapacity: -2 }],
    ["scaleToZeroGraceMs", { scaleToZeroGraceMs: 0 }],
    ["minInstances", { minInstances: 5, maxInstances: 3 }],
  ])("rejects a bad %s, naming it", (field, input) => {
    const result = ScalingSettingsSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.message).join("; ")).toContain(field);
  });

  it("accepts min > max only when max is 0 (unlimited)", () => {
    expect(ScalingSettingsSchema.safeParse({ minInstances: 5, maxInstances: 0 }).success).toBe(true);
  });

  it("resolves targets as Knative ResolveMetricTarget; panic window 10 % of 60 s = 6 s", () => {
    expect(resolveMetricTargets(SCALING_DEFAULTS)).toEqual({ totalPerInstance: 100, targetPerInstance: 70 }); // 100 × 0.7
    expect(resolveMetricTargets({ ...SCALING_DEFAULTS, containerConcurrency: 10 }).totalPerInstance).toBe(10); // min(100, 10)
    expect(resolveMetricTargets({ ...SCALING_DEFAULTS, scalingMetric: "rps" })).toEqual({ totalPerInstance: 200, targetPerInstance: 140 });
    expect(panicWindowMs(SCALING_DEFAULTS)).toBe(6000);
  });

  it("docs/autoscaling.md lists every default with its value", () => {
    const docs = readFileSync(join(import.meta.dirname, "../../../../docs/autoscaling.md"), "utf8");
    for (const [key, value] of Object.entries(SCALING_DEFAULTS)) {
      expect(docs, key).toMatch(new RegExp(`\\| \`${key}\` +\\| \`${String(value)}\` +\\|`));
    }
  });
});
