/**
 * BucketedWindow against Knative's bucketing semantics (pkg/autoscaler/aggregation/bucketing.go):
 * partial windows, the silent tail, sums of several sources, the weighted average. Arithmetic in comments.
 */
import { describe, expect, it } from "vitest";
import { SCALING_DEFAULTS } from "../../../../control/functions/autoscaler/settings.ts";
import { BucketedWindow, ScalingWindows } from "../../../../control/functions/autoscaler/window.ts";

const S = 1000;
const CASES: { name: string; windowMs: number; records: [number, number][]; readAtMs: number; linear: number }[] = [
  // (1 + 2 + 3) / 3 buckets written
  {
    name: "partial window: average over the buckets written",
    windowMs: 5 * S,
    records: [
      [0, 1],
      [1 * S, 2],
      [2 * S, 3],
    ],
    readAtMs: 2 * S,
    linear: 2,
  },
  // 6 s of 12 in a 60 s window: 12 × 6 / 6
  {
    name: "60 s window, 6 s of data: ÷ 6",
    windowMs: 60 * S,
    records: [0, 1, 2, 3, 4, 5].map((s) => [s * S, 12]),
    readAtMs: 5 * S,
    linear: 12,
  },
  // two sources in one bucket: 3 + 4 = 7
  {
    name: "sources in one bucket are summed",
    windowMs: 5 * S,
    records: [
      [1500, 3],
      [1900, 4],
    ],
    readAtMs: 1 * S,
    linear: 7,
  },
  // buckets 0..4 = 10; read at 6 s: the 2 silent buckets are out, 30 / min(5, 5 − 2) = 10
  { name: "silent tail excluded", windowMs: 5 * S, records: [0, 1, 2, 3, 4].map((s) => [s * S, 10]), readAtMs: 6 * S, linear: 10 },
  // gap inside the run counts as zero: (10 + 0 + 10) / 3
  {
    name: "gap inside the run is zero",
    windowMs: 5 * S,
    records: [
      [0, 10],
      [2 * S, 10],
    ],
    readAtMs: 2 * S,
    linear: 20 / 3,
  },
  // newest write at 10 s; 10 s − 5 s window makes the one at 0 s too old
  {
    name: "older than a window is dropped",
    windowMs: 5 * S,
    records: [
      [10 * S, 4],
      [0, 100],
    ],
    readAtMs: 10 * S,
    linear: 4,
  },
  // whole window silent: 0
  { name: "whole silent window: 0", windowMs: 5 * S, records: [[0, 10]], readAtMs: 6 * S, linear: 0 },
];

describe("BucketedWindow", () => {
  it.each(CASES.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const window = new BucketedWindow(c.windowMs);
    for (const [atMs, value] of c.records) window.record(atMs, value);
    expect(window.linearAverage(c.readAtMs)).toBeCloseTo(c.linear, 6);
  });

  it("weighted: 4 buckets, s = 1 − 0.0001^(1/4) = 0.9; [10, 10, 5, 5] newest last", () => {
    const window = new BucketedWindow(4 * S);
    for (const [i, v] of [10, 10, 5, 5].entries()) window.record(i * S, v);
    // 5×0.9 + 5×0.09 + 10×0.009 + 10×0.0009 = 4.5 + 0.45 + 0.09 + 0.009
    expect(window.weightedAverage(3 * S)).toBeCloseTo(5.049, 9);
  });

  it("restarts after a silent window, and reads no data then (Knative ErrNoData)", () => {
    const windows = new ScalingWindows(SCALING_DEFAULTS); // 60 s stable, 6 s panic
    windows.record(0, 60);
    expect(windows.read(0)).toEqual({ stableAverage: 60, panicAverage: 60 });
    // 10 s later, no report: panic window silent (0); stable excludes the 10 silent buckets: 60 / 1
    expect(windows.read(10 * S)).toEqual({ stableAverage: 60, panicAverage: 0 });
    expect(windows.read(61 * S)).toBeNull();
    windows.record(200 * S, 6);
    expect(windows.read(200 * S)).toEqual({ stableAverage: 6, panicAverage: 6 });
  });
});
