/**
 * The FUNCTIONS section (14) needs no WASM change (docs/snapshot-format.md "FUNCTIONS"): a
 * snapshot that carries functions loads in build/hotpath.wasm, decides every other route exactly
 * as the same configuration without functions, and decides a function route to its entry group
 * with NO_INSTANCE — including one that lists policies, when none matches.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { ConfigModel, FunctionConfig } from "../../../control/snapshot/model.ts";
import { DecideStatus, type HotPath } from "../../../wasm/host.ts";
import { group, instance, instantiate, policy, request, route, SECTION, section, write } from "../../support/wasm-fixtures.ts";

const BASE: ConfigModel = {
  groups: [group(1, "main", [instance(1, 10), instance(2, 10)]), group(2, "canary", [instance(3, 10)]), group(3, "empty", [])],
  policies: [policy(1, 'request.header["x-canary"] == "1"', "canary", { key: "uid" })],
  routes: [route(1, "*", "/", { policies: ["p1"] }), route(2, "*", "/exact", { match: "exact", defaultGroup: "empty" })],
};

const HELLO: FunctionConfig = {
  id: 3,
  appkey: "svc",
  name: "hello",
  activationTimeoutMs: 10_000,
  stickiness: null,
  targets: [
    { version: 1, percent: 90, tag: null, lane: null },
    { version: 2, percent: 10, tag: "canary", lane: null },
  ],
  versions: [
    { id: 11, number: 1, instances: [instance(7, 10)] },
    { id: 12, number: 2, instances: [] },
  ],
};

const WITH_FUNCTIONS: ConfigModel = {
  ...BASE,
  functions: [HELLO],
  routes: [...BASE.routes, route(3, "*", "/fn", { defaultGroup: "", function: "hello", policies: ["p1"] })],
};

/** Requests on the routes both configurations share; `x-canary` is header source 1, p1's key `uid` query source 0. */
const SHARED = [
  request("a.test", "/"),
  request("a.test", "/deep/path", { "0:uid": "5", "1:x-canary": "1" }),
  request("a.test", "/exact"),
  request("b.test", "/exact/not"),
];

let plain: HotPath;
let withFunctions: HotPath;
let file: Uint8Array;

beforeAll(async () => {
  ({ hot: plain } = await instantiate());
  ({ hot: withFunctions } = await instantiate());
  expect(plain.load(write(BASE, 1n))).toEqual({ ok: true, version: 1n });
  file = write(WITH_FUNCTIONS, 1n);
  expect(withFunctions.load(file)).toEqual({ ok: true, version: 1n });
});

describe("a snapshot with a FUNCTIONS section", () => {
  it("has section 14 in its directory", () => {
    expect(section(file, 14).length).toBeGreaterThan(0);
    expect(() => section(write(BASE, 1n), 14)).toThrow(/not found/);
    expect(section(file, SECTION.STRINGS).offset).toBe(64 + 14 * 12);
    // The shared requests exercise both outcomes, so "as before" is not vacuous.
    expect(SHARED.map((r) => plain.decide(r, 1000).status)).toEqual([
      DecideStatus.OK,
      DecideStatus.OK,
      DecideStatus.NO_INSTANCE,
      DecideStatus.OK,
    ]);
  });

  it.each(SHARED.map((r, i) => [i, r] as const))("decides shared request %i as without functions", (_, req) => {
    const before = plain.decide(req, 1000);
    const after = withFunctions.decide(req, 1000);
    expect(after.status).toBe(before.status);
    const name = (hot: HotPath, g: number) => (g < 0 ? null : hot.snapshot.groups[g].name);
    const id = (hot: HotPath, i: number) => (i < 0 ? null : hot.snapshot.instances[i].id);
    expect(name(withFunctions, after.group)).toBe(name(plain, before.group));
    expect(id(withFunctions, after.instance)).toBe(id(plain, before.instance));
  });

  it("decides a function route to its entry group with NO_INSTANCE, unless a policy matches", () => {
    const entry = withFunctions.snapshot.groups.findIndex((g) => g.name === "fn:hello");
    expect(withFunctions.snapshot.groups[entry]).toMatchObject({ id: 0x40000000 + 3, instanceCount: 0 });
    expect(withFunctions.decide(request("a.test", "/fn/x"), 1000)).toMatchObject({ status: DecideStatus.NO_INSTANCE, group: entry });
    const canary = withFunctions.decide(request("a.test", "/fn", { "0:uid": "5", "1:x-canary": "1" }), 1000);
    expect(canary.status).toBe(DecideStatus.OK);
    expect(withFunctions.snapshot.groups[canary.group].name).toBe("canary");
  });

  it("writes each version group with its instances, ids offset", () => {
    const v1 = withFunctions.snapshot.groups.find((g) => g.name === "fn:hello@1");
    expect(v1).toMatchObject({ id: 0x60000000 + 11, instanceCount: 1 });
    expect(withFunctions.snapshot.instances[v1?.firstInstance ?? -1]).toMatchObject({ id: 0x40000000 + 7, weight: 10 });
    expect(withFunctions.snapshot.groups.find((g) => g.name === "fn:hello@2")).toMatchObject({ id: 0x60000000 + 12, instanceCount: 0 });
  });
});
