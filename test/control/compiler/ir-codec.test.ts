/**
 * Stored IR (control/compiler/ir-codec.ts): what admission keeps with a policy must decode to the
 * very IR lowering produces, through a JSON round trip as the database stores it, and anything
 * else must decode to null so the build lowers the source instead.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { benchPolicies } from "../../../bench/policy-cases.ts";
import { keyAttribute, lowerCondition } from "../../../control/compiler/index.ts";
import { decodeStoredIr, encodeStoredIr, STORED_IR_VERSION } from "../../../control/compiler/ir-codec.ts";
import { boolE } from "../../support/condition-gen.ts";

const KEY = keyAttribute("header", "X-A");
const viaDatabase = (value: unknown) => JSON.parse(JSON.stringify(value));

describe("stored IR", () => {
  it("round-trips generated conditions through JSON unchanged", () => {
    fc.assert(
      fc.property(boolE(3), (g) => {
        const ir = lowerCondition(g.src, KEY);
        expect(decodeStoredIr(viaDatabase(encodeStoredIr(ir, KEY)), KEY)).toEqual(ir);
      }),
      { numRuns: 500 },
    );
  });

  it("round-trips DFAs, CIDRs, buckets and 64-bit constants", () => {
    const sources = [
      ...benchPolicies(11).map((p) => p.condition),
      'key.matches("^(a|b)+[0-9]{2,4}$")',
      'cidr("2001:db8::/32").contains(request.ip)',
      "int(key) == -9223372036854775808 || uint(key) == 18446744073709551615u",
    ];
    for (const source of sources) {
      const ir = lowerCondition(source, KEY);
      const back = decodeStoredIr(viaDatabase(encodeStoredIr(ir, KEY)), KEY);
      expect(back, source).toEqual(ir);
    }
  });

  it("writes no string jsonb refuses: U+0000 and lone surrogates", () => {
    // PostgreSQL's jsonb rejects "\u0000" and unpaired surrogate escapes in any string.
    const jsonbSafe = (json: string) => !/\\u0000|\\ud[89a-f][0-9a-f]{2}/i.test(json);
    for (const source of ['key != "a\\x00b" && request.query["\\u0000"] == "\\U0001F600"', 'key == "\ud800"']) {
      const key = keyAttribute("query", "k\u0000");
      const ir = lowerCondition(source, key);
      const json = JSON.stringify(encodeStoredIr(ir, key));
      expect(jsonbSafe(json), json).toBe(true);
      expect(decodeStoredIr(JSON.parse(json), key), source).toEqual(ir);
      expect(decodeStoredIr(JSON.parse(json), keyAttribute("query", "k")), source).toBeNull();
    }
  });

  it("refuses another version, another key, damage and non-objects", () => {
    const ir = lowerCondition('key == "1"', KEY);
    const stored = viaDatabase(encodeStoredIr(ir, KEY));
    expect(decodeStoredIr({ ...stored, v: STORED_IR_VERSION + 1 }, KEY)).toBeNull();
    expect(decodeStoredIr(stored, keyAttribute("query", "X-A"))).toBeNull();
    expect(decodeStoredIr({ ...stored, ir: { ...stored.ir, kind: "eval" } }, KEY)).toBeNull();
    expect(decodeStoredIr({ ...stored, ir: { kind: "const", type: "int", value: { $int: "x" } } }, KEY)).toBeNull();
    expect(decodeStoredIr({ ...stored, ir: { kind: "attr", type: "string", attr: KEY } }, KEY)).toBeNull(); // not a condition
    for (const bad of [null, undefined, 3, "ir", []]) expect(decodeStoredIr(bad, KEY)).toBeNull();
  });
});
