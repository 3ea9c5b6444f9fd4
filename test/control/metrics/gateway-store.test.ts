/**
 * The pure parts of control's gateway metrics pipeline, on plain tables of cases: the push
 * de-duplication, the cumulative series store and its cap, the gauges and their expiry,
 * histogram_quantile, the one-hour history and the propagation lag. Also that control's mirror
 * of the push contract agrees with worker/telemetry/wire.ts.
 */
import { describe, expect, it } from "vitest";
import { GATEWAY_METRICS_PATH } from "../../../control/api/auth.ts";
import { GatewayGauges, livenessMs } from "../../../control/metrics/gateway-gauges.ts";
import { PUSH_ATTEMPT_OUTCOMES, PUSH_METHODS, PUSH_STATUS_CLASSES } from "../../../control/metrics/gateway-push.ts";
import { GatewaySeriesStore } from "../../../control/metrics/gateway-series.ts";
import { histogramQuantile } from "../../../control/metrics/histogram-quantile.ts";
import { PropagationLag } from "../../../control/metrics/propagation-lag.ts";
import { FORGET_ISOLATE_MS, PushDedup } from "../../../control/metrics/push-dedup.ts";
import { HTTP_DURATION_BUCKETS_S } from "../../../control/metrics/registry.ts";
import { RequestHistory } from "../../../control/metrics/request-history.ts";
import {
  ATTEMPT_OUTCOMES,
  DURATION_BUCKETS_SECONDS,
  HTTP_METHODS,
  METRICS_PUSH_FORMAT,
  METRICS_PUSH_PATH,
  STATUS_CLASSES,
} from "../../../worker/telemetry/wire.ts";
import { emptyPush, latencies, requestSeries } from "../../support/metrics-push.ts";

describe("control's mirror of worker/telemetry/wire.ts", () => {
  it("has the same format, path, buckets and label values", () => {
    expect(METRICS_PUSH_FORMAT).toBe(1);
    expect(GATEWAY_METRICS_PATH).toBe(METRICS_PUSH_PATH);
    expect(HTTP_DURATION_BUCKETS_S).toEqual([...DURATION_BUCKETS_SECONDS]);
    expect(PUSH_METHODS).toEqual([...HTTP_METHODS, "_OTHER"]);
    expect(PUSH_STATUS_CLASSES).toEqual([...STATUS_CLASSES]);
    expect(PUSH_ATTEMPT_OUTCOMES).toEqual([...ATTEMPT_OUTCOMES]);
  });
});

describe("PushDedup", () => {
  const cases: { name: string; pushes: [string, number, number][]; accepted: boolean[] }[] = [
    {
      name: "same push twice",
      pushes: [
        ["a", 1, 0],
        ["a", 1, 1],
      ],
      accepted: [true, false],
    },
    {
      name: "seq going backwards",
      pushes: [
        ["a", 5, 0],
        ["a", 3, 1],
        ["a", 6, 2],
      ],
      accepted: [true, false, true],
    },
    {
      name: "a gap is fine",
      pushes: [
        ["a", 1, 0],
        ["a", 9, 1],
      ],
      accepted: [true, true],
    },
    {
      name: "another isolate, same seq",
      pushes: [
        ["a", 1, 0],
        ["b", 1, 1],
      ],
      accepted: [true, true],
    },
    {
      name: "forgotten after silence: counted again",
      pushes: [
        ["a", 4, 0],
        ["a", 4, FORGET_ISOLATE_MS + 1],
      ],
      accepted: [true, true],
    },
    {
      name: "not forgotten while it keeps pushing",
      pushes: [
        ["a", 4, 0],
        ["a", 5, FORGET_ISOLATE_MS - 1],
        ["a", 5, FORGET_ISOLATE_MS + 10],
      ],
      accepted: [true, true, false],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const dedup = new PushDedup();
      expect(c.pushes.map(([id, seq, at]) => dedup.accept(id, seq, at))).toEqual(c.accepted);
    });
  }

  it("keeps at most maxIsolates, evicting the one heard from longest ago", () => {
    const dedup = new PushDedup({ maxIsolates: 2 });
    expect(dedup.accept("a", 1, 0)).toBe(true);
    expect(dedup.accept("b", 1, 1)).toBe(true);
    expect(dedup.accept("a", 1, 2)).toBe(false); // a heard again: b is now the oldest
    expect(dedup.accept("c", 1, 3)).toBe(true); // evicts b
    expect(dedup.size).toBe(2);
    expect(dedup.accept("a", 1, 4)).toBe(false);
    expect(dedup.accept("b", 1, 5)).toBe(true); // b was forgotten
  });
});

describe("GatewaySeriesStore", () => {
  it("sums requests per label set, leaving out empty labels", () => {
    const store = new GatewaySeriesStore();
    store.add(emptyPush("a", 1, { requests: [requestSeries("7", "stable", [0.003, 0.2]), requestSeries("", "", [0.001])] }));
    store.add(emptyPush("b", 1, { requests: [requestSeries("7", "stable", [20])] }));
    expect(store.histogram("requests")).toEqual([
      {
        labels: { route: "7", group: "stable", method: "GET", status_class: "2xx" },
        count: 3,
        sum: 0.003 + 0.2 + 20,
        buckets: latencies([0.003, 0.2, 20]).buckets,
      },
      { labels: { method: "GET", status_class: "2xx" }, count: 1, sum: 0.001, buckets: latencies([0.001]).buckets },
    ]);
  });

  const counterCases = [
    { field: "retries", name: "sluice_retries_total", entry: { route: "7", group: "g", count: 2 }, labels: { route: "7", group: "g" } },
    { field: "panics", name: "sluice_panic_total", entry: { route: "7", group: "", count: 2 }, labels: { route: "7" } },
    {
      field: "ejections",
      name: "sluice_outlier_ejections_total",
      entry: { group: "g", instance: "10.0.0.1:80", count: 2 },
      labels: { group: "g", instance: "10.0.0.1:80" },
    },
    { field: "overflows", name: "sluice_admission_overflow_total", entry: { group: "g", count: 2 }, labels: { group: "g" } },
    { field: "conditionErrors", name: "sluice_condition_errors_total", entry: { route: "9", count: 2 }, labels: { route: "9" } },
  ] as const;
  for (const c of counterCases) {
    it(`sums ${c.field} into ${c.name}`, () => {
      const store = new GatewaySeriesStore();
      store.add(emptyPush("a", 1, { [c.field]: [c.entry] }));
      store.add(emptyPush("b", 1, { [c.field]: [c.entry, c.entry] }));
      expect(store.counter(c.name)).toEqual([{ labels: c.labels, value: 6 }]);
    });
  }

  it("sums attempts and the isolates' dropped series", () => {
    const store = new GatewaySeriesStore();
    const attempt = { group: "g", instance: "h:1", outcome: "timeout" as const, ...latencies([1, 2]) };
    store.add(emptyPush("a", 1, { attempts: [attempt], droppedSeries: 3 }));
    store.add(emptyPush("a", 2, { attempts: [attempt], droppedSeries: 1 }));
    expect(store.histogram("attempts").map((s) => [s.labels, s.count, s.sum])).toEqual([
      [{ group: "g", instance: "h:1", outcome: "timeout" }, 4, 6],
    ]);
    expect(store.droppedSeries).toBe(4);
  });

  it("refuses new series beyond maxSeries and counts their observations as dropped", () => {
    const store = new GatewaySeriesStore({ maxSeries: 2 });
    store.add(
      emptyPush("a", 1, {
        requests: [requestSeries("1", "g", [0.1]), requestSeries("2", "g", [0.1, 0.2]), requestSeries("3", "g", [0.1, 0.2, 0.3])],
        retries: [{ route: "1", group: "g", count: 5 }],
      }),
    );
    // Existing series keep counting at the cap.
    store.add(emptyPush("a", 2, { requests: [requestSeries("1", "g", [0.1])] }));
    expect(store.size).toBe(2);
    expect(store.histogram("requests").map((s) => [s.labels.route, s.count])).toEqual([
      ["1", 2],
      ["2", 2],
    ]);
    expect(store.counter("sluice_retries_total")).toEqual([]);
    expect(store.droppedSeries).toBe(3 + 5);
  });
});

describe("GatewayGauges", () => {
  const push = (id: string, gauges: Partial<ReturnType<typeof emptyPush>["gauges"]>, intervalMs = 5000, slot: number | null = null) =>
    emptyPush(id, 1, { intervalMs, slot, gauges: { ...emptyPush(id, 1).gauges, ...gauges } });

  it("sums active requests and counts isolates per ejected / breaker-open instance", () => {
    const gauges = new GatewayGauges();
    const x = { group: "g", instance: "x:1" };
    const y = { group: "g", instance: "y:1" };
    gauges.record(push("a", { activeRequests: 3, ejected: [x, x], breakerOpen: [y] }), 0);
    gauges.record(push("b", { activeRequests: 4, ejected: [x] }), 0);
    gauges.record(push("a", { activeRequests: 1, ejected: [x, y] }), 1000); // a's latest push replaces its first
    const reading = gauges.read(1000);
    expect(reading.gateways).toBe(2);
    expect(reading.activeRequests).toBe(5);
    expect(reading.ejected).toEqual([
      { ...x, isolates: 2 },
      { ...y, isolates: 1 },
    ]);
    expect(reading.breakerOpen).toEqual([]);
  });

  const expiry = [
    { intervalMs: 5000, liveUntil: 25_000 },
    { intervalMs: 1000, liveUntil: 25_000 }, // at least 5 s assumed
    { intervalMs: 20_000, liveUntil: 70_000 },
  ];
  for (const c of expiry) {
    it(`an isolate pushing every ${c.intervalMs} ms is live until ${c.liveUntil} ms after its push`, () => {
      expect(livenessMs(c.intervalMs)).toBe(c.liveUntil);
      const gauges = new GatewayGauges();
      gauges.record(push("a", { activeRequests: 2 }, c.intervalMs), 100);
      expect(gauges.read(100 + c.liveUntil).gateways).toBe(1);
      const gone = gauges.read(100 + c.liveUntil + 1);
      expect(gone).toEqual({ gateways: 0, activeRequests: 0, ejected: [], breakerOpen: [], snapshots: [] });
    });
  }

  it("ages the pushed snapshot age by the time since the push", () => {
    const gauges = new GatewayGauges();
    gauges.record(push("a", { snapshotVersion: "12", snapshotAgeSeconds: 2 }, 5000, 1), 10_000);
    gauges.record(push("b", {}), 10_000);
    expect(gauges.read(17_500).snapshots).toEqual([
      { gateway: "a", slot: 1, version: "12", ageSeconds: 9.5 },
      { gateway: "b", slot: null, version: null, ageSeconds: null },
    ]);
  });
});

describe("histogramQuantile (PromQL semantics)", () => {
  const bounds = [0.1, 0.5, 1];
  const cases: { q: number; buckets: number[]; expected: number | null }[] = [
    { q: 0.5, buckets: [0, 0, 0, 0], expected: null },
    { q: 0.5, buckets: [10, 0, 0, 0], expected: 0.05 }, // first bucket starts at 0
    { q: 0.5, buckets: [0, 10, 0, 0], expected: 0.3 },
    { q: 0.99, buckets: [50, 50, 0, 0], expected: 0.1 + 0.4 * (49 / 50) },
    { q: 0.9, buckets: [0, 0, 5, 5], expected: 1 }, // rank in +Inf: the highest finite bound
    { q: 1, buckets: [1, 0, 1, 0], expected: 1 },
    { q: 0.5, buckets: [1, 0, 1, 0], expected: 0.1 },
  ];
  for (const c of cases) {
    it(`q=${c.q} of ${JSON.stringify(c.buckets)} is ${c.expected}`, () => {
      const got = histogramQuantile(c.q, bounds, c.buckets);
      if (c.expected === null) expect(got).toBeNull();
      else expect(got).toBeCloseTo(c.expected, 12);
    });
  }
  it("refuses a bucket list of the wrong length and q outside [0, 1]", () => {
    expect(() => histogramQuantile(0.5, bounds, [1, 2, 3])).toThrow(RangeError);
    expect(() => histogramQuantile(1.5, bounds, [1, 2, 3, 4])).toThrow(RangeError);
  });
});

describe("RequestHistory", () => {
  const start = Date.UTC(2026, 11, 7, 12, 0, 0);
  const history = (clock: { now: number }) => new RequestHistory({ boundsSeconds: HTTP_DURATION_BUCKETS_S, now: () => clock.now });

  it("puts requests in one-minute buckets per (route, group), with quantiles, for the last hour", () => {
    const clock = { now: start + 10_000 };
    const h = history(clock);
    h.record([requestSeries("7", "a", [0.02, 0.02, 0.02, 3]), requestSeries("7", "b", [0.2], { statusClass: "5xx" })]);
    clock.now = start + 70_000; // the next minute
    h.record([requestSeries("7", "a", [0.02], { statusClass: "4xx" })]);
    const a = h.query({ route: "7", group: "a" });
    expect(a).toHaveLength(60);
    expect(a[59].startMs).toBe(start + 60_000);
    expect(a[58]).toMatchObject({ startMs: start, requests: 4, byStatusClass: { "2xx": 4, "4xx": 0 } });
    // 4 values: 3 in (0.01, 0.025], 1 in (2.5, 5]: p50 interpolated in the first, p99 in the last.
    expect(a[58].p50).toBeCloseTo(0.01 + 0.015 * (2 / 3), 12);
    expect(a[58].p99).toBeCloseTo(2.5 + 2.5 * ((0.99 * 4 - 3) / 1), 12);
    expect(a[59]).toMatchObject({ requests: 1, byStatusClass: { "4xx": 1 } });
    expect(a[0]).toMatchObject({ requests: 0, p50: null, p90: null, p99: null });
    // Both groups of route 7 summed; another route: nothing.
    expect(h.query({ route: "7" })[58]).toMatchObject({ requests: 5, byStatusClass: { "2xx": 4, "5xx": 1 } });
    expect(h.query({ route: "8" }).every((m) => m.requests === 0)).toBe(true);
  });

  it("forgets minutes older than an hour", () => {
    const clock = { now: start };
    const h = history(clock);
    h.record([requestSeries("7", "a", [0.1])]);
    clock.now = start + 59 * 60_000;
    expect(h.query({})[0]).toMatchObject({ startMs: start, requests: 1 });
    clock.now = start + 60 * 60_000;
    expect(h.query({}).reduce((n, m) => n + m.requests, 0)).toBe(0);
    // The ring slot of that minute is reused for the new minute, not added to.
    h.record([requestSeries("7", "a", [0.1])]);
    expect(h.query({})[59]).toMatchObject({ startMs: start + 60 * 60_000, requests: 1 });
  });

  it("keeps at most maxKeys (route, group) pairs", () => {
    const clock = { now: start };
    const h = new RequestHistory({ boundsSeconds: HTTP_DURATION_BUCKETS_S, now: () => clock.now, maxKeys: 1 });
    h.record([requestSeries("1", "a", [0.1]), requestSeries("2", "a", [0.1])]);
    expect(h.query({ route: "1" })[59].requests).toBe(1);
    expect(h.query({ route: "2" })[59].requests).toBe(0);
  });
});

describe("PropagationLag", () => {
  type Step = ["publish", bigint, number] | ["serve", string, bigint, number, number | null];
  const cases: { name: string; steps: Step[] }[] = [
    {
      name: "an isolate seen before the publish is observed once, from publish to its report",
      steps: [
        ["serve", "a", 0n, 0, null],
        ["publish", 5n, 1000],
        ["serve", "a", 0n, 1200, null],
        ["serve", "a", 5n, 1500, 0.5],
        ["serve", "a", 5n, 1600, null],
      ],
    },
    {
      name: "an older version reported later is ignored",
      steps: [
        ["serve", "a", 4n, 0, null],
        ["publish", 5n, 100],
        ["publish", 6n, 200],
        ["serve", "a", 6n, 300, 0.1],
        ["serve", "a", 5n, 400, null],
      ],
    },
    {
      name: "an isolate first seen after the publish is not observed for that version",
      steps: [
        ["publish", 5n, 100],
        ["serve", "a", 0n, 200, null],
        ["serve", "a", 5n, 300, null],
        ["publish", 6n, 400],
        ["serve", "a", 6n, 900, 0.5],
      ],
    },
    {
      name: "a version this control never published is not observed",
      steps: [
        ["serve", "a", 1n, 0, null],
        ["serve", "a", 7n, 100, null],
      ],
    },
    {
      name: "each isolate is observed for itself",
      steps: [
        ["serve", "a", 1n, 0, null],
        ["serve", "b", 1n, 0, null],
        ["publish", 2n, 1000],
        ["serve", "a", 2n, 3000, 2],
        ["serve", "b", 2n, 11_000, 10],
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const lag = new PropagationLag();
      for (const step of c.steps) {
        if (step[0] === "publish") lag.published(step[1], step[2]);
        else expect(lag.served(step[1], step[2], step[3])).toBe(step[4]);
      }
    });
  }
});
