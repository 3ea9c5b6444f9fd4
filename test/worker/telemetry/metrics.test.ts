/** worker/telemetry/metrics.ts: labels, buckets, deltas and the series cap, as tables of cases. */
import { describe, expect, it } from "vitest";
import { bucketIndex, MetricsAggregator, methodLabel, statusClass } from "../../../worker/telemetry/metrics.ts";
import { DURATION_BUCKETS_SECONDS } from "../../../worker/telemetry/wire.ts";

describe("labels", () => {
  it.each([
    [100, "1xx"],
    [199, "1xx"],
    [200, "2xx"],
    [304, "3xx"],
    [404, "4xx"],
    [499, "4xx"],
    [500, "5xx"],
    [503, "5xx"],
    [599, "5xx"],
    [0, "1xx"],
    [999, "5xx"],
  ])("status %i is %s", (status, cls) => {
    expect(statusClass(status)).toBe(cls);
  });

  it.each([
    ["GET", "GET"],
    ["PATCH", "PATCH"],
    ["PROPFIND", "_OTHER"],
    ["get", "_OTHER"],
    ["X".repeat(200), "_OTHER"],
  ])("method %s is %s", (method, label) => {
    expect(methodLabel(method)).toBe(label);
  });

  it.each([
    [0, 0],
    [0.005, 0], // bounds are inclusive upper bounds (Prometheus `le`)
    [0.0051, 1],
    [0.1, 5],
    [9.99, 13],
    [10, 13],
    [10.01, 14], // +Inf
    [1e9, 14],
  ])("%f s falls in bucket %i", (seconds, index) => {
    expect(bucketIndex(seconds)).toBe(index);
  });
});

describe("MetricsAggregator", () => {
  it("sums requests per label set into per-bucket (not cumulative) counts", () => {
    const m = new MetricsAggregator();
    m.request("7", "main", "", "GET", 200, 0.003);
    m.request("7", "main", "", "GET", 204, 0.2);
    m.request("7", "main", "", "GET", 503, 0.2);
    m.request("7", "main", "", "BREW", 200, 20);
    const { requests } = m.drain();
    expect(requests).toHaveLength(3);
    const ok = requests.find((r) => r.statusClass === "2xx" && r.method === "GET");
    expect(ok?.count).toBe(2);
    expect(ok?.sumSeconds).toBeCloseTo(0.203, 9);
    expect(ok?.buckets).toHaveLength(DURATION_BUCKETS_SECONDS.length + 1);
    expect(ok?.buckets[0]).toBe(1);
    expect(ok?.buckets[bucketIndex(0.2)]).toBe(1);
    expect(ok?.buckets.reduce((a, b) => a + b, 0)).toBe(2);
    const other = requests.find((r) => r.method === "_OTHER");
    expect(other?.buckets.at(-1)).toBe(1);
  });

  it("drain() returns deltas: what was taken is not returned again", () => {
    const m = new MetricsAggregator();
    m.retry("1", "g");
    m.retry("1", "g");
    m.attempt("g", "127.0.0.1:1", "connect_failure", 0.001);
    expect(m.empty).toBe(false);
    const first = m.drain();
    expect(first.retries).toEqual([{ route: "1", group: "g", count: 2 }]);
    expect(first.attempts.map((a) => [a.outcome, a.count])).toEqual([["connect_failure", 1]]);
    expect(m.empty).toBe(true);
    const second = m.drain();
    expect(second.retries).toEqual([]);
    expect(second.attempts).toEqual([]);
    m.retry("1", "g");
    expect(m.drain().retries).toEqual([{ route: "1", group: "g", count: 1 }]);
  });

  it("counts panics, ejections, overflows and condition errors under their labels", () => {
    const m = new MetricsAggregator();
    m.panic("3", "g");
    m.ejection("g", "10.0.0.1:80");
    m.ejection("g", "10.0.0.1:80");
    m.overflow("g");
    m.conditionError("3", 2);
    m.conditionError("3", 1);
    const d = m.drain();
    expect(d.panics).toEqual([{ route: "3", group: "g", count: 1 }]);
    expect(d.ejections).toEqual([{ group: "g", instance: "10.0.0.1:80", count: 2 }]);
    expect(d.overflows).toEqual([{ group: "g", count: 1 }]);
    expect(d.conditionErrors).toEqual([{ route: "3", count: 3 }]);
    expect(d.droppedSeries).toBe(0);
  });

  it("records nothing when disabled (METRICS_PUSH_MS=0)", () => {
    const m = new MetricsAggregator(100, false);
    m.request("1", "g", "", "GET", 200, 0.01);
    m.attempt("g", "a:1", "success", 0.01);
    m.retry("1", "g");
    m.panic("1", "g");
    m.ejection("g", "a:1");
    m.overflow("g");
    m.conditionError("1", 1);
    expect(m.empty).toBe(true);
    expect(m.drain()).toMatchObject({
      requests: [],
      attempts: [],
      retries: [],
      panics: [],
      ejections: [],
      overflows: [],
      conditionErrors: [],
    });
  });

  it("drops observations that would open a series beyond the cap, and counts them", () => {
    const m = new MetricsAggregator(3);
    for (let route = 0; route < 5; route++) m.request(String(route), "g", "", "GET", 200, 0.01);
    m.request("0", "g", "", "GET", 200, 0.01); // an existing series still counts
    m.retry("9", "g"); // a new series of another kind is refused too
    const d = m.drain();
    expect(d.requests.map((r) => [r.route, r.count])).toEqual([
      ["0", 2],
      ["1", 1],
      ["2", 1],
    ]);
    expect(d.retries).toEqual([]);
    expect(d.droppedSeries).toBe(3);
    // The cap is per interval: after the drain there is room again.
    m.request("4", "g", "", "GET", 200, 0.01);
    expect(m.drain().requests).toHaveLength(1);
  });
});
