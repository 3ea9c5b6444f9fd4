/**
 * The condition VM (wasm/assembly/vm.ts) against docs/bytecode.md: CEL conditions compiled by
 * control's compiler and written by the real writer. Hand-assembled programs (what CEL cannot
 * express: mixed types, malformed code) are in wasm-vm-asm.test.ts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { PolicyConfig } from "../../../control/snapshot/model.ts";
import { DecideStatus, type HotPath } from "../../../wasm/host.ts";
import { group, instance, instantiate, policy, request, route, write } from "../../support/wasm-fixtures.ts";

type Outcome = "match" | "no" | "error";

function outcome(hot: HotPath, path: string, query: Record<string, string>, headers: Record<string, string> = {}, method = "GET"): Outcome {
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(query)) attributes[`0:${k}`] = v;
  for (const [k, v] of Object.entries(headers)) attributes[`1:${k}`] = v;
  const r = hot.decide(request("api.example.com", path, attributes, method));
  expect(r.status).toBe(DecideStatus.OK);
  if (r.policy >= 0) return "match";
  return r.conditionErrors === 1 ? "error" : "no";
}

const MAX = "9223372036854775807";
const MIN = "-9223372036854775808";

// [condition, query attributes (key is `k`), expected]
const CEL_CASES: [string, Record<string, string>, Outcome][] = [
  ["true", { k: "" }, "match"],
  ["false", { k: "" }, "no"],
  // A policy is about its key: without it the policy does not apply, whatever its condition.
  ["true", {}, "no"],
  // int(): strconv.ParseInt(s, 10, 64)
  ["int(key) == 42", { k: "42" }, "match"],
  ["int(key) == 42", { k: "+42" }, "match"],
  ["int(key) == 42", { k: "0042" }, "match"],
  ["int(key) == 0", { k: "-0" }, "match"],
  ["int(key) == 42", { k: " 42" }, "error"],
  ["int(key) == 42", { k: "42 " }, "error"],
  ["int(key) == 16", { k: "0x10" }, "error"],
  ["int(key) == 1", { k: "1_0" }, "error"],
  ["int(key) == 0", { k: "" }, "error"],
  ["int(key) == 0", { k: "+" }, "error"],
  ["int(key) == 0", { k: "-" }, "error"],
  ["int(key) == 0", { k: "abc" }, "error"],
  ["int(key) == 0", { k: "４２" }, "error"],
  ["int(key) == 9223372036854775807", { k: MAX }, "match"],
  ["int(key) > 0", { k: "9223372036854775808" }, "error"],
  ["int(key) < 0", { k: MIN }, "match"],
  ["int(key) < 0", { k: "-9223372036854775809" }, "error"],
  ["int(key) > 0", { k: "99999999999999999999999" }, "error"],
  // checked arithmetic
  ["int(key) + 1 > 0", { k: MAX }, "error"],
  ["int(key) + 1 > 0", { k: "41" }, "match"],
  ["int(key) - 1 < 0", { k: MIN }, "error"],
  ["int(key) * 2 > 0", { k: "4611686018427387904" }, "error"],
  ["int(key) * -1 > 0", { k: MIN }, "error"],
  ["int(key) * 3 == -3000000000", { k: "-1000000000" }, "match"],
  ["int(key) / 0 == 1", { k: "1" }, "error"],
  ["int(key) / -1 > 0", { k: MIN }, "error"],
  ["int(key) / 2 == -3", { k: "-7" }, "match"],
  ["int(key) % 0 == 0", { k: "7" }, "error"],
  ["int(key) % -1 == 0", { k: MIN }, "match"],
  ["int(key) % 3 == -1", { k: "-7" }, "match"],
  ["int(key) % -3 == 1", { k: "7" }, "match"],
  ["-int(key) > 0", { k: MIN }, "error"],
  ["-int(key) == 5", { k: "-5" }, "match"],
  ["int(key) % 100 < 10", { k: "1234509" }, "match"],
  // CEL's commutative && and ||: false/true absorb errors
  ["int(key) > 0 && false", { k: "x" }, "no"],
  ["false && int(key) > 0", { k: "x" }, "no"],
  ["int(key) > 0 && true", { k: "x" }, "error"],
  ["int(key) > 0 || true", { k: "x" }, "match"],
  ["true || int(key) > 0", { k: "x" }, "match"],
  ["int(key) > 0 || false", { k: "x" }, "error"],
  ["!(int(key) > 0)", { k: "x" }, "error"],
  ["!(int(key) > 0)", { k: "-1" }, "match"],
  ['(int(key) > 0 ? "pos" : "neg") == "pos"', { k: "3" }, "match"],
  ['(int(key) > 0 ? "pos" : "neg") == "pos"', { k: "x" }, "error"],
  ['(key == "a" ? int(key) : 1) == 1', { k: "b" }, "match"],
  // absent attributes
  ['request.query.missing == "a"', { k: "" }, "error"],
  ['key == ""', { k: "" }, "match"],
  ['key == "a"', {}, "no"],
  // IN_STRS / IN_INTS
  ['key in ["a", "b", "é"]', { k: "b" }, "match"],
  ['key in ["a", "b", "é"]', { k: "é" }, "match"],
  ['key in ["a", "b", "é"]', { k: "c" }, "no"],
  ['key in ["a", "b"]', {}, "no"],
  ["int(key) in [1, 2, -3]", { k: "-3" }, "match"],
  ["int(key) in [1, 2, -3]", { k: "4" }, "no"],
  ["int(key) in [1, 2, -3]", { k: "x" }, "error"],
  // string order is bytewise = code point order
  ['key < "b"', { k: "a" }, "match"],
  ['key < "b"', { k: "ba" }, "no"],
  ['key < "ab"', { k: "a" }, "match"],
  ['key <= "a"', { k: "a" }, "match"],
  ['key >= "é"', { k: "z" }, "no"],
  ['key > "z"', { k: "é" }, "match"],
  ['key > "\uffff"', { k: "😀" }, "match"], // U+1F600 > U+FFFF, unlike UTF-16 order
  ['key == "café"', { k: "café" }, "match"],
  ['key != "café"', { k: "cafe" }, "match"],
  // string functions
  ['key.startsWith("ab")', { k: "abc" }, "match"],
  ['key.startsWith("abcd")', { k: "abc" }, "no"],
  ['key.endsWith("bc")', { k: "abc" }, "match"],
  ['key.endsWith("xbc")', { k: "bc" }, "no"],
  ['key.contains("")', { k: "" }, "match"],
  ['key.contains("needle")', { k: "haystack with a needle in it" }, "match"],
  ['key.contains("needle")', { k: "haystack with a needl in it" }, "no"],
  ['key.contains("abcabcabcabcabcabcabcabd")', { k: `${"abc".repeat(30)}abd` }, "match"],
  ['key.contains("abcabcabcabcabcabcabcabd")', { k: "abc".repeat(30) }, "no"],
  ['key.startsWith("a")', {}, "no"],
  // SIZE counts code points
  ["size(key) == 4", { k: "café" }, "match"],
  ["size(key) == 2", { k: "日本" }, "match"],
  ["size(key) == 1", { k: "😀" }, "match"],
  ["size(key) == 0", { k: "" }, "match"],
  // request fields and other passways
  ['request.method == "POST"', { k: "" }, "no"],
  ['request.method == "GET"', { k: "" }, "match"],
  ['request.host == "api.example.com"', { k: "" }, "match"],
  ['request.path.startsWith("/c")', { k: "" }, "match"],
];

describe("conditions compiled from CEL", () => {
  let hot: HotPath;
  beforeAll(async () => {
    ({ hot } = await instantiate());
    const policies: PolicyConfig[] = CEL_CASES.map(([condition], i) => policy(i + 1, condition, "hit"));
    policies.push(policy(1000, 'request.header["x-user"] == "u1"', "hit"));
    policies.push(policy(1001, "key.contains(request.query.n)", "hit"));
    const file = write(
      {
        groups: [group(1, "main", [instance(1, 1)]), group(2, "hit", [instance(2, 1)])],
        policies,
        routes: policies.map((p) => route(p.id, "*", `/c${p.id}`, { match: "exact", policies: [p.name] })),
      },
      1n,
    );
    expect(hot.load(file).ok).toBe(true);
  });

  CEL_CASES.forEach(([condition, query, want], i) => {
    it(`${condition} with ${JSON.stringify(query)} → ${want}`, () => {
      expect(outcome(hot, `/c${i + 1}`, query)).toBe(want);
    });
  });

  it("a key read only by int() is an INT slot: no bytes for short decimals, the VM parses the rest", () => {
    const i = CEL_CASES.findIndex(([c]) => c === "int(key) == 9223372036854775807");
    const slot = hot.snapshot.slots[hot.snapshot.routes[i]?.firstSlot as number];
    expect(slot?.mode).toBe(8);
    // 19 digits: past the host's 15-digit parse, so the bytes go in and the VM parses them.
    expect(outcome(hot, `/c${i + 1}`, { k: MAX })).toBe("match");
    expect(outcome(hot, `/c${i + 1}`, { k: "9223372036854775806" })).toBe("no");
    expect(outcome(hot, `/c${i + 1}`, { k: "+9223372036854775807x" })).toBe("error");
  });

  it("reads headers by lowercase name", () => {
    expect(outcome(hot, "/c1000", { k: "" }, { "x-user": "u1" })).toBe("match");
    expect(outcome(hot, "/c1000", { k: "" }, { "x-user": "u2" })).toBe("no");
  });

  it("contains() agrees with String.includes on 3000 random haystack/needle pairs", () => {
    // A two-letter alphabet makes periodic needles and near misses common; needles of 17+ bytes
    // take the Two-Way path, shorter ones the direct scan.
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const word = (len: number) => Array.from({ length: len }, () => "ab"[rand(2)]).join("");
    for (let t = 0; t < 3000; t++) {
      const hay = word(rand(120));
      const needle = rand(3) === 0 && hay.length > 0 ? hay.slice(rand(hay.length)).slice(0, 1 + rand(40)) : word(1 + rand(40));
      const want: Outcome = hay.includes(needle) ? "match" : "no";
      if (outcome(hot, "/c1001", { k: hay, n: needle }) !== want) {
        expect({ hay, needle, got: outcome(hot, "/c1001", { k: hay, n: needle }) }).toEqual({ hay, needle, got: want });
      }
    }
  });
});
