/**
 * The condition VM (wasm/assembly/vm.ts) against docs/bytecode.md: CEL conditions compiled by
 * control's compiler and written by the real writer, then hand-assembled programs patched into a
 * written snapshot for what CEL cannot express (mixed types, malformed code), and a fuzz run
 * showing that no program makes the module trap.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { PolicyConfig } from "../control/snapshot/model.ts";
import { DecideStatus, type HotPath, LoadError } from "../wasm/host.ts";
import {
  asm,
  group,
  i64,
  instance,
  instantiate,
  policy,
  request,
  route,
  stringRef,
  u16,
  u32,
  withProgram,
  withVersion,
  write,
} from "./wasm-fixtures.ts";

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
  ["true", {}, "match"],
  ["false", {}, "no"],
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
  ['request.query.missing == "a"', {}, "error"],
  ['key == ""', { k: "" }, "match"],
  ['key == "a"', {}, "error"],
  // IN_STRS / IN_INTS
  ['key in ["a", "b", "é"]', { k: "b" }, "match"],
  ['key in ["a", "b", "é"]', { k: "é" }, "match"],
  ['key in ["a", "b", "é"]', { k: "c" }, "no"],
  ['key in ["a", "b"]', {}, "error"],
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
  ['key.startsWith("a")', {}, "error"],
  // SIZE counts code points
  ["size(key) == 4", { k: "café" }, "match"],
  ["size(key) == 2", { k: "日本" }, "match"],
  ["size(key) == 1", { k: "😀" }, "match"],
  ["size(key) == 0", { k: "" }, "match"],
  // request fields and other passways
  ['request.method == "POST"', {}, "no"],
  ['request.method == "GET"', {}, "match"],
  ['request.host == "api.example.com"', {}, "match"],
  ['request.path.startsWith("/c")', {}, "match"],
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

  it("reads headers by lowercase name", () => {
    expect(outcome(hot, "/c1000", {}, { "x-user": "u1" })).toBe("match");
    expect(outcome(hot, "/c1000", {}, { "x-user": "u2" })).toBe("no");
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

// Hand-assembled programs, written over the placeholder policy's program (400+ bytes).
const PLACEHOLDER = `key in [${Array.from({ length: 50 }, (_, i) => `"s${i}"`).join(", ")}, "abc", "ab", "é"]`;
const OP = {
  RET: 0x00,
  PUSH_BOOL: 0x01,
  PUSH_INT: 0x02,
  PUSH_STR: 0x03,
  LOAD_ATTR: 0x04,
  HAS_ATTR: 0x05,
  LOAD_REQ: 0x06,
  INT: 0x10,
  ADD: 0x20,
  DIV: 0x23,
  MOD: 0x24,
  EQ: 0x30,
  NE: 0x31,
  LT: 0x32,
  NOT: 0x40,
  AND: 0x41,
  OR: 0x42,
  JUMP_IF_FALSE: 0x43,
  JUMP_IF_TRUE: 0x44,
  JUMP: 0x45,
  SELECT: 0x46,
  IN_STRS: 0x50,
  IN_INTS: 0x51,
  STARTS_WITH: 0x60,
  SIZE: 0x63,
} as const;

describe("hand-assembled programs", () => {
  let hot: HotPath;
  let version = 1n;
  const base = write(
    {
      groups: [group(1, "main", [instance(1, 1)]), group(2, "hit", [instance(2, 1)])],
      policies: [policy(1, PLACEHOLDER, "hit")],
      routes: [route(1, "*", "/", { policies: ["p1"] })],
    },
    1n,
  );
  const str = (s: string) => {
    const r = stringRef(base, s);
    return asm(OP.PUSH_STR, u32(r.offset), u32(r.length));
  };
  const TRUE = [OP.PUSH_BOOL, 1];
  const FALSE = [OP.PUSH_BOOL, 0];
  const ERROR = [OP.LOAD_ATTR, ...u16(0)]; // attribute 0 (query k) is absent in these requests
  const int = (v: bigint) => asm(OP.PUSH_INT, i64(v));

  beforeAll(async () => {
    ({ hot } = await instantiate());
  });

  /** Loads `code` as policy 0's program; the load's error code, or the outcome of a request. */
  function run(code: number[], query: Record<string, string> = {}): Outcome | number {
    version += 1n;
    const loaded = hot.load(withVersion(withProgram(base, 0, code), version));
    if (!loaded.ok) return loaded.code;
    return outcome(hot, "/", query);
  }

  const cases: [string, number[], Outcome | number, Record<string, string>?][] = [
    ["RET true", asm(TRUE, OP.RET), "match"],
    ["EQ across types is false, not an error", asm(int(1n), str("abc"), OP.EQ, OP.RET), "no"],
    ["NE across types is true", asm(int(1n), str("abc"), OP.NE, OP.RET), "match"],
    ["EQ with an error is an error", asm(ERROR, str("abc"), OP.EQ, OP.RET), "error"],
    ["NE with an error stays an error", asm(str("abc"), ERROR, OP.NE, OP.RET), "error"],
    ["bool EQ", asm(TRUE, TRUE, OP.EQ, OP.RET), "match"],
    ["ordering bools is an error", asm(FALSE, TRUE, OP.LT, OP.RET), "error"],
    ["ordering int against string is an error", asm(int(1n), str("abc"), OP.LT, OP.RET), "error"],
    ["string order", asm(str("ab"), str("abc"), OP.LT, OP.RET), "match"],
    ["error AND false = false", asm(ERROR, FALSE, OP.AND, OP.RET), "no"],
    ["false AND error = false", asm(FALSE, ERROR, OP.AND, OP.RET), "no"],
    ["error AND true = error", asm(ERROR, TRUE, OP.AND, OP.RET), "error"],
    ["int AND false = false", asm(int(1n), FALSE, OP.AND, OP.RET), "no"],
    ["int AND true = error", asm(int(1n), TRUE, OP.AND, OP.RET), "error"],
    ["error OR true = true", asm(ERROR, TRUE, OP.OR, OP.RET), "match"],
    ["true OR error = true", asm(TRUE, ERROR, OP.OR, OP.RET), "match"],
    ["error OR false = error", asm(ERROR, FALSE, OP.OR, OP.RET), "error"],
    ["NOT of an int is an error", asm(int(0n), OP.NOT, OP.RET), "error"],
    ["INT of an int is itself", asm(int(7n), OP.INT, int(7n), OP.EQ, OP.RET), "match"],
    ["INT of a bool is an error", asm(TRUE, OP.INT, OP.RET), "error"],
    ["ADD of strings is an error", asm(str("ab"), str("ab"), OP.ADD, OP.RET), "error"],
    ["MIN / -1 is an error", asm(int(-(2n ** 63n)), int(-1n), OP.DIV, OP.RET), "error"],
    ["MIN % -1 is 0", asm(int(-(2n ** 63n)), int(-1n), OP.MOD, int(0n), OP.EQ, OP.RET), "match"],
    ["SELECT true picks a", asm(TRUE, str("ab"), ERROR, OP.SELECT, str("ab"), OP.EQ, OP.RET), "match"],
    ["SELECT false picks b", asm(FALSE, ERROR, TRUE, OP.SELECT, OP.RET), "match"],
    ["SELECT on an int is an error", asm(int(1n), TRUE, TRUE, OP.SELECT, OP.RET), "error"],
    ["SELECT may return an error", asm(TRUE, ERROR, TRUE, OP.SELECT, OP.RET), "error"],
    ["IN_STRS of an int is false", asm(int(1n), OP.IN_STRS, u32(0), OP.NOT, OP.RET), "match"],
    ["IN_INTS of a string is false", asm(str("ab"), OP.IN_INTS, u32(1), i64(1n), OP.NOT, OP.RET), "match"],
    ["IN_INTS of an error is an error", asm(ERROR, OP.IN_INTS, u32(1), i64(1n), OP.RET), "error"],
    ["IN_INTS finds", asm(int(-5n), OP.IN_INTS, u32(2), i64(1n), i64(-5n), OP.RET), "match"],
    ["STARTS_WITH on an int is an error", asm(int(1n), str("a"), OP.STARTS_WITH, OP.RET), "error"],
    ["SIZE of an int is an error", asm(int(1n), OP.SIZE, OP.RET), "error"],
    ["HAS_ATTR of an absent attribute", asm(OP.HAS_ATTR, u16(0), OP.NOT, OP.RET), "match"],
    ["HAS_ATTR of an empty attribute", asm(OP.HAS_ATTR, u16(0), OP.RET), "match", { k: "" }],
    ["JUMP_IF_FALSE keeps the top", asm(FALSE, OP.JUMP_IF_FALSE, u32(10), TRUE, OP.NOT, OP.RET), "no"],
    ["JUMP_IF_TRUE keeps the top", asm(TRUE, OP.JUMP_IF_TRUE, u32(10), FALSE, OP.AND, OP.RET), "match"],
    ["JUMP skips", asm(OP.JUMP, u32(7), FALSE, TRUE, OP.RET), "match"],
    // Malformed at run time: the program ends with an error, the module does not trap.
    ["RET of an int is an error", asm(int(1n), OP.RET), "error"],
    ["RET on an empty stack", asm(OP.RET), "error"],
    ["running off the end", asm(TRUE), "error"],
    ["empty program", [], "error"],
    ["stack underflow", asm(TRUE, OP.AND, OP.RET), "error"],
    ["stack overflow at 65 values", asm(...Array.from({ length: 65 }, () => TRUE), OP.RET), "error"],
    ["64 values fit", asm(...Array.from({ length: 64 }, () => TRUE), OP.RET), "match"],
    // JUMP to 6, inside PUSH_INT's operand, whose bytes decode as PUSH_STR far outside STRINGS.
    ["jump into operands reads garbage safely", asm(OP.JUMP, u32(6), OP.PUSH_INT, OP.PUSH_STR, u32(0x7fffffff), 0, 0, 0, OP.RET), "error"],
    // Refused at load.
    ["unknown opcode", asm(0xff, OP.RET), LoadError.BAD_CODE],
    ["truncated operand", asm(OP.PUSH_INT, 1, 2, 3), LoadError.BAD_CODE],
    ["backward jump", asm(TRUE, OP.JUMP, u32(0), OP.RET), LoadError.BAD_CODE],
    ["jump past the end", asm(OP.JUMP, u32(99), OP.RET), LoadError.BAD_CODE],
    ["attribute index out of range", asm(OP.LOAD_ATTR, u16(9), OP.RET), LoadError.BAD_CODE],
    ["LOAD_REQ field 3", asm(OP.LOAD_REQ, 3, OP.RET), LoadError.BAD_CODE],
    ["PUSH_BOOL 2", asm(OP.PUSH_BOOL, 2, OP.RET), LoadError.BAD_CODE],
    ["string outside STRINGS", asm(OP.PUSH_STR, u32(0), u32(4), OP.RET), LoadError.BAD_CODE],
    ["IN_STRS count past the end", asm(TRUE, OP.IN_STRS, u32(1000), OP.RET), LoadError.BAD_CODE],
  ];
  for (const [name, code, want, query] of cases) {
    it(name, () => {
      expect(run(code, query)).toBe(want);
    });
  }

  it("no well-formed program makes the module trap (600 random programs)", () => {
    let seed = 99;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const ops = [
      0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x10, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x40, 0x41,
      0x42, 0x43, 0x44, 0x45, 0x46, 0x50, 0x51, 0x60, 0x61, 0x62, 0x63,
    ];
    const ints = [0n, 1n, -1n, 7n, 2n ** 63n - 1n, -(2n ** 63n)];
    const outcomes = new Set<Outcome | number>();
    for (let t = 0; t < 600; t++) {
      const code: number[] = [];
      const jumps: number[] = [];
      for (let n = 1 + rand(40); n > 0; n--) {
        const op = ops[rand(ops.length)] as number;
        code.push(op);
        if (op === 0x01) code.push(rand(2));
        else if (op === 0x02) code.push(...i64(ints[rand(ints.length)] as bigint));
        else if (op === 0x03) code.push(...str(["abc", "ab", "é", "s1"][rand(4)] as string).slice(1));
        else if (op === 0x04 || op === 0x05) code.push(...u16(rand(hot.snapshot.attributes.length)));
        else if (op === 0x06) code.push(rand(3));
        else if (op >= 0x43 && op <= 0x45) {
          jumps.push(code.length);
          code.push(0, 0, 0, 0);
        } else if (op === 0x50 || op === 0x51) {
          const count = rand(3);
          code.push(...u32(count));
          for (let i = 0; i < count; i++) code.push(...(op === 0x50 ? str("ab").slice(1) : i64(ints[rand(ints.length)] as bigint)));
        }
      }
      if (rand(2)) code.push(OP.PUSH_BOOL, rand(2)); // so some programs end in a bool
      code.push(OP.RET);
      // Forward targets anywhere, including inside other instructions' operands.
      for (const at of jumps) code.splice(at, 4, ...u32(at + 4 + rand(code.length - at - 4)));
      const query: Record<string, string> = rand(2) ? { k: ["1", "x", "", "é", MIN][rand(5)] as string } : {};
      const got = run(code, query);
      outcomes.add(got);
      expect(["match", "no", "error"]).toContain(got);
    }
    expect([...outcomes].sort()).toEqual(["error", "match", "no"]);
  });
});
