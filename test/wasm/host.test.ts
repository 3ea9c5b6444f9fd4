/**
 * HotPath's per-attempt calls name routes, groups and instances by (index, id): the index from
 * the snapshot a request was decided on, the id to find it again after a swap (wasm/host.ts,
 * lb/api.ts). Here a swap moves group `main` from index 0 to 1 and its instances up by one;
 * calls made with the old indices still reach them, and ids that left are "gone".
 */
import { beforeEach, describe, expect, it } from "vitest";
import type { ConfigModel } from "../../control/snapshot/model.ts";
import { resolveBalancing, resolveRetry } from "../../control/snapshot/options.ts";
import type { HotPath } from "../../wasm/host.ts";
import { group, instance, instantiate, request, route, write } from "../support/wasm-fixtures.ts";

const NOW = 1_000;
const before: ConfigModel = { groups: [group(1, "main", [instance(1, 1), instance(2, 1)])], policies: [], routes: [route(7, "*", "/")] };
// "aaa" sorts first: main becomes GROUPS 1, its instances INSTANCES 1 and 2; route 7 becomes ROUTES 1.
const after: ConfigModel = {
  groups: [group(5, "aaa", [instance(9, 1)]), group(1, "main", [instance(1, 1), instance(2, 1)])],
  policies: [],
  routes: [route(6, "a.test", "/", { defaultGroup: "aaa" }), route(7, "*", "/", { retry: resolveRetry({ numRetries: 2 }) })],
};

describe("(index, id) across a snapshot swap", () => {
  let hot: HotPath;
  beforeEach(async () => {
    hot = (await instantiate()).hot;
    expect(hot.load(write(before, 1n)).ok).toBe(true);
    expect(hot.load(write(after, 2n)).ok).toBe(true);
    expect(hot.snapshot.groups.map((g) => g.id)).toEqual([5, 1]);
  });

  it("admission and release reach the group at its new index; a group that left is gone", () => {
    expect(hot.admit(0, 1)).toBe("run");
    expect([hot.groupCounters(0).active, hot.groupCounters(1).active]).toEqual([0, 1]);
    expect(hot.release(0, 1)).toBe("done");
    expect(hot.groupCounters(1).active).toBe(0);
    expect(hot.admit(0, 77)).toBe("gone");
    expect(hot.release(0, 77)).toBe("gone");
    hot.abandonQueued(0, 77); // no effect
    expect(hot.groupCounters(0)).toMatchObject({ active: 0, pending: 0 });
  });

  it("retries count against the group's budget at its new index", () => {
    hot.retryStarted(0, 1);
    expect([hot.groupCounters(0).activeRetries, hot.groupCounters(1).activeRetries]).toEqual([0, 1]);
    hot.retryEnded(0, 1);
    expect(hot.groupCounters(1).activeRetries).toBe(0);
  });

  it("a retry decision finds route and group by id; one that left is 'not retriable' (−2)", () => {
    // A connect failure (1) of a GET on route 7 (2 retries): retry after a back-off ≥ 0.
    expect(hot.retryDecision(0, 7, 0, 1, 0, 1, "GET", 0, NOW, NOW)).toBeGreaterThanOrEqual(0);
    expect(hot.retryDecision(0, 999, 0, 1, 0, 1, "GET", 0, NOW, NOW)).toBe(-2);
    expect(hot.retryDecision(0, 7, 0, 77, 0, 1, "GET", 0, NOW, NOW)).toBe(-2);
  });

  it("attempts reach the instance at its new index; one that left is gone", () => {
    expect(hot.instance(0, 1)?.id).toBe(1);
    expect(hot.instance(0, 404)).toBeUndefined();
    expect(hot.start(1, 2)).toBe(true);
    expect([hot.instanceHealth(1).active, hot.instanceHealth(2).active]).toEqual([0, 1]);
    expect(hot.finish(1, 2, { status: 200, latencyMs: 5 }, false, NOW)).toBe("kept");
    expect(hot.instanceHealth(2).active).toBe(0);
    expect(hot.start(0, 404)).toBe(false);
    expect(hot.finish(0, 404, { status: 200, latencyMs: 5 }, false, NOW)).toBe("gone");
  });

  it("select() picks in the group at its new index, and finds nothing in a group that left", () => {
    const req = request("any.test", "/");
    const picked = hot.select(0, 1, req, NOW, [], 0).instance;
    expect([1, 2]).toContain(picked);
    expect(hot.select(0, 77, req, NOW, [], 0).instance).toBe(-1);
  });
});

// Issue 12 (3): an attempt that failed by the client's fault (a broken request body) is
// cancelled: in flight again 0, and nothing recorded — the consecutive-failure count goes on from
// where the upstream's own failures left it (Envoy counts a downstream reset against no host).
describe("cancel: an attempt ended by the client's fault", () => {
  const model: ConfigModel = {
    groups: [
      {
        ...group(1, "main", [instance(1, 1), instance(2, 1)]),
        balancing: resolveBalancing({
          outlier: { consecutiveGatewayFailure: 3, enforcingConsecutiveGatewayFailure: 100, maxEjectionPercent: 100 },
        }),
      },
    ],
    policies: [],
    routes: [route(7, "*", "/")],
  };
  const connectFailure = { status: 0, failure: 1, latencyMs: 1 };

  it("leaves no one in flight and records nothing: two failures, three cancels, one failure more ejects at the third", async () => {
    const hot = (await instantiate()).hot;
    expect(hot.load(write(model, 1n)).ok).toBe(true);
    for (let i = 0; i < 2; i++) {
      hot.start(0, 1);
      expect(hot.finish(0, 1, connectFailure, false, NOW)).toBe("kept");
    }
    for (let i = 0; i < 3; i++) {
      hot.start(0, 1);
      expect(hot.cancel(0, 1, false, NOW)).toBe(true);
    }
    expect(hot.instanceHealth(0)).toMatchObject({ active: 0, ejected: false, ejections: 0 });
    hot.start(0, 1);
    expect(hot.finish(0, 1, connectFailure, false, NOW)).toBe("ejected");
    expect(hot.cancel(0, 404, false, NOW)).toBe(false);
  });
});
