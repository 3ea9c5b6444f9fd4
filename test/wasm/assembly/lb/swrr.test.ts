/**
 * Smooth weighted round robin in the WASM hot path (wasm/assembly/balancer.ts), checked against
 * the sequence nginx documents in ngx_http_upstream_round_robin.c, plus eligibility rules and
 * the no-allocation promise.
 */
import { describe, expect, it } from "vitest";
import type { ConfigModel, InstanceConfig } from "../../../../control/snapshot/model.ts";
import { DecideStatus } from "../../../../wasm/host.ts";
import { group, instance, instantiate, request, route, write } from "../../../support/wasm-fixtures.ts";

/** A HotPath serving one `*` route whose default group holds `instances`. */
async function serving(instances: InstanceConfig[]) {
  const { hot, exports } = await instantiate();
  const model: ConfigModel = { groups: [group(1, "main", instances)], policies: [], routes: [route(1, "*", "/")] };
  expect(hot.load(write(model, 1n)).ok).toBe(true);
  const req = request("any.test", "/");
  /** Instance id of the next pick, or null when none is available. */
  const pick = () => {
    const r = hot.decide(req);
    return r.status === DecideStatus.OK ? (hot.snapshot.instances[r.instance]?.id ?? -1) : null;
  };
  return { hot, exports, req, pick };
}

describe("smooth weighted round robin", () => {
  it("weights 5:1:1 give nginx's a a b a c a a, repeating", async () => {
    const { pick } = await serving([instance(1, 5), instance(2, 1), instance(3, 1)]);
    // current weights (a,b,c): +5,+1,+1 → (5,1,1) pick a → (-2,1,1); (3,2,2) a → (-4,2,2);
    // (1,3,3) b (first of the tie) → (1,-4,3); (6,-3,4) a → (-1,-3,4); (4,-2,5) c → (4,-2,-2);
    // (9,-1,-1) a → (2,-1,-1); (7,0,0) a → (0,0,0): back to the start.
    const picks = Array.from({ length: 14 }, pick);
    expect(picks).toEqual([1, 1, 2, 1, 3, 1, 1, 1, 1, 2, 1, 3, 1, 1]);
  });

  it("spreads picks exactly by weight over whole cycles", async () => {
    const { pick } = await serving([instance(1, 3), instance(2, 1), instance(3, 6)]);
    const tally = new Map<number | null, number>();
    for (let i = 0; i < 1000; i++) {
      const id = pick();
      tally.set(id, (tally.get(id) ?? 0) + 1);
    }
    // 1000 picks = 100 cycles of total weight 3 + 1 + 6 = 10.
    expect(Object.fromEntries(tally)).toEqual({ 1: 300, 2: 100, 3: 600 });
  });

  it("never picks weight 0 or instances that are not alive", async () => {
    const { pick } = await serving([
      instance(1, 0),
      instance(2, 5, "dead"),
      instance(3, 5, "starting"),
      instance(4, 2),
      instance(5, 5, "stopping"),
      instance(6, 5, "stopped"),
      instance(7, 5, "warning"),
      instance(8, 1),
    ]);
    const seen = new Set(Array.from({ length: 300 }, pick));
    expect([...seen].sort()).toEqual([4, 8]);
  });

  it("reports status 3 with route and group when no instance is available", async () => {
    const { hot, req } = await serving([instance(1, 0), instance(2, 5, "dead")]);
    const r = { ...hot.decide(req) };
    expect(r).toEqual({
      status: DecideStatus.NO_INSTANCE,
      route: 0,
      policy: -1,
      group: 0,
      instance: -1,
      conditionErrors: 0,
      probe: false,
      panic: false,
    });
    expect(hot.snapshot.groups[r.group]?.name).toBe("main");
  });

  it("reports status 3 for an empty group", async () => {
    const { hot, req } = await serving([]);
    expect(hot.decide(req).status).toBe(DecideStatus.NO_INSTANCE);
  });
});

describe("no allocation per request", () => {
  it("linear memory does not grow across 100k decide() calls", async () => {
    const { exports, pick } = await serving([instance(1, 5), instance(2, 1), instance(3, 1)]);
    const before = exports.memory.buffer.byteLength;
    for (let i = 0; i < 100_000; i++) pick();
    expect(exports.memory.buffer.byteLength).toBe(before);
  });
});
