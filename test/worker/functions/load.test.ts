/**
 * worker/functions/load.ts: the time-weighted in-flight average per version over a push interval
 * (a table of begin/end timelines with the arithmetic in comments), requests, activations and
 * their wait histogram, the buffered gauge, and which versions a drain reports.
 */
import { describe, expect, it } from "vitest";
import type { VersionRef } from "../../../worker/functions/activator.ts";
import { FunctionLoad } from "../../../worker/functions/load.ts";
import { bucketIndex } from "../../../worker/telemetry/metrics.ts";

const V: VersionRef = { groupId: 0x60000002, appkey: "com.example.shop", function: "hello", version: 2 };
const W: VersionRef = { groupId: 0x60000003, appkey: "com.example.shop", function: "hello", version: 3 };
const T0 = 1_700_000_000_000;

interface Case {
  name: string;
  /** [ms after T0, +1 begin / −1 end] in time order. */
  events: [number, 1 | -1][];
  /** Drain at T0 + this. */
  drainAtMs: number;
  concurrency: number;
  requests: number;
}

const CASES: Case[] = [
  // 1 × 1000 / 1000
  { name: "one request over the whole interval", events: [[0, 1]], drainAtMs: 1000, concurrency: 1, requests: 0 },
  // (1 × 500 + 2 × 500) / 1000
  {
    name: "one, then two from the middle",
    events: [
      [0, 1],
      [500, 1],
    ],
    drainAtMs: 1000,
    concurrency: 1.5,
    requests: 0,
  },
  // 1 × 250 / 1000: a short request counts for its share of the interval only
  {
    name: "a quarter-interval request",
    events: [
      [250, 1],
      [500, -1],
    ],
    drainAtMs: 1000,
    concurrency: 0.25,
    requests: 1,
  },
  // (1 × 100 + 2 × 100 + 1 × 100) / 2000 = 400 / 2000
  {
    name: "overlapping requests in a longer interval",
    events: [
      [0, 1],
      [100, 1],
      [200, -1],
      [300, -1],
    ],
    drainAtMs: 2000,
    concurrency: 0.2,
    requests: 2,
  },
  // 10 × 1000 / 1000: ten requests began at once (e.g. buffered together)
  { name: "ten at once", events: Array.from({ length: 10 }, (): [number, 1] => [0, 1]), drainAtMs: 1000, concurrency: 10, requests: 0 },
];

describe("FunctionLoad", () => {
  it.each(CASES)("$name → concurrency $concurrency", ({ events, drainAtMs, concurrency, requests }) => {
    const load = new FunctionLoad(T0);
    for (const [atMs, step] of events) {
      if (step === 1) load.begin(V, T0 + atMs);
      else load.end(V, T0 + atMs);
    }
    const [series] = load.drain(T0 + drainAtMs, () => 0);
    expect(series?.concurrency).toBeCloseTo(concurrency, 9);
    expect(series?.requests).toBe(requests);
  });

  it("carries a request still in flight into the next interval, then forgets the version once it is reported idle", () => {
    const load = new FunctionLoad(T0);
    load.begin(V, T0);
    expect(load.drain(T0 + 1000, () => 0).map((s) => s.concurrency)).toEqual([1]);
    load.end(V, T0 + 1500);
    // 1 × 500 / 1000
    expect(load.drain(T0 + 2000, () => 0).map((s) => [s.concurrency, s.requests])).toEqual([[0.5, 1]]);
    expect(load.active).toBe(false);
    expect(load.drain(T0 + 3000, () => 0)).toEqual([]);
  });

  it("reports activations with their waits as a histogram, the buffered gauge, per version", () => {
    const load = new FunctionLoad(T0);
    load.begin(V, T0);
    load.begin(V, T0);
    load.begin(W, T0);
    load.waited(V, 0.3);
    load.waited(V, 1.2);
    load.end(V, T0 + 1000);
    const series = load.drain(T0 + 1000, (groupId) => (groupId === V.groupId ? 1 : 0));
    expect(series.map((s) => [s.appkey, s.function, s.version, s.buffered, s.activations])).toEqual([
      ["com.example.shop", "hello", 2, 1, 2],
      ["com.example.shop", "hello", 3, 0, 0],
    ]);
    const wait = series[0]?.activationWait;
    expect(wait?.count).toBe(2);
    expect(wait?.sumSeconds).toBeCloseTo(1.5, 9);
    expect(wait?.buckets[bucketIndex(0.3)]).toBe(1); // (0.25, 0.5]
    expect(wait?.buckets[bucketIndex(1.2)]).toBe(1); // (1, 2.5]
    // The next interval starts empty: no activations carried over.
    expect(load.drain(T0 + 2000, () => 0)[0]?.activations).toBe(0);
  });
});
