/**
 * Stored IR (wasm/cel/ir-codec.ts): what admission keeps with a policy must decode to the
 * very IR lowering produces, through a JSON round trip as the database stores it, and anything
 * else must decode to null so the build lowers the source instead. A limit key's program
 * (encodeIr / decodeIr, as the PLUGINS section carries it) round-trips the same way, and
 * decodeIr refuses a tree the checker could not have built, naming the field (ir-shape.ts).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { benchPolicies } from "../../../bench/policy-cases.ts";
import { keyAttribute, lowerCondition, lowerExpression, lowerLimitKey } from "../../../control/compiler/index.ts";
import { decodeIr, decodeStoredIr, encodeIr, encodeStoredIr, STORED_IR_VERSION } from "../../../wasm/cel/ir-codec.ts";
import { IrShapeError } from "../../../wasm/cel/ir-shape.ts";
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

describe("limit key programs (encodeIr / decodeIr)", () => {
  it("round-trip generated expressions of every type through JSON, without folding too", () => {
    fc.assert(
      fc.property(boolE(3), fc.boolean(), (g, fold) => {
        const ir = lowerExpression(g.src, { fold });
        expect(decodeIr(viaDatabase(encodeIr(ir)))).toEqual(ir);
      }),
      { numRuns: 300 },
    );
  });

  it("round-trip limit keys: concatenation, conversions, DFAs, CIDRs, buckets, 64-bit constants", () => {
    for (const source of [
      'request.header["x-tenant"] + ":" + request.ip',
      "int(request.query.page) + 9223372036854775806",
      "uint(request.cookie.shard) % 18446744073709551615u",
      'request.path.matches("^/v[0-9]+/") ? "versioned" : request.path',
      'cidr("10.0.0.0/8").contains(request.ip) ? "internal" : request.ip',
      "string(bucket(request.consumer.name, 8))",
    ]) {
      const ir = lowerLimitKey(source);
      expect(decodeIr(viaDatabase(encodeIr(ir))), source).toEqual(ir);
    }
  });

  const attr = (source: string, name: string) => ({ kind: "attr", type: "string", attr: { source, name } });
  const str = (value: string) => ({ kind: "const", type: "string", value });
  const int = (value: string) => ({ kind: "const", type: "int", value: { $int: value } });
  it.each<[string, unknown, string]>([
    // [case, encoded program, message]
    ["not an object", 3, "program: not an object"],
    ["unknown kind", { kind: "eval", type: "string" }, "program: unknown IR kind eval"],
    ["unknown type", { kind: "const", type: "bytes", value: "x" }, "program.type: "],
    ["constant of another type", { kind: "const", type: "int", value: 3 }, "program.value: not a int constant"],
    ["int out of range", int("9223372036854775808"), "program.value: not a int constant"],
    ["damaged $int", { kind: "const", type: "int", value: { $int: "x" } }, "program: "],
    ["unknown source", attr("env", "HOME"), "program.attr.source: "],
    ["attr name", { kind: "attr", type: "string", attr: { source: "header" } }, "program.attr.name: not a string"],
    ["child missing", { kind: "concat", type: "string", left: str("a") }, "program.right: not an object"],
    [
      "child of another type",
      { kind: "concat", type: "string", left: str("a"), right: int("1") },
      "program.right: has type int, not string",
    ],
    ["node of another type", { kind: "concat", type: "int", left: str("a"), right: str("b") }, "program.type: int is not a type of concat"],
    ["% on doubles", { kind: "arith", type: "double", op: "mod", left: int("1"), right: int("2") }, "program.op: "],
    ["compare mixed", { kind: "compare", type: "bool", op: "eq", left: str("a"), right: int("1") }, "program.right: has type int"],
    ["request field", { kind: "request", type: "string", field: "body" }, "program.field: "],
    [
      "list element of another type",
      { kind: "inList", type: "bool", arg: attr("query", "a"), values: [{ type: "int", value: { $int: "1" } }] },
      "program.values[0]: not a string",
    ],
    [
      "DFA target out of range",
      {
        kind: "matches",
        type: "bool",
        arg: attr("query", "a"),
        pattern: "a",
        dfa: { stateCount: 1, classCount: 1, classMap: { $u8: btoa("\0".repeat(256)) }, flags: { $u8: "AA==" }, next: { $u16: "AQA=" } },
      },
      "program.dfa.next: a target beyond stateCount",
    ],
    [
      "CIDR prefix too long",
      {
        kind: "cidr",
        type: "bool",
        arg: attr("client", "ip"),
        cidr: { family: 4, prefix: 33, bytes: { $u8: btoa("\0".repeat(16)) }, text: "x" },
      },
      "program.cidr.prefix: not a prefix length of IPv4",
    ],
  ])("decodeIr refuses %s", (_, encoded, message) => {
    expect(() => decodeIr(encoded, "program")).toThrow(IrShapeError);
    expect(() => decodeIr(encoded, "program")).toThrow(message);
  });
});
