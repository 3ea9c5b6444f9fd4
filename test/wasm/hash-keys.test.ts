/**
 * Ring-hash and maglev groups decided in one call (wasm/hash-keys.ts, decide.ts hashFrameKey):
 * the host writes the hash keys of every group a route can reach into the frame's hash-key
 * table, and decide() hashes the chosen group's key itself. Checked against select(), which
 * hashes the key through lbHashKey + lbSelect (the path decide() took before), and by counting
 * the JS → WASM calls of a decision.
 */
import { describe, expect, it } from "vitest";
import type { ConfigModel, GroupConfig } from "../../control/snapshot/model.ts";
import { type HashKeySource, resolveBalancing } from "../../control/snapshot/options.ts";
import { DecideStatus, HotPath } from "../../wasm/host.ts";
import { group, instance, instantiate, policy, request, route, write } from "../support/wasm-fixtures.ts";

const NO_TRIED: readonly number[] = [];

/** Group `id` of ten instances balanced by `balancer` on `hashKey`. */
function hashed(id: number, name: string, balancer: "ring-hash" | "maglev", hashKey: HashKeySource | null): GroupConfig {
  const instances = Array.from({ length: 10 }, (_, k) => instance(id * 100 + k, 1));
  return { ...group(id, name, instances), balancer, balancing: resolveBalancing({ hashKey }) };
}

/**
 * `*` / on the default group `main` (ring hash on header x-user); query `to=b` sends it to `b`
 * (maglev on cookie sid); `plain` is swrr and reachable from no route.
 */
function model(): ConfigModel {
  return {
    groups: [
      hashed(1, "main", "ring-hash", { from: "header", name: "X-User" }),
      hashed(2, "b", "maglev", { from: "cookie", name: "sid" }),
      group(3, "plain", [instance(300, 1)]),
    ],
    policies: [policy(1, `key == "b"`, "b", { key: "to" })],
    routes: [route(1, "*", "/", { policies: ["p1"] })],
  };
}

/** The instance select() (lbHashKey + lbSelect) picks for `req` in group `name` on a fresh state. */
function viaSelect(hot: HotPath, name: string, req: ReturnType<typeof request>): number {
  const g = hot.snapshot.groups.findIndex((x) => x.name === name);
  return hot.select(g, hot.snapshot.groups[g]!.id, req, 1_000, NO_TRIED, 0).instance;
}

describe("decide() hashes the chosen group's key itself", () => {
  it("picks what lbHashKey + lbSelect pick, for the default group's and a policy's group's key", async () => {
    const { hot } = await instantiate();
    expect(hot.load(write(model(), 1n)).ok).toBe(true);
    for (let k = 0; k < 200; k++) {
      const main = request("any.test", "/", { "1:x-user": `user-${k}`, "2:sid": `other-${k}` });
      const d = hot.decide(main, 1_000);
      expect([d.status, hot.snapshot.groups[d.group]?.name]).toEqual([DecideStatus.OK, "main"]);
      expect(d.instance).toBe(viaSelect(hot, "main", main));

      const b = request("any.test", "/", { "0:to": "b", "1:x-user": `other-${k}`, "2:sid": `session-${k}` });
      const e = hot.decide(b, 1_000);
      expect([e.status, hot.snapshot.groups[e.group]?.name]).toEqual([DecideStatus.OK, "b"]);
      expect(e.instance).toBe(viaSelect(hot, "b", b));
    }
  });

  it("sends the same key to the same instance, and spreads keys", async () => {
    const { hot } = await instantiate();
    expect(hot.load(write(model(), 1n)).ok).toBe(true);
    const pick = (user: string) => hot.decide(request("any.test", "/", { "1:x-user": user }), 1_000).instance;
    const first = Array.from({ length: 50 }, (_, k) => pick(`user-${k}`));
    expect(Array.from({ length: 50 }, (_, k) => pick(`user-${k}`))).toEqual(first);
    expect(new Set(first).size).toBeGreaterThan(5);
  });

  it("a request without the key, or with an empty one, is balanced at random (still a pick)", async () => {
    const { hot } = await instantiate();
    expect(hot.load(write(model(), 1n)).ok).toBe(true);
    const seen = new Set<number>();
    for (let k = 0; k < 100; k++) {
      const d = hot.decide(request("any.test", "/", k % 2 === 0 ? {} : { "1:x-user": "" }), 1_000);
      expect(d.status).toBe(DecideStatus.OK);
      seen.add(d.instance);
    }
    expect(seen.size).toBeGreaterThan(1);
  });

  it("takes two JS → WASM calls for ring-hash, maglev and swrr alike", async () => {
    const { exports: raw } = await instantiate();
    const calls: string[] = [];
    const exports: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(raw)) {
      exports[name] =
        typeof value === "function"
          ? (...args: unknown[]) => {
              calls.push(name);
              return (value as (...a: unknown[]) => unknown)(...args);
            }
          : value;
    }
    const hot = new HotPath({ exports } as unknown as WebAssembly.Instance);
    expect(hot.load(write(model(), 1n)).ok).toBe(true);
    const requests: Record<string, string>[] = [{ "1:x-user": "u" }, { "0:to": "b", "2:sid": "s" }];
    for (const attributes of requests) {
      calls.length = 0;
      expect(hot.decide(request("any.test", "/", attributes), 1_000).status).toBe(DecideStatus.OK);
      expect(calls).toEqual(["route", "decide"]);
    }
    const swrr: ConfigModel = { groups: [group(3, "main", [instance(300, 1)])], policies: [], routes: [route(1, "*", "/")] };
    expect(hot.load(write(swrr, 2n)).ok).toBe(true);
    calls.length = 0;
    expect(hot.decide(request("any.test", "/"), 1_000).status).toBe(DecideStatus.OK);
    expect(calls).toEqual(["route", "decide"]);
  });
});
