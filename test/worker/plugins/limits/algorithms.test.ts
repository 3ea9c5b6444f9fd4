/**
 * The limits' pure algorithms (worker/plugins/limits/): the fixed window of APISIX limit-count
 * (window from the key's first request, rejected requests counted), the weighted two-window
 * sliding estimate, resty.limit.req's leaky bucket and resty.limit.conn's counter, as tables of
 * arrivals, plus properties over arbitrary arrival sequences.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { enterConn, leaveConn } from "../../../../worker/plugins/limits/conn-counter.ts";
import { countFixedWindow } from "../../../../worker/plugins/limits/fixed-window.ts";
import { admitLeaky, leakyForgettableAtMs } from "../../../../worker/plugins/limits/leaky-bucket.ts";
import { countSlidingWindow } from "../../../../worker/plugins/limits/sliding-window.ts";

describe("countFixedWindow (limit 3 per 1000 ms)", () => {
  it.each([
    // [arrival ms…, expected allowed…, expected remaining…, expected resetMs…]
    [
      [0, 10, 20, 30],
      [true, true, true, false],
      [2, 1, 0, 0],
      [1000, 990, 980, 970],
    ],
    // The window starts at the first request (5000) and ends at 6000: 6000 starts a new one.
    [
      [5000, 5999, 5999, 5999, 6000],
      [true, true, true, false, true],
      [2, 1, 0, 0, 2],
      [1000, 1, 1, 1, 1000],
    ],
    // Rejected requests count: the window stays closed until it ends.
    [
      [0, 1, 2, 3, 4, 999, 1000],
      [true, true, true, false, false, false, true],
      [2, 1, 0, 0, 0, 0, 2],
      [1000, 999, 998, 997, 996, 1, 1000],
    ],
  ])("arrivals %j", (arrivals, allowed, remaining, reset) => {
    const window = { count: 0, resetAtMs: 0 };
    const decisions = arrivals.map((t) => countFixedWindow(window, 3, 1000, t));
    expect(decisions.map((d) => d.allowed)).toEqual(allowed);
    expect(decisions.map((d) => d.remaining)).toEqual(remaining);
    expect(decisions.map((d) => d.resetMs)).toEqual(reset);
  });

  it("restarts when the clock went back further than a window", () => {
    const window = { count: 0, resetAtMs: 0 };
    for (const t of [10_000, 10_001, 10_002]) countFixedWindow(window, 3, 1000, t);
    expect(countFixedWindow(window, 3, 1000, 5000)).toEqual({ allowed: true, remaining: 2, resetMs: 1000 });
  });

  it("never allows more than `limit` within one window, for any arrivals", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 300 }),
        (limit, windowMs, gaps) => {
          const window = { count: 0, resetAtMs: 0 };
          let now = 0;
          let windowEnd = -1;
          let allowedInWindow = 0;
          for (const gap of gaps) {
            now += gap;
            const d = countFixedWindow(window, limit, windowMs, now);
            if (window.resetAtMs !== windowEnd) {
              windowEnd = window.resetAtMs;
              allowedInWindow = 0;
            }
            if (d.allowed) allowedInWindow++;
            expect(allowedInWindow).toBeLessThanOrEqual(limit);
            // Any span of windowMs touches at most two windows.
            expect(d.resetMs).toBeGreaterThan(0);
            expect(d.resetMs).toBeLessThanOrEqual(windowMs);
          }
        },
      ),
    );
  });
});

describe("countSlidingWindow (limit 10 per 1000 ms, clock-aligned windows)", () => {
  it("weights the previous window by the part of it still in the last second", () => {
    const window = { startMs: 0, current: 0, previous: 0 };
    // 10 requests in [0, 1000): all allowed, the 11th rejected.
    const first = Array.from({ length: 11 }, (_, i) => countSlidingWindow(window, 10, 1000, i * 10).allowed);
    expect(first).toEqual([...Array(10).fill(true), false]);
    // At 1250 the estimate is 10 × 0.75 = 7.5: 2 more fit (8.5, 9.5), the third (10.5) does not.
    const at1250 = [1, 2, 3].map(() => countSlidingWindow(window, 10, 1000, 1250));
    expect(at1250.map((d) => d.allowed)).toEqual([true, true, false]);
    expect(at1250[0]).toMatchObject({ remaining: 1 });
    // Rejected at 7.5 + 2 = 9.5 → room for one more once 10 × (1 − e) + 2 ≤ 9, e ≥ 0.3: at 1300.
    expect(at1250[2]?.resetMs).toBe(50);
    expect(countSlidingWindow(window, 10, 1000, 1299).allowed).toBe(false);
    expect(countSlidingWindow(window, 10, 1000, 1300).allowed).toBe(true);
  });

  it("forgets a window two windows back", () => {
    const window = { startMs: 0, current: 0, previous: 0 };
    for (let i = 0; i < 10; i++) countSlidingWindow(window, 10, 1000, 500);
    expect(countSlidingWindow(window, 10, 1000, 2100)).toMatchObject({ allowed: true, remaining: 9 });
  });

  it("when the current window is full, waits for the next one and the decay of this one", () => {
    const window = { startMs: 0, current: 0, previous: 0 };
    for (let i = 0; i < 10; i++) countSlidingWindow(window, 4, 1000, 200);
    // current 4 (only allowed ones count), at 200: next window at 1000, then 4 × (1 − e) ≤ 3 → e ≥ 0.25.
    expect(countSlidingWindow(window, 4, 1000, 200)).toEqual({ allowed: false, remaining: 0, resetMs: 1050 });
    expect(countSlidingWindow(window, 4, 1000, 1249).allowed).toBe(false);
    expect(countSlidingWindow(window, 4, 1000, 1250).allowed).toBe(true);
  });

  it("never allows more than 2 × limit in any span of one window, and its estimate never exceeds the limit", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 300 }), (limit, gaps) => {
        const windowMs = 1000;
        const window = { startMs: 0, current: 0, previous: 0 };
        const allowedAt: number[] = [];
        let now = 0;
        for (const gap of gaps) {
          now += gap;
          if (countSlidingWindow(window, limit, windowMs, now).allowed) allowedAt.push(now);
          expect(allowedAt.filter((t) => t > now - windowMs).length).toBeLessThanOrEqual(2 * limit);
          const estimate = (window.previous * (windowMs - (now - window.startMs))) / windowMs + window.current;
          expect(estimate).toBeLessThanOrEqual(limit + 1e-9);
        }
      }),
    );
  });
});

describe("admitLeaky (resty.limit.req)", () => {
  // APISIX limit-req.t: rate 1 r/s, burst 0 → the second request within a second is rejected.
  it.each([
    // [rate, burst, arrival ms…, expected: "r" rejected or the delay in ms]
    [1, 0, [0, 100, 999, 1000, 2500], [0, "r", "r", 0, 0]],
    // burst 2: the 2nd and 3rd wait 1 s and 2 s (or pass at once with nodelay), the 4th is rejected.
    [1, 2, [0, 0, 0, 0], [0, 1000, 2000, "r"]],
    // Half drained: 0.5 excess left after 1.5 s → the next waits 500 ms.
    [1, 2, [0, 0, 1500], [0, 1000, 500]],
    [10, 0, [0, 100, 150, 250], [0, 0, "r", 0]],
    // Clock going back counts as elapsed time (abs), as resty.limit.req.
    [1, 0, [5000, 3000], [0, 0]],
  ])("rate %s burst %s arrivals %j", (rate, burst, arrivals, expected) => {
    const bucket = { excess: 0, lastMs: Number.NaN };
    const got = arrivals.map((t) => {
      const d = admitLeaky(bucket, rate, burst, t);
      return d.allowed ? Math.round(d.delayMs) : "r";
    });
    expect(got).toEqual(expected);
  });

  it("rejection leaves the bucket as it was and says when a request would fit", () => {
    const bucket = { excess: 0, lastMs: Number.NaN };
    admitLeaky(bucket, 2, 1, 0);
    admitLeaky(bucket, 2, 1, 0); // excess 1
    const before = { ...bucket };
    const rejected = admitLeaky(bucket, 2, 1, 100); // 1 − 0.2 + 1 = 1.8 > 1
    expect(rejected).toEqual({ allowed: false, retryAfterMs: expect.closeTo(400, 6) });
    expect(bucket).toEqual(before);
    expect(admitLeaky(bucket, 2, 1, 499).allowed).toBe(false);
    expect(admitLeaky(bucket, 2, 1, 500).allowed).toBe(true);
  });

  it("a bucket is forgettable exactly when a new request would find it empty", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.1, max: 100, noNaN: true }),
        fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 1, maxLength: 50 }),
        (rate, gaps) => {
          const bucket = { excess: 0, lastMs: Number.NaN };
          let now = 0;
          for (const gap of gaps) {
            now += gap;
            admitLeaky(bucket, rate, 5, now);
          }
          const at = leakyForgettableAtMs(bucket, rate);
          const copy = { ...bucket };
          const d = admitLeaky(copy, rate, 5, Math.ceil(at));
          expect(d).toEqual({ allowed: true, delayMs: expect.closeTo(0, 6) });
        },
      ),
    );
  });

  it("lets through at most rate × t + burst + 1 requests over any t, for any arrivals", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 200 }),
        (rate, burst, gaps) => {
          const bucket = { excess: 0, lastMs: Number.NaN };
          const allowedAt: number[] = [];
          let now = 0;
          for (const gap of gaps) {
            now += gap;
            if (admitLeaky(bucket, rate, burst, now).allowed) allowedAt.push(now);
          }
          for (const start of allowedAt) {
            const within = allowedAt.filter((t) => t >= start);
            const span = (within.at(-1) ?? start) - start;
            expect(within.length).toBeLessThanOrEqual((rate * span) / 1000 + burst + 1 + 1e-9);
          }
        },
      ),
    );
  });
});

describe("enterConn (resty.limit.conn)", () => {
  it.each([
    // [conn, burst, delay unit ms, arrivals before leaving…, expected: "r" or the delay]
    [2, 0, 100, 3, [0, 0, "r"]],
    [1, 2, 100, 4, [0, 100, 200, "r"]],
    [2, 3, 50, 6, [0, 0, 50, 50, 100, "r"]],
  ])("conn %s burst %s unit %s ms, %s at once", (conn, burst, unit, n, expected) => {
    const counter = { active: 0 };
    const got = Array.from({ length: n }, () => {
      const d = enterConn(counter, conn, burst, unit);
      return d.allowed ? d.delayMs : "r";
    });
    expect(got).toEqual(expected);
    expect(counter.active).toBe(Math.min(n, conn + burst));
  });

  it("a request that left makes room, and the count never goes below zero", () => {
    const counter = { active: 0 };
    enterConn(counter, 1, 0, 0);
    expect(enterConn(counter, 1, 0, 0).allowed).toBe(false);
    leaveConn(counter);
    expect(enterConn(counter, 1, 0, 0).allowed).toBe(true);
    leaveConn(counter);
    leaveConn(counter);
    expect(counter.active).toBe(0);
  });
});
