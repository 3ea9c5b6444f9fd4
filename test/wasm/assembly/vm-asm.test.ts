/**
 * Hand-assembled route programs (docs/bytecode.md) written over a compiled route's program in a
 * real snapshot: what CEL cannot express (mixed types, odd stack shapes) runs with the
 * documented result, and everything the loader's verifier must refuse is refused. Then random
 * well-formed programs and random byte mutations of compiled ones: the module never traps.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { ARITH_CODE, CMP, DATA_KIND, FUSED_MATCH, OP } from "../../../control/compiler/opcodes.ts";
import { DecideStatus, type HotPath, LoadError } from "../../../wasm/host.ts";
import {
  asm,
  dataObjects,
  group,
  i64,
  instance,
  instantiate,
  policy,
  RECORD,
  request,
  route,
  stringRef,
  u16,
  u32,
  withRouteProgram,
  withVersion,
  write,
} from "../../support/wasm-fixtures.ts";

type Outcome = "match" | "no" | "error";

// Route "/" (ROUTES index 0 — routes sort exact before prefix; both are prefix, longest first
// — see below) reads three slots: 0 = query k (bytes), 1 = header x-i (interned), 2 = query d
// (double). Its compiled program is long, so hand-written ones fit over it.
const PLACEHOLDER = [
  ...Array.from({ length: 40 }, (_, i) => `key.startsWith("s${i}")`),
  'request.header["x-i"] == "abc"',
  "double(request.query.d) > 0.5",
].join(" || ");
const DATA_ROUTE = [
  'key in ["abc", "ab"]',
  "int(key) in [1, -5]",
  "uint(key) in [1u]",
  'request.header["x-i"] in ["abc", "é"]',
  'key.matches("^a+$")',
  'cidr("10.0.0.0/8").contains(key)',
  "double(request.query.d) in [0.5, 1.5]",
  "has(request.query.k) in [true]",
  'key in ["-9223372036854775808", "18446744073709551615", "false", "GET", "/"]',
].join(" || ");
const BASE = write(
  {
    groups: [group(1, "main", [instance(1, 1)]), group(2, "hit", [instance(2, 1)])],
    policies: [
      policy(1, PLACEHOLDER, "hit"),
      policy(2, DATA_ROUTE, "hit"),
      ...[3, 4, 5].map((id) => policy(id, `request.header["x-i"] == "v${id}"`, "hit", { passway: "header", key: "x-i" })),
    ],
    routes: [
      route(1, "*", "/", { policies: ["p1"] }),
      route(2, "*", "/data", { policies: ["p2"] }),
      route(3, "*", "/switch", { policies: ["p3", "p4", "p5"] }),
    ],
  },
  1n,
);
/** ROUTES index of "/" — prefix routes are ordered longest first, so "/" is last. */
const ROOT = 2;
const objects = dataObjects(BASE);
const obj = (kind: number) => {
  const o = objects.find((x) => x.kind === kind);
  if (!o) throw new Error(`no DATA object of kind ${kind}`);
  return u32(o.offset);
};

const str = (s: string) => {
  const r = stringRef(BASE, s);
  return asm(OP.PUSH_STR, u32(r.offset), u32(r.length));
};
const T = [OP.PUSH_TRUE];
const F = [OP.PUSH_FALSE];
const E = [OP.PUSH_ERROR];
const int = (v: bigint) => asm(OP.PUSH_INT, i64(v));
const uint = (v: bigint) => asm(OP.PUSH_UINT, i64(v));
const dbl = (d: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, d, true);
  return asm(OP.PUSH_DOUBLE, Array.from(b));
};
/** MATCH binding 0, then END: the program's verdict. */
const M = asm(OP.MATCH, u16(0), OP.END);
const MIN = -(2n ** 63n);
const U64_MAX = 2n ** 64n - 1n;

function sectionOf(id: number): { offset: number; length: number } {
  const v = new DataView(BASE.buffer, BASE.byteOffset);
  for (let i = 0; i < v.getUint32(20, true); i++) {
    const e = 64 + i * 12;
    if (v.getUint32(e, true) === id) return { offset: v.getUint32(e + 4, true), length: v.getUint32(e + 8, true) };
  }
  throw new Error(`section ${id}`);
}
/** Interned constants of BASE: id = position in INTERN + 1. */
const INTERN_IDS = (() => {
  const v = new DataView(BASE.buffer, BASE.byteOffset);
  const decoder = new TextDecoder();
  const ids = new Map<string, number>();
  const { offset, length } = sectionOf(13);
  for (let i = 0; i < length / 8; i++) {
    const at = v.getUint32(offset + i * 8, true);
    ids.set(decoder.decode(BASE.subarray(at, at + v.getUint32(offset + i * 8 + 4, true))), i + 1);
  }
  return ids;
})();
const idOf = (s: string) => {
  const id = INTERN_IDS.get(s);
  if (!id) throw new Error(`"${s}" is not interned`);
  return id;
};
/** `cond ? true : false`-shaped BR3 program (else-branch false, error-branch PUSH_ERROR), then MATCH. */
const br3 = (cond: number[]) => {
  const L = cond.length;
  return asm(cond, OP.BR3, u32(L + 15), u32(L + 21), T, OP.JUMP, u32(L + 22), F, OP.JUMP, u32(L + 22), OP.PUSH_ERROR, M);
};

let hot: HotPath;
let version = 1n;

beforeAll(async () => {
  ({ hot } = await instantiate());
  expect(hot.load(BASE).ok).toBe(true);
  expect(hot.snapshot.routes[ROOT]?.slotCount).toBe(3);
  expect(hot.snapshot.slots.slice(hot.snapshot.routes[ROOT]?.firstSlot).slice(0, 3)).toEqual([
    { source: 0, name: "k", mode: 1 },
    { source: 1, name: "x-i", mode: 2 },
    { source: 0, name: "d", mode: 4 },
  ]);
});

/** Loads `code` as route "/"'s program; the load's error code, or the outcome of a request. */
function run(code: number[], attributes: Record<string, string> = {}): Outcome | number {
  version += 1n;
  const loaded = hot.load(withVersion(withRouteProgram(BASE, ROOT, code), version));
  if (!loaded.ok) return loaded.code;
  const r = hot.decide(request("a.test", "/", attributes));
  expect(r.status).toBe(DecideStatus.OK);
  if (r.policy >= 0) return "match";
  return r.conditionErrors > 0 ? "error" : "no";
}

describe("hand-assembled programs run as docs/bytecode.md says", () => {
  const cases: [string, number[], Outcome, Record<string, string>?][] = [
    ["MATCH true", asm(T, M), "match"],
    ["MATCH false", asm(F, M), "no"],
    ["MATCH error counts", asm(E, M), "error"],
    ["MATCH of an int counts as an error", asm(int(1n), M), "error"],
    ["END without a match", asm(OP.END), "no"],
    ["EQ across types is false, not an error", asm(int(1n), str("abc"), OP.EQ, M), "no"],
    ["NE across types is true", asm(int(1n), str("abc"), OP.NE, M), "match"],
    ["EQ with an error is an error", asm(E, str("abc"), OP.EQ, M), "error"],
    ["NE with an error stays an error", asm(str("abc"), E, OP.NE, M), "error"],
    ["bools order false < true", asm(F, T, OP.LT, M), "match"],
    ["ordering int against string is an error", asm(int(1n), str("abc"), OP.LT, M), "error"],
    ["string order", asm(str("ab"), str("abc"), OP.LT, M), "match"],
    ["error AND false = false", asm(E, F, OP.AND, M), "no"],
    ["false AND error = false", asm(F, E, OP.AND, M), "no"],
    ["error AND true = error", asm(E, T, OP.AND, M), "error"],
    ["int AND false = false", asm(int(1n), F, OP.AND, M), "no"],
    ["int AND true = error", asm(int(1n), T, OP.AND, M), "error"],
    ["error OR true = true", asm(E, T, OP.OR, M), "match"],
    ["error OR false = error", asm(E, F, OP.OR, M), "error"],
    ["NOT of an int is an error", asm(int(0n), OP.NOT, M), "error"],
    ["TO_INT of an int is itself", asm(int(7n), OP.TO_INT, int(7n), OP.EQ, M), "match"],
    ["TO_INT of a bool is an error", asm(T, OP.TO_INT, M), "error"],
    ["TO_INT of 2.9 truncates", asm(dbl(2.9), OP.TO_INT, int(2n), OP.EQ, M), "match"],
    ["TO_INT of -2.9 truncates toward zero", asm(dbl(-2.9), OP.TO_INT, int(-2n), OP.EQ, M), "match"],
    ["TO_INT of -2^63 (as a double) is an error, as cel-go", asm(dbl(-(2 ** 63)), OP.TO_INT, M), "error"],
    ["TO_INT of 1e19 is an error", asm(dbl(1e19), OP.TO_INT, M), "error"],
    ["TO_INT of NaN is an error", asm(dbl(Number.NaN), OP.TO_INT, M), "error"],
    ["TO_INT of uint 2^63 is an error", asm(uint(2n ** 63n), OP.TO_INT, M), "error"],
    ["TO_UINT of int -1 is an error", asm(int(-1n), OP.TO_UINT, M), "error"],
    ["TO_UINT of -0.5 is an error", asm(dbl(-0.5), OP.TO_UINT, M), "error"],
    ["TO_UINT of -0.0 is 0", asm(dbl(-0), OP.TO_UINT, uint(0n), OP.EQ, M), "match"],
    ["TO_DOUBLE of uint max rounds to 2^64", asm(uint(U64_MAX), OP.TO_DOUBLE, dbl(2 ** 64), OP.EQ, M), "match"],
    ["TO_STRING of MIN", asm(int(MIN), OP.TO_STRING, str("-9223372036854775808"), OP.EQ, M), "match"],
    ["TO_STRING of uint max", asm(uint(U64_MAX), OP.TO_STRING, str("18446744073709551615"), OP.EQ, M), "match"],
    ["TO_STRING of false", asm(F, OP.TO_STRING, str("false"), OP.EQ, M), "match"],
    ["TO_STRING of a double is an error (outside the subset)", asm(dbl(1.5), OP.TO_STRING, M), "error"],
    ["ADD of strings is an error", asm(str("ab"), str("ab"), OP.ADD, M), "error"],
    ["ADD of int and uint is an error", asm(int(1n), uint(1n), OP.ADD, M), "error"],
    ["MIN / -1 is an error", asm(int(MIN), int(-1n), OP.DIV, M), "error"],
    ["MIN % -1 is 0", asm(int(MIN), int(-1n), OP.MOD, int(0n), OP.EQ, M), "match"],
    ["uint max + 1 is an error", asm(uint(U64_MAX), uint(1n), OP.ADD, M), "error"],
    ["uint 0 - 1 is an error", asm(uint(0n), uint(1n), OP.SUB, M), "error"],
    ["uint 2^32 * 2^32 is an error", asm(uint(2n ** 32n), uint(2n ** 32n), OP.MUL, M), "error"],
    ["uint % 0 is an error", asm(uint(5n), uint(0n), OP.MOD, M), "error"],
    ["uint order is unsigned", asm(uint(2n ** 63n), uint(1n), OP.GT, M), "match"],
    ["double 1 / 0 is +Inf, not an error", asm(dbl(1), dbl(0), OP.DIV, dbl(1e308), OP.GT, M), "match"],
    ["double % is an error", asm(dbl(5), dbl(2), OP.MOD, M), "error"],
    ["NaN < 1 is false", asm(dbl(Number.NaN), dbl(1), OP.LT, M), "no"],
    ["NaN != NaN", asm(dbl(Number.NaN), dbl(Number.NaN), OP.NE, M), "match"],
    ["-0.0 == 0.0", asm(dbl(-0), dbl(0), OP.EQ, M), "match"],
    ["NEG of a double", asm(dbl(1.5), OP.NEG, dbl(-1.5), OP.EQ, M), "match"],
    ["NEG of MIN is an error", asm(int(MIN), OP.NEG, M), "error"],
    ["NEG of a uint is an error", asm(uint(1n), OP.NEG, M), "error"],
    ["BR3 true takes the first branch", br3(T), "match"],
    ["BR3 false takes the second", br3(F), "no"],
    ["BR3 on an int takes the error branch", br3(int(1n)), "error"],
    ["BR3 on an error takes the error branch", br3(E), "error"],
    ["IN of an int in a string set is false", asm(int(1n), OP.IN, obj(DATA_KIND.STRS), OP.NOT, M), "match"],
    ["IN of a string in an int set is false", asm(str("ab"), OP.IN, obj(DATA_KIND.INTS), OP.NOT, M), "match"],
    ["IN of an error is an error", asm(E, OP.IN, obj(DATA_KIND.INTS), M), "error"],
    ["IN finds -5", asm(int(-5n), OP.IN, obj(DATA_KIND.INTS), M), "match"],
    ["IN finds a string", asm(str("ab"), OP.IN, obj(DATA_KIND.STRS), M), "match"],
    ["IN finds a uint", asm(uint(1n), OP.IN, obj(DATA_KIND.UINTS), M), "match"],
    ["IN finds a double", asm(dbl(1.5), OP.IN, obj(DATA_KIND.DOUBLES), M), "match"],
    ["IN finds a bool", asm(T, OP.IN, obj(DATA_KIND.BOOLS), M), "match"],
    ["STARTS on an int is an error", asm(int(1n), str("a"), OP.STARTS, M), "error"],
    ["SIZE of an int is an error", asm(int(1n), OP.SIZE, M), "error"],
    ["MATCHES on an int is an error", asm(int(1n), OP.MATCHES, obj(DATA_KIND.DFA), M), "error"],
    ["CIDR of a non-address is an error", asm(str("abc"), OP.CIDR, obj(DATA_KIND.CIDR), M), "error"],
    ["BUCKET with n = 0 is an error", asm(str("abc"), int(0n), OP.BUCKET, M), "error"],
    ["HAS of an absent slot", asm(OP.HAS, 0, OP.NOT, M), "match"],
    ["HAS of an empty value", asm(OP.HAS, 0, M), "match", { "0:k": "" }],
    ["LOAD of an absent slot is an error", asm(OP.LOAD, 0, M), "error"],
    ["LOAD_INT parses", asm(OP.LOAD_INT, 0, int(-42n), OP.EQ, M), "match", { "0:k": "-42" }],
    ["LOAD_UINT refuses a sign", asm(OP.LOAD_UINT, 0, M), "error", { "0:k": "+1" }],
    ["LOAD_DOUBLE reads the host's parse", asm(OP.LOAD_DOUBLE, 2, dbl(0.75), OP.EQ, M), "match", { "0:d": "0.75" }],
    ["LOAD_DOUBLE of an unparsable value is an error", asm(OP.LOAD_DOUBLE, 2, M), "error", { "0:d": "0x1p-2" }],
    ["F_EQ_ID compares intern ids", asm(OP.F_EQ_ID, 1, u32(idOf("abc")), M), "match", { "1:x-i": "abc" }],
    ["F_EQ_ID of an unknown value is false", asm(OP.F_EQ_ID, 1, u32(idOf("abc")), M), "no", { "1:x-i": "zzz" }],
    ["F_EQ_ID + MATCH in one instruction", asm(OP.F_EQ_ID + FUSED_MATCH, 1, u32(idOf("abc")), u16(0), OP.END), "match", { "1:x-i": "abc" }],
    ["F_INT_ARITH_CMP % 0 is an error", asm(OP.F_INT_ARITH_CMP, 0, ARITH_CODE.mod, i64(0n), CMP.eq, i64(0n), M), "error", { "0:k": "7" }],
    [
      "F_INT_ARITH_CMP % -3 (64-bit path)",
      asm(OP.F_INT_ARITH_CMP, 0, ARITH_CODE.mod, i64(-3n), CMP.eq, i64(-1n), M),
      "match",
      { "0:k": "-7" },
    ],
    [
      "F_INT_ARITH_CMP % 3 (32-bit path)",
      asm(OP.F_INT_ARITH_CMP, 0, ARITH_CODE.mod, i64(3n), CMP.eq, i64(-1n), M),
      "match",
      { "0:k": "-7" },
    ],
    [
      "F_INT_ARITH_CMP MIN % -1 is 0",
      asm(OP.F_INT_ARITH_CMP, 0, ARITH_CODE.mod, i64(-1n), CMP.eq, i64(0n), M),
      "match",
      { "0:k": String(MIN) },
    ],
    [
      "F_INT_ARITH_CMP MIN / -1 is an error",
      asm(OP.F_INT_ARITH_CMP, 0, ARITH_CODE.div, i64(-1n), CMP.eq, i64(0n), M),
      "error",
      { "0:k": String(MIN) },
    ],
    ["F_INT_ARITH_CMP / truncates", asm(OP.F_INT_ARITH_CMP, 0, ARITH_CODE.div, i64(2n), CMP.eq, i64(-3n), M), "match", { "0:k": "-7" }],
    [
      "F_INT_ARITH_CMP + overflows",
      asm(OP.F_INT_ARITH_CMP, 0, ARITH_CODE.add, i64(1n), CMP.gt, i64(0n), M),
      "error",
      { "0:k": String(-MIN - 1n) },
    ],
    ["F_REQ_EQ on the method", asm(OP.F_REQ_EQ, 0, str("GET").slice(1), M), "match"],
    ["F_REQ_STARTS on the path", asm(OP.F_REQ_STARTS, 2, str("/").slice(1), M), "match"],
    // Chains: an && of three (AND, AND, MATCH) and an || of two (OR, OR_LAST), with the pending error.
    ["&& chain: error then false is false", asm(E, OP.TEST_AND, u32(10), F, M), "no"],
    ["&& chain: error then true is an error", asm(E, OP.TEST_AND, u32(10), T, M), "error"],
    ["&& chain: false first skips the rest", asm(F, OP.TEST_AND, u32(10), E, M), "no"],
    ["&& chain: true, true matches", asm(T, OP.TEST_AND, u32(10), T, M), "match"],
    ["fused AND mode: an absent key skips the policy", asm(OP.F_HAS + 64, 0, u32(10), T, M), "no"],
    ["fused AND mode: a present key continues", asm(OP.F_HAS + 64, 0, u32(10), T, M), "match", { "0:k": "" }],
    ["|| chain: error then true matches", asm(E, OP.TEST_OR, u16(0), T, OP.TEST_OR_LAST, u16(0), OP.END), "match"],
    ["|| chain: error then false is an error", asm(E, OP.TEST_OR, u16(0), F, OP.TEST_OR_LAST, u16(0), OP.END), "error"],
    ["|| chain: false, false is false", asm(F, OP.TEST_OR, u16(0), F, OP.TEST_OR_LAST, u16(0), OP.END), "no"],
    [
      "fused OR mode: a true disjunct matches at once",
      asm(OP.F_HAS + 96, 0, u16(0), F, OP.TEST_OR_LAST, u16(0), OP.END),
      "match",
      { "0:k": "x" },
    ],
    ["F_BUCKET_CMP", asm(OP.F_BUCKET_CMP, 0, CMP.eq, i64(4294967296n), i64(0x248bfa47n), M), "match", { "0:k": "hello" }],
    ["JF keeps the top", asm(F, OP.JF, u32(8), T, OP.AND, M), "no"],
    ["JT keeps the top", asm(T, OP.JT, u32(8), F, OP.OR, M), "match"],
    ["JF falls through on an error and AND keeps it", asm(E, OP.JF, u32(8), T, OP.AND, M), "error"],
    ["JFP pops a true", asm(T, OP.JFP, u32(7), F, M), "no"],
    ["GRAY_IDS skips a policy whose key is not listed", asm(OP.GRAY_IDS, 1, obj(DATA_KIND.IDS), u32(14), T, M), "no", { "1:x-i": "zzz" }],
    ["GRAY_IDS admits a listed key", asm(OP.GRAY_IDS, 1, obj(DATA_KIND.IDS), u32(14), T, M), "match", { "1:x-i": "é" }],
  ];
  for (const [name, code, want, attributes] of cases) {
    it(name, () => {
      expect(run(code, attributes)).toBe(want);
    });
  }

  it("SWITCH_IDS returns the binding its table maps the id to, and counts its count of errors when the slot is absent", () => {
    const r = (attributes: Record<string, string>, file = BASE) => {
      version += 1n;
      expect(hot.load(withVersion(file, version)).ok).toBe(true);
      return { ...hot.decide(request("a.test", "/switch", attributes)) };
    };
    // The compiled /switch program (ROUTES index 0: three equality tests of their own key, an
    // interned header) is the key gate, one SWITCH_IDS that counts no errors, and END.
    const v = new DataView(BASE.buffer, BASE.byteOffset);
    const at = sectionOf(11).offset + v.getUint32(sectionOf(4).offset + 32, true);
    expect([BASE[at], BASE[at + 6], BASE[at + 14]]).toEqual([OP.F_HAS + 64, OP.SWITCH_IDS, OP.END]);
    expect(v.getUint16(at + 12, true)).toBe(0);
    expect(hot.snapshot.policies[r({ "1:x-i": "v4" }).policy]?.name).toBe("p4");
    expect(r({ "1:x-i": "v9" })).toMatchObject({ policy: -1, conditionErrors: 0 });
    expect(r({})).toMatchObject({ policy: -1, conditionErrors: 0 });
    // Without the gate, a SWITCH_IDS of count 3 counts 3 errors when its slot is absent.
    const bare = asm(OP.SWITCH_IDS, 0, u32(v.getUint32(at + 8, true)), u16(3), OP.END);
    expect(hot.snapshot.policies[r({ "1:x-i": "v5" }, withRouteProgram(BASE, 0, bare)).policy]?.name).toBe("p5");
    expect(r({}, withRouteProgram(BASE, 0, bare))).toMatchObject({ policy: -1, conditionErrors: 3 });
  });
});

describe("the loader refuses programs the VM could not run safely", () => {
  const cases: [string, number[]][] = [
    ["an unknown opcode", asm(0xff, M)],
    ["a truncated operand", asm(OP.PUSH_INT, 1, 2, 3)],
    ["no END", asm(T, OP.MATCH, u16(0))],
    ["END with values on the stack", asm(T, OP.END)],
    ["a backward jump", asm(T, OP.JUMP, u32(0), M)],
    ["a jump past the end", asm(OP.JUMP, u32(99), OP.END)],
    ["a jump into an operand", asm(OP.JUMP, u32(6), int(5n), OP.END)],
    ["unreachable code after JUMP", asm(OP.JUMP, u32(6), T, OP.END)],
    ["different stack depths where paths join", asm(T, OP.JT, u32(7), T, M)],
    ["a stack underflow", asm(OP.AND, M)],
    [
      "65 values on the stack",
      asm(...Array.from({ length: 65 }, () => T), ...Array.from({ length: 65 }, () => asm(OP.MATCH, u16(0))), OP.END),
    ],
    ["MATCH of a binding the route does not have", asm(T, OP.MATCH, u16(1), OP.END)],
    ["a slot the route does not have", asm(OP.LOAD, 3, M)],
    ["LOAD of an interned-only slot (no bytes written)", asm(OP.LOAD, 1, M)],
    ["F_EQ_ID of a bytes slot (no id written)", asm(OP.F_EQ_ID, 0, u32(1), M)],
    ["LOAD_DOUBLE of a bytes slot", asm(OP.LOAD_DOUBLE, 0, M)],
    ["F_INT_CMP of an interned-only slot (neither bytes nor INT)", asm(OP.F_INT_CMP, 1, CMP.eq, i64(0n), M)],
    ["F_INT_ARITH_IN of an interned-only slot", asm(OP.F_INT_ARITH_IN, 1, 4, i64(10n), obj(DATA_KIND.INTS), M)],
    ["LOAD_INT of a double-only slot", asm(OP.LOAD_INT, 2, M)],
    ["LOAD_REQ field 3", asm(OP.LOAD_REQ, 3, M)],
    ["a string outside STRINGS", asm(OP.PUSH_STR, u32(0), u32(4), M)],
    ["a data object of the wrong kind", asm(OP.MATCHES, obj(DATA_KIND.CIDR), M)],
    ["a data offset outside DATA", asm(str("a"), OP.IN, u32(0x7fffffff), M)],
    ["a comparison code above 5", asm(OP.F_INT_CMP, 0, 6, i64(0n), M)],
    ["an arithmetic code above 4", asm(OP.F_INT_ARITH_CMP, 0, 5, i64(1n), CMP.eq, i64(0n), M)],
    ["a fused mode above 4", asm(OP.F_HAS + 160, 0, M)],
    ["a chain test on a non-empty stack", asm(T, OP.F_HAS + 32, 0, u16(0), M)],
    ["a TEST_AND skip target that is not forward", asm(T, OP.TEST_AND, u32(0), OP.END)],
  ];
  for (const [name, code] of cases) {
    it(name, () => {
      expect(run(code)).toBe(LoadError.BAD_CODE);
    });
  }
  it("65 values would overflow, 64 fit", () => {
    const push = (n: number) =>
      asm(...Array.from({ length: n }, () => T), ...Array.from({ length: n }, () => asm(OP.MATCH, u16(0))), OP.END);
    expect(run(push(64))).toBe("match");
  });
});

describe("no program makes the module trap", () => {
  type Chunk = number[] | "open" | "close";
  /** A random well-typed-or-not stack expression of net effect +1 (compiler templates, random operands). */
  const expr = (g: fc.GeneratorValue, depth: number): Chunk[] => {
    const leaf = (): Chunk[] => [
      g(() =>
        fc.constantFrom(
          T,
          F,
          E,
          int(7n),
          int(MIN),
          uint(U64_MAX),
          dbl(Number.NaN),
          dbl(0.5),
          str("abc"),
          str("é"),
          asm(OP.LOAD, 0),
          asm(OP.HAS, 2),
          asm(OP.LOAD_INT, 0),
          asm(OP.LOAD_UINT, 0),
          asm(OP.LOAD_DOUBLE, 2),
          asm(OP.LOAD_REQ, 2),
          asm(OP.F_IN_IDS, 1, obj(DATA_KIND.IDS)),
          asm(OP.F_MATCHES, 0, obj(DATA_KIND.DFA)),
          asm(OP.F_CIDR, 0, obj(DATA_KIND.CIDR)),
          asm(OP.F_BUCKET_CMP, 0, CMP.lt, i64(100n), i64(50n)),
        ),
      ),
    ];
    if (depth === 0) return leaf();
    const a = () => expr(g, depth - 1);
    switch (g(fc.integer, { min: 0, max: 5 })) {
      case 0:
        return leaf();
      case 1:
        return [...a(), [g(() => fc.constantFrom(OP.NOT, OP.NEG, OP.TO_INT, OP.TO_UINT, OP.TO_DOUBLE, OP.TO_STRING, OP.SIZE))]];
      case 2: {
        const ops = [OP.ADD, OP.SUB, OP.MUL, OP.DIV, OP.MOD, OP.EQ, OP.NE, OP.LT, OP.GE, OP.AND, OP.OR, OP.STARTS, OP.CONTAINS, OP.BUCKET];
        return [...a(), ...a(), [g(() => fc.constantFrom(...ops))]];
      }
      case 3: {
        const set = g(() => fc.constantFrom(DATA_KIND.STRS, DATA_KIND.INTS, DATA_KIND.UINTS, DATA_KIND.DOUBLES, DATA_KIND.BOOLS));
        return [...a(), asm(OP.IN, obj(set))];
      }
      case 4:
        // a; JF L; b; AND; L:
        return [...a(), "open", ...a(), [OP.AND], "close"];
      default:
        return [...a(), asm(OP.MATCHES, obj(DATA_KIND.DFA))];
    }
  };
  /** Flattens chunks, turning "open" … "close" into JF with the matching end as its target. */
  const link = (chunks: Chunk[]): number[] => {
    const out: number[] = [];
    const open: number[] = [];
    for (const c of chunks) {
      if (c === "open") {
        out.push(OP.JF, 0, 0, 0, 0);
        open.push(out.length - 4);
      } else if (c === "close") {
        const at = open.pop() as number;
        out.splice(at, 4, ...u32(out.length));
      } else out.push(...c);
    }
    return out;
  };

  it("300 random well-formed programs load and run to a verdict", () => {
    const verdicts = new Set<Outcome | number>();
    fc.assert(
      fc.property(fc.gen(), fc.constantFrom("", "1", "abc", "10.1.2.3", String(MIN), "é"), (g, k) => {
        const code = link([...expr(g, 4), M]);
        const got = run(code, { "0:k": k, "1:x-i": "abc", "0:d": "0.5" });
        verdicts.add(got);
        expect(["match", "no", "error"]).toContain(got);
      }),
      { numRuns: 300, seed: 7 },
    );
    expect([...verdicts].sort()).toEqual(["error", "match", "no"]);
  });

  it("300 random byte mutations of a compiled program are refused or run, never trap", () => {
    const routeBytes = (() => {
      const v = new DataView(BASE.buffer, BASE.byteOffset);
      const codeAt = sectionOf(11).offset;
      const r = sectionOf(4).offset + RECORD.ROUTES * 1; // "/data"
      return Array.from(BASE.subarray(codeAt + v.getUint32(r + 32, true), codeAt + v.getUint32(r + 32, true) + v.getUint32(r + 36, true)));
    })();
    let refused = 0;
    let ran = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
        const code = routeBytes.slice();
        for (const [at, b] of edits) code[at % code.length] = b;
        const got = run(code.slice(0, Math.min(code.length, 400)), { "0:k": "abc" });
        expect(got === LoadError.BAD_CODE || got === "match" || got === "no" || got === "error").toBe(true);
        if (got === LoadError.BAD_CODE) refused++;
        else ran++;
      }),
      { numRuns: 300, seed: 11 },
    );
    expect(refused).toBeGreaterThan(0);
    expect(ran).toBeGreaterThan(0);
  });
});
