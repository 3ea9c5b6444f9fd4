/**
 * A route's policy list in the WASM hot path ("POLICIES" in docs/snapshot-format.md): order,
 * the enabled switch, graylists, condition errors, and how attributes reach the frame.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { DecideStatus, type HotPath, Passway } from "../wasm/host.ts";
import { group, instance, instantiate, policy, request, route, write } from "./wasm-fixtures.ts";

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
      ],
      routes: [route(1, "*", "/", { policies: ["p1", "p2", "p3", "p4"] }), route(2, "*", "/big", { policies: ["p3", "p5"] })],
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
      name: "absent key: graylisted policy skipped, not an error",
      attributes: { "1:x-canary": "1" },
      want: { group: "canary", policy: "p3", errors: 0 },
    },
    {
      name: "graylist compares UTF-8 bytes",
      attributes: { "0:uid": "ü", "1:x-canary": "1" },
      want: { group: "canary", policy: "p3", errors: 1 }, // int("ü") errors, counted
    },
    {
      name: "first matching policy in route order wins",
      attributes: { "1:x-canary": "1", "2:beta": "yes" },
      want: { group: "canary", policy: "p3", errors: 0 },
    },
    {
      name: "absent attribute errors: not matched, counted, next policy evaluated",
      attributes: { "2:beta": "yes" },
      want: { group: "beta", policy: "p4", errors: 1 },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(decide(c.attributes)).toEqual(c.want);
    });
  }

  it("a disabled policy is skipped although its condition is true", () => {
    expect(decide({}).group).not.toBe("off");
  });
});

describe("attributes in the frame", () => {
  it("asks the request only for the snapshot's attributes, each once, with passway and name", () => {
    const asked: string[] = [];
    hot.decide({ host: "a.test", path: "/", method: "GET", attribute: (p, n) => void asked.push(`${p}:${n}`) });
    expect(asked.sort()).toEqual(hot.snapshot.attributes.map((a) => `${a.passway}:${a.name}`).sort());
    expect(new Set(asked).size).toBe(asked.length);
    expect(hot.snapshot.attributes).toContainEqual({ passway: Passway.HEADER, name: "x-canary" });
  });

  it("marks values that overflow the 64 KiB byte area absent, and all after them", () => {
    // Route /big: p3 reads header x-canary, p5 matches unconditionally.
    expect(decide({ "1:x-canary": "1" }, "/big")).toEqual({ group: "canary", policy: "p3", errors: 0 });
    const slots = hot.snapshot.attributes.map((a) => `${a.passway}:${a.name}`);
    const first = slots[0] as string;
    expect(slots.indexOf("1:x-canary")).toBeGreaterThan(0);
    // A value too big for the frame in slot 0 makes x-canary (a later slot) absent too: p3 errors.
    const r = decide({ [first]: "x".repeat(70_000), "1:x-canary": "1" }, "/big");
    expect(r).toEqual({ group: "canary", policy: "p5", errors: 1 });
  });

  it("non-ASCII values go through TextEncoder", () => {
    expect(decide({ "0:uid": "ü", "1:x-canary": "1" }).policy).toBe("p3");
  });
});
