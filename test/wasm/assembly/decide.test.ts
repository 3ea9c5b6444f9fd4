/**
 * A route's policy list in the WASM hot path ("POLICIES" in docs/snapshot-format.md): order,
 * the enabled switch, graylists, condition errors, and how attributes reach the frame.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { DecideStatus, type HotPath, Passway } from "../../../wasm/host.ts";
import { group, instance, instantiate, policy, request, route, write } from "../../support/wasm-fixtures.ts";

let hot: HotPath;

beforeAll(async () => {
  ({ hot } = await instantiate());
  const file = write(
    {
      groups: [
        group(1, "main", [instance(1, 1)]),
        group(2, "gray", [instance(2, 1)]),
        group(3, "canary", [instance(3, 1)]),
        group(4, "beta", [instance(4, 1)]),
        group(5, "off", [instance(5, 1)]),
      ],
      policies: [
        policy(1, "true", "off", { enabled: false }),
        policy(2, "int(key) % 100 < 10", "gray", { key: "uid", graylist: ["7", "42", "ü"] }),
        policy(3, 'request.header["x-canary"] == "1"', "canary", { key: "uid" }),
        policy(4, 'request.cookie.beta == "yes"', "beta", { key: "uid" }),
        policy(5, "true", "canary", { key: "big" }),
        policy(6, 'request.header["x-long"].startsWith("1")', "beta", { key: "uid" }),
      ],
      routes: [
        route(1, "*", "/", { policies: ["p1", "p2", "p3", "p4"] }),
        route(2, "*", "/big", { policies: ["p3", "p5"] }),
        route(3, "*", "/long", { policies: ["p6", "p5"] }),
      ],
    },
    1n,
  );
  expect(hot.load(file)).toEqual({ ok: true, version: 1n });
});

/** Group name and counted errors for a request to `/` with these attributes. */
function decide(attributes: Record<string, string>, path = "/") {
  const r = hot.decide(request("a.test", path, attributes));
  expect(r.status).toBe(DecideStatus.OK);
  return {
    group: hot.snapshot.groups[r.group]?.name,
    policy: r.policy < 0 ? null : hot.snapshot.policies[r.policy]?.name,
    errors: r.conditionErrors,
  };
}

describe("policy selection", () => {
  const cases: { name: string; attributes: Record<string, string>; want: ReturnType<typeof decide> }[] = [
    { name: "no policy matches: default group", attributes: { "0:uid": "5" }, want: { group: "main", policy: null, errors: 2 } },
    { name: "graylisted key, condition true", attributes: { "0:uid": "7" }, want: { group: "gray", policy: "p2", errors: 0 } },
    {
      name: "graylisted key, condition false",
      attributes: { "0:uid": "42", "1:x-canary": "0", "2:beta": "no" },
      want: { group: "main", policy: null, errors: 0 },
    },
    {
      name: "key not on the graylist: skipped even though the condition would match",
      attributes: { "0:uid": "5", "1:x-canary": "0", "2:beta": "no" },
      want: { group: "main", policy: null, errors: 0 },
    },
    {
      name: "absent key: no policy keyed on it applies, whatever its condition, and no error is counted",
      attributes: { "1:x-canary": "1", "2:beta": "yes" },
      want: { group: "main", policy: null, errors: 0 },
    },
    {
      name: "graylist compares UTF-8 bytes",
      attributes: { "0:uid": "ü", "1:x-canary": "1" },
      want: { group: "canary", policy: "p3", errors: 1 }, // int("ü") errors, counted
    },
    {
      name: "first matching policy in route order wins",
      attributes: { "0:uid": "5", "1:x-canary": "1", "2:beta": "yes" },
      want: { group: "canary", policy: "p3", errors: 0 },
    },
    {
      name: "absent attribute errors: not matched, counted, next policy evaluated",
      attributes: { "0:uid": "5", "2:beta": "yes" },
      want: { group: "beta", policy: "p4", errors: 1 },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(decide(c.attributes)).toEqual(c.want);
    });
  }

  it("a disabled policy is skipped although its condition is true", () => {
    expect(decide({ "0:k": "" }).group).not.toBe("off");
  });

  it("a policy whose condition is `true` applies only when its key is present", () => {
    // /big: p3 (key uid) errs on the absent header; p5 (`true`, key big) decides.
    expect(decide({ "0:uid": "5" }, "/big")).toEqual({ group: "main", policy: null, errors: 1 });
    expect(decide({ "0:uid": "5", "0:big": "" }, "/big")).toEqual({ group: "canary", policy: "p5", errors: 1 });
  });
});

describe("attributes in the frame", () => {
  it("asks the request only for the matched route's slots, each once, with source and name", () => {
    const asked: string[] = [];
    hot.decide({ host: "a.test", path: "/big", method: "GET", attribute: (source, name) => void asked.push(`${source}:${name}`) });
    // Route /big lists p3 (key uid, header x-canary) and p5 (`true`, key big — read by its key gate).
    expect(asked.sort()).toEqual(["0:big", "0:uid", "1:x-canary"]);
    asked.length = 0;
    hot.decide({ host: "a.test", path: "/", method: "GET", attribute: (source, name) => void asked.push(`${source}:${name}`) });
    expect(asked.sort()).toEqual(["0:uid", "1:x-canary", "2:beta"]);
    expect(hot.snapshot.attributes).toContainEqual({ source: Passway.HEADER, name: "x-canary" });
  });

  it("passes a value that does not fit the 1 MiB byte area as absent", () => {
    const keys = { "0:uid": "5", "0:big": "" };
    expect(decide({ ...keys, "1:x-long": "1".repeat(1000) }, "/long")).toEqual({ group: "beta", policy: "p6", errors: 0 });
    // x-long too big for the frame: absent, so p6 errors and p5 matches.
    expect(decide({ ...keys, "1:x-long": "1".repeat(1_100_000) }, "/long")).toEqual({ group: "canary", policy: "p5", errors: 1 });
  });

  it("an interned value (compared only with constants) is never copied, so its size does not matter", () => {
    expect(hot.snapshot.slots.find((s) => s.name === "x-canary")?.mode).toBe(2);
    expect(decide({ "0:uid": "5", "0:big": "", "1:x-canary": "1".repeat(1_100_000) }, "/big")).toEqual({
      group: "canary",
      policy: "p5",
      errors: 0,
    });
  });

  it("non-ASCII values go through TextEncoder", () => {
    expect(decide({ "0:uid": "ü", "1:x-canary": "1" }).policy).toBe("p3");
  });
});
