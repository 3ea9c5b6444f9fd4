/**
 * Differential test of condition semantics: control's compiler (control/compiler/) plus the WASM
 * VM (wasm/assembly/vm.ts, through wasm/host.ts) against @bufbuild/cel as the oracle, on
 * generated well-typed conditions (the subset check.ts accepts, docs/conditions.md) and generated
 * requests (attributes present or absent; numeric strings at and past the int64 edges, "",
 * "abc", non-ASCII). Each case's three-valued outcome must agree: the oracle's `true` ⇔ the
 * policy matched; its `false` ⇔ no match without a condition error; its error ⇔ no match and a
 * counted condition error. The oracle runs as `run()` does, `plan(celEnv(), parse(src))(vars)`, with
 * `request` a Map of Maps and absent attributes absent (and `key` unbound when query `key` is).
 * A table also pins what checkCondition refuses at admission, and where.
 *
 * Reproduce a failure with the seed fast-check prints: `FC_SEED=<seed> npx vitest run
 * test/condition-differential.test.ts`; `FC_RUNS=<n>` changes the number of batches (each batch
 * is BATCH_POLICIES conditions × REQUESTS_PER_CONDITION requests, in one snapshot); `FC_SHRINK=1`
 * shrinks the failing batch (slow: every step compiles a snapshot).
 *
 * Divergences of @bufbuild/cel 0.6.1 from the CEL spec (cel-go), where Sluice follows the spec.
 * Cases that could hit one are excluded from the comparison by `divergence()` below and counted;
 * "documented divergences" asserts each one still exists (so this list stays true) and that the
 * VM gives the spec's answer. docs/conditions.md, "Divergences from @bufbuild/cel", lists them too.
 *   1. int(string) is JS BigInt(): it accepts "" (as 0), leading/trailing white space and line
 *      terminators (" 7", "7\n", "\u00a07"), and 0x / 0o / 0b prefixes ("0x10" → 16). cel-go's
 *      int(string) is strconv.ParseInt(s, 10, 64): an optional sign and decimal digits only.
 *      Excluded: cases where a string that can reach int() (literal or attribute) is such a value.
 *   2. String ordering (< <= > >=) compares UTF-16 code units; CEL compares code points (cel-go:
 *      bytewise UTF-8), so "\uffff" < "😀" is false in the oracle and true in CEL. Excluded:
 *      cases where the strings that can be ordered hold both a char in U+E000–U+FFFF and one
 *      above U+FFFF (the only pairs whose order differs).
 *   3. Integer literals outside int64 (9223372036854775808, -9223372036854775809,
 *      0x8000000000000000) and uint literals outside uint64 parse and evaluate as big integers;
 *      cel-go refuses them at parse time. Not generated; checkCondition refuses them (table below).
 */
import { type CelResult, celEnv, isCelError, parse, plan } from "@bufbuild/cel";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { ConditionError, checkCondition } from "../control/compiler/index.ts";
import type { ConfigModel, PolicyConfig } from "../control/snapshot/model.ts";
import { DecideStatus, type HotPath, Passway } from "../wasm/host.ts";
import { group, instance, instantiate, policy, route, write } from "./wasm-fixtures.ts";

const BATCH_POLICIES = 50;
const REQUESTS_PER_CONDITION = 4;
const RUNS = Number(process.env.FC_RUNS ?? 32); // 32 × 50 × 4 = 6,400 cases, ~8 % excluded
const SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
const HOST = "api.example.com";

const MAX = 2n ** 63n - 1n;
const MIN = -(2n ** 63n);

type Outcome = "match" | "no" | "error";

// --- The request side: which attributes exist, and their values ---

/** Attributes the generated conditions read; the policy's key is query `key`. */
const QUERY_NAMES = ["key", "a", "n"] as const;
const HEADER_NAMES = ["x-a", "xn"] as const;
const COOKIE_NAMES = ["c", "n"] as const;

interface Req {
  method: string;
  query: Partial<Record<string, string>>;
  header: Partial<Record<string, string>>;
  cookie: Partial<Record<string, string>>;
}

/** Values shared by string literals and request attributes, so equality and prefixes often hit. */
const WORDS = [
  "",
  "a",
  "ab",
  "abc",
  "bc",
  "abcabc",
  "abc".repeat(9),
  "é",
  "café",
  "日本",
  "😀",
  "a😀",
  "\uff21", // FULLWIDTH A: above U+E000, orders before astral chars by code point only
  "\ufffd",
  "7",
  "42",
  "-7",
  "+42",
  "0042",
  "-0",
  " 7",
  "7 ",
  "7\n",
  "0x10",
  "0b11",
  "1e3",
  "1.5",
  "+",
  "-",
  "GET",
];
const NUMERIC = [MAX, MIN, MAX + 1n, MIN - 1n, 10n ** 20n, 2n ** 62n, 3037000499n, 3037000500n, -3037000500n].map(String);
const CHARS = ["a", "b", "c", "0", "1", "9", "-", "+", " ", "é", "日", "😀", "\uff21"];

const valueArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...WORDS), weight: 4 },
  { arbitrary: fc.constantFrom(...NUMERIC), weight: 2 },
  { arbitrary: fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }).map(String), weight: 1 },
  { arbitrary: fc.integer({ min: -120, max: 120 }).map(String), weight: 2 },
  { arbitrary: fc.string({ unit: fc.constantFrom(...CHARS), maxLength: 6 }), weight: 1 },
);

const present = (names: readonly string[]) =>
  fc.record(Object.fromEntries(names.map((n) => [n, fc.option(valueArb, { nil: undefined, freq: 4 })]))) as fc.Arbitrary<
    Partial<Record<string, string>>
  >;

const requestArb: fc.Arbitrary<Req> = fc
  .record({
    method: fc.constantFrom("GET", "POST"),
    query: present(QUERY_NAMES),
    header: present(HEADER_NAMES),
    cookie: present(COOKIE_NAMES),
  })
  .map((req) => Object.assign(req, { [fc.toStringMethod]: () => JSON.stringify(req) })); // absent attributes drop out

// --- The condition side: typed expressions, fully parenthesised ---

/** Where a string value comes from: a literal, or an attribute read from the request. */
type Atom = { literal: string } | { read: (req: Req, path: string) => string | undefined };

/** A generated expression: its source, and what divergence() needs to know about it. */
interface Gen extends fc.WithToStringMethod {
  src: string;
  /** For a string expression: the values it may take. */
  values: Atom[];
  /** Strings that may reach int(). */
  intInputs: Atom[];
  /** Strings that may be ordered (< <= > >=). */
  ordered: Atom[];
}

const gen = (src: string, parts: Gen[] = [], more: Partial<Gen> = {}): Gen => ({
  src,
  [fc.toStringMethod]: () => src, // counterexamples print as CEL source
  values: more.values ?? [],
  intInputs: [...parts.flatMap((p) => p.intInputs), ...(more.intInputs ?? [])],
  ordered: [...parts.flatMap((p) => p.ordered), ...(more.ordered ?? [])],
});
const strLit = (s: string) => gen(JSON.stringify(s), [], { values: [{ literal: s }] });
const intLit = (v: bigint) => gen(`(${v})`);
const toInt = (s: Gen) => gen(`int(${s.src})`, [s], { intInputs: s.values });
const ternary = (c: Gen, a: Gen, b: Gen) => gen(`(${c.src}) ? (${a.src}) : (${b.src})`, [c, a, b], { values: [...a.values, ...b.values] });
const binary = (a: Gen, op: string, b: Gen) =>
  gen(`(${a.src}) ${op} (${b.src})`, [a, b], { ordered: ORDERINGS.includes(op) ? [...a.values, ...b.values] : [] });
const ORDERINGS = ["<", "<=", ">", ">="];

const EDGE_INTS = [
  0n,
  1n,
  -1n,
  2n,
  3n,
  7n,
  10n,
  100n,
  MAX,
  MIN,
  MAX - 1n,
  MIN + 1n,
  2n ** 31n,
  -(2n ** 31n),
  2n ** 32n,
  3037000499n,
  2n ** 62n,
];
const intLitArb = fc
  .oneof(
    { arbitrary: fc.constantFrom(...EDGE_INTS), weight: 3 },
    { arbitrary: fc.bigInt({ min: -20n, max: 20n }), weight: 3 },
    { arbitrary: fc.bigInt({ min: MIN, max: MAX }), weight: 1 },
  )
  .map(intLit);

const query = (name: string) => (req: Req) => req.query[name];
/** String-valued attributes; the first ten are request attributes (frame slots). */
const STRING_ATTRS: { src: string; read: (req: Req, path: string) => string | undefined }[] = [
  { src: "key", read: query("key") },
  { src: "request.query.key", read: query("key") },
  { src: "request.query.a", read: query("a") },
  { src: 'request.query["a"]', read: query("a") },
  { src: "request.query.n", read: query("n") },
  { src: 'request.header["x-a"]', read: (req) => req.header["x-a"] },
  { src: "request.header.xn", read: (req) => req.header.xn },
  { src: 'request.header["xn"]', read: (req) => req.header.xn },
  { src: "request.cookie.c", read: (req) => req.cookie.c },
  { src: 'request.cookie["n"]', read: (req) => req.cookie.n },
  { src: "request.method", read: (req) => req.method },
  { src: "request.host", read: () => HOST },
  { src: "request.path", read: (_, path) => path },
];
const attr = (a: (typeof STRING_ATTRS)[number]) => gen(a.src, [], { values: [{ read: a.read }] });
const HAS_ATTRS = ["request.query.key", "request.query.a", "request.header.xn", "request.cookie.c", "request.cookie.n"];

const pick = <T>(...options: T[]) => fc.constantFrom(...options);
const memo = <T>(make: (depth: number) => fc.Arbitrary<T>) => {
  const cache = new Map<number, fc.Arbitrary<T>>();
  return (depth: number): fc.Arbitrary<T> => {
    let arb = cache.get(depth);
    if (!arb) {
      arb = make(depth);
      cache.set(depth, arb);
    }
    return arb;
  };
};

const strE = memo((d): fc.Arbitrary<Gen> => {
  const leaves = [
    { arbitrary: valueArb.map(strLit), weight: 2 },
    { arbitrary: fc.constantFrom(...STRING_ATTRS).map(attr), weight: 4 },
  ];
  if (d === 0) return fc.oneof(...leaves);
  return fc.oneof(...leaves, {
    arbitrary: fc.tuple(boolE(d - 1), strE(d - 1), strE(d - 1)).map(([c, a, b]) => ternary(c, a, b)),
    weight: 1,
  });
});

const intE = memo((d): fc.Arbitrary<Gen> => {
  const leaves = [
    { arbitrary: intLitArb, weight: 2 },
    { arbitrary: fc.constantFrom(...STRING_ATTRS.slice(0, 10)).map((a) => toInt(attr(a))), weight: 4 },
  ];
  if (d === 0) return fc.oneof(...leaves);
  const sub = intE(d - 1);
  return fc.oneof(
    ...leaves,
    { arbitrary: strE(d - 1).map(toInt), weight: 1 },
    { arbitrary: sub.map((a) => gen(`int(${a.src})`, [a])), weight: 1 },
    { arbitrary: fc.tuple(strE(d - 1), fc.boolean()).map(([s, m]) => gen(m ? `(${s.src}).size()` : `size(${s.src})`, [s])), weight: 1 },
    { arbitrary: fc.tuple(sub, pick("+", "-", "*", "/", "%"), sub).map(([a, op, b]) => binary(a, op, b)), weight: 4 },
    { arbitrary: sub.map((a) => gen(`-(${a.src})`, [a])), weight: 1 },
    { arbitrary: fc.tuple(boolE(d - 1), sub, sub).map(([c, a, b]) => ternary(c, a, b)), weight: 1 },
  );
});

const boolE = memo((d): fc.Arbitrary<Gen> => {
  const leaves = [
    { arbitrary: fc.boolean().map((b) => gen(String(b))), weight: 1 },
    { arbitrary: fc.constantFrom(...HAS_ATTRS).map((a) => gen(`has(${a})`)), weight: 1 },
  ];
  const cmp = pick("==", "!=", "<", "<=", ">", ">=");
  const i = intE(d === 0 ? 0 : d - 1);
  const s = strE(d === 0 ? 0 : d - 1);
  const comparisons = [
    { arbitrary: fc.tuple(i, cmp, i).map(([a, op, b]) => binary(a, op, b)), weight: 6 },
    { arbitrary: fc.tuple(s, cmp, s).map(([a, op, b]) => binary(a, op, b)), weight: 4 },
    {
      arbitrary: fc
        .tuple(i, fc.array(intLitArb, { maxLength: 4 }))
        .map(([a, list]) => gen(`(${a.src}) in [${list.map((l) => l.src).join(", ")}]`, [a])),
      weight: 2,
    },
    {
      arbitrary: fc
        .tuple(s, fc.array(valueArb, { maxLength: 4 }))
        .map(([a, list]) => gen(`(${a.src}) in [${list.map((l) => JSON.stringify(l)).join(", ")}]`, [a])),
      weight: 2,
    },
    {
      arbitrary: fc.tuple(s, pick("startsWith", "endsWith", "contains"), s).map(([a, fn, b]) => gen(`(${a.src}).${fn}(${b.src})`, [a, b])),
      weight: 2,
    },
  ];
  if (d === 0) return fc.oneof(...leaves, ...comparisons);
  const sub = boolE(d - 1);
  return fc.oneof(
    ...leaves,
    ...comparisons,
    { arbitrary: fc.tuple(sub, pick("&&", "||"), sub).map(([a, op, b]) => binary(a, op, b)), weight: 6 },
    { arbitrary: sub.map((a) => gen(`!(${a.src})`, [a])), weight: 2 },
    { arbitrary: fc.tuple(sub, pick("==", "!="), sub).map(([a, op, b]) => binary(a, op, b)), weight: 1 },
    { arbitrary: fc.tuple(sub, sub, sub).map(([c, a, b]) => ternary(c, a, b)), weight: 1 },
  );
});

const caseArb = fc.record({
  condition: boolE(3),
  requests: fc.array(requestArb, { minLength: REQUESTS_PER_CONDITION, maxLength: REQUESTS_PER_CONDITION }),
});

// --- The oracle and the exclusions ---

const ENV = celEnv();

/** @bufbuild/cel's verdict; absent attributes are absent from the CEL maps (and `key` unbound). */
function oracle(evaluate: (vars: Record<string, unknown>) => CelResult, req: Req, path: string): Outcome {
  const map = (m: Partial<Record<string, string>>) => new Map(Object.entries(m).filter((e): e is [string, string] => e[1] !== undefined));
  const vars: Record<string, unknown> = {
    request: new Map<string, unknown>([
      ["query", map(req.query)],
      ["header", map(req.header)],
      ["cookie", map(req.cookie)],
      ["method", req.method],
      ["host", HOST],
      ["path", path],
    ]),
  };
  if (req.query.key !== undefined) vars.key = req.query.key;
  let result: CelResult;
  try {
    result = evaluate(vars);
  } catch {
    return "error";
  }
  if (isCelError(result)) return "error";
  if (typeof result !== "boolean") throw new Error(`oracle returned a non-bool ${String(result)}`);
  return result ? "match" : "no";
}

const SPEC_INT = /^[+-]?[0-9]+$/;
/** A string JS BigInt() parses but cel-go's int() refuses (divergence 1). */
function lenientInt(s: string): boolean {
  if (SPEC_INT.test(s)) return false;
  try {
    BigInt(s);
    return true;
  } catch {
    return false;
  }
}
const HIGH_BMP = /[\ue000-\uffff]/u;
const ASTRAL = /[\u{10000}-\u{10ffff}]/u;

/** Which documented divergence this case could hit, or null when the oracle is trusted. */
function divergence(g: Gen, req: Req, path: string): string | null {
  const valuesOf = (atoms: Atom[]) =>
    atoms.map((a) => ("literal" in a ? a.literal : a.read(req, path))).filter((v): v is string => v !== undefined);
  if (valuesOf(g.intInputs).some(lenientInt)) return "int() leniency";
  const ordered = valuesOf(g.ordered);
  if (ordered.some((s) => HIGH_BMP.test(s)) && ordered.some((s) => ASTRAL.test(s))) return "UTF-16 string order";
  return null;
}

// --- The system under test ---

let hot: HotPath;
let version = 0n;

beforeAll(async () => {
  ({ hot } = await instantiate());
});

/** One snapshot: policy i (key = query `key`) guards route `/c<i>` and sends it to group `hit`. */
function load(conditions: string[]): void {
  const policies: PolicyConfig[] = conditions.map((c, i) => policy(i + 1, c, "hit", { key: "key" }));
  const model: ConfigModel = {
    groups: [group(1, "main", [instance(1, 1)]), group(2, "hit", [instance(2, 1)])],
    policies,
    routes: policies.map((p) => route(p.id, HOST, `/c${p.id}`, { match: "exact", policies: [p.name] })),
  };
  version += 1n;
  const loaded = hot.load(write(model, version));
  if (!loaded.ok) throw new Error(`snapshot refused: ${loaded.reason}`);
}

const PASSWAY_MAPS = { [Passway.QUERY]: "query", [Passway.HEADER]: "header", [Passway.COOKIE]: "cookie" } as const;

function vm(req: Req, path: string): Outcome {
  const r = hot.decide({
    host: HOST,
    path,
    method: req.method,
    attribute: (passway, name) => {
      const m = PASSWAY_MAPS[passway as keyof typeof PASSWAY_MAPS];
      return m === undefined ? undefined : req[m][name];
    },
  });
  if (r.status !== DecideStatus.OK) throw new Error(`decide status ${r.status}`);
  if (r.policy >= 0) return "match";
  return r.conditionErrors > 0 ? "error" : "no";
}

describe("compiler + VM agree with @bufbuild/cel", () => {
  it(`on ${RUNS} batches of ${BATCH_POLICIES} generated conditions × ${REQUESTS_PER_CONDITION} requests`, () => {
    const tally = { compared: 0, excluded: 0, match: 0, no: 0, error: 0 } as Record<string, number>;
    fc.assert(
      fc.property(fc.array(caseArb, { minLength: BATCH_POLICIES, maxLength: BATCH_POLICIES }), (cases) => {
        for (const c of cases) checkCondition(c.condition.src); // a refusal is a generator/compiler disagreement
        load(cases.map((c) => c.condition.src));
        cases.forEach((c, i) => {
          const evaluate = plan(ENV, parse(c.condition.src)) as (vars: Record<string, unknown>) => CelResult;
          const path = `/c${i + 1}`;
          for (const req of c.requests) {
            const reason = divergence(c.condition, req, path);
            if (reason) {
              tally.excluded += 1;
              tally[reason] = (tally[reason] ?? 0) + 1;
              continue;
            }
            const want = oracle(evaluate, req, path);
            const got = vm(req, path);
            if (got !== want) {
              throw new Error(`${c.condition.src}\nrequest ${JSON.stringify(req)}\nVM: ${got}, @bufbuild/cel: ${want}`);
            }
            tally.compared += 1;
            tally[want] = (tally[want] ?? 0) + 1;
          }
        });
      }),
      // Shrinking a 50-condition batch takes minutes; the thrown message already names the case.
      { numRuns: RUNS, seed: SEED, endOnFailure: process.env.FC_SHRINK === undefined },
    );
    console.log(`condition differential: ${JSON.stringify(tally)}`);
    // Guard against a generator that degenerates: most cases compared, all three outcomes common.
    const total = tally.compared + tally.excluded;
    expect(tally.excluded).toBeLessThan(total * 0.25);
    for (const o of ["match", "no", "error"]) expect(tally[o]).toBeGreaterThan(tally.compared * 0.05);
    if (process.env.FC_RUNS === undefined) expect(tally.compared).toBeGreaterThanOrEqual(5000);
  }, 60_000);
});

describe("documented divergences", () => {
  // [condition, key value, @bufbuild/cel's outcome, the spec's (and the VM's) outcome, divergence]
  const cases: [string, string, Outcome, Outcome, "int() leniency" | "UTF-16 string order"][] = [
    ["int(key) == 0", "", "match", "error", "int() leniency"],
    ["int(key) == 7", " 7", "match", "error", "int() leniency"],
    ["int(key) == 7", "7\n", "match", "error", "int() leniency"],
    ["int(key) == 7", "\u00a07", "match", "error", "int() leniency"],
    ["int(key) == 16", "0x10", "match", "error", "int() leniency"],
    ["int(key) == 8", "0o10", "match", "error", "int() leniency"],
    ["int(key) == 3", "0b11", "match", "error", "int() leniency"],
    ['key < "😀"', "\uffff", "no", "match", "UTF-16 string order"],
    ['key > "\uff21"', "😀a", "no", "match", "UTF-16 string order"],
  ];
  for (const [condition, key, theirs, spec, kind] of cases) {
    it(`${condition} with key ${JSON.stringify(key)}: @bufbuild/cel ${theirs}, spec and VM ${spec}`, () => {
      load([condition]);
      const req: Req = { method: "GET", query: { key }, header: {}, cookie: {} };
      expect(oracle(plan(ENV, parse(condition)) as (v: Record<string, unknown>) => CelResult, req, "/c1")).toBe(theirs);
      expect(vm(req, "/c1")).toBe(spec);
      // The filter of the generated run recognises the case.
      const key_ = attr(STRING_ATTRS[0] as (typeof STRING_ATTRS)[number]);
      const g =
        kind === "int() leniency" ? toInt(key_) : binary(key_, "<", strLit(JSON.parse(condition.match(/".*"/u)?.[0] ?? '""') as string));
      expect(divergence(g, req, "/c1")).toBe(kind);
    });
  }

  it("out-of-range int literals evaluate in @bufbuild/cel but are refused at admission", () => {
    for (const literal of ["9223372036854775808", "-9223372036854775809", "0x8000000000000000"]) {
      const condition = `${literal} != 0`;
      const result = plan(ENV, parse(condition))({});
      expect(result).toBe(true);
      expect(() => checkCondition(condition)).toThrow(/outside the int64 range/);
    }
    expect(() => checkCondition("-9223372036854775808 < 0")).not.toThrow();
  });
});

describe("admission refuses what the subset does not cover", () => {
  // [condition, message pattern, the source text the position must fall within (its nth occurrence)]
  const cases: [string, RegExp, string | [string, number]][] = [
    ['key == "a" && 1.5 > 1.0', /double/, "1.5"],
    ["1u == 1u", /uint/, "1u"],
    ['key == "a" || 18446744073709551616u > 0u', /uint/, "18446744073709551616u"],
    ["int(key) < 9223372036854775808", /outside the int64 range/, "9223372036854775808"],
    ["int(key) in [1, -9223372036854775809]", /outside the int64 range/, "-9223372036854775809"],
    ["null == null", /null/, "null"],
    ['b"x" == b"x"', /bytes/, 'b"x"'],
    ['request.query.a == "x" || bar', /unknown identifier 'bar'/, "bar"],
    ["foo == 1", /unknown identifier 'foo'/, "foo"],
    ['request.body.a == "x"', /unknown field/, "request.body.a"],
    ['request.query[key] == "x"', /indexed by a string literal/, "request.query[key]"],
    ['key + "x" == "ax"', /string concatenation/, 'key + "x"'],
    ['"a" + "b" == "ab"', /string concatenation/, '"a" + "b"'],
    ['int(key) == "1"', /cannot compare int with string/, 'int(key) == "1"'],
    ["key == 1", /cannot compare string with int/, "key == 1"],
    ["key in [request.query.a]", /list elements must be literals/, "request.query.a"],
    ['key in ["a", 1]', /list elements must be string/, "1"],
    ["int(key) in [1, int(key)]", /list elements must be literals/, ["int(key)", 1]],
    ["key in request.query", /'in' takes a list literal/, "request.query"],
    ["[1] == [1]", /list may appear only on the right of 'in'/, "[1]"],
    ["true < false", /bools support only == and !=/, "true < false"],
    ["!1", /operand of ! must be bool/, "1"],
    ['-"a" == "a"', /operand of - must be int/, '"a"'],
    ['key.matches("a")', /function 'matches' is not supported/, 'key.matches("a")'],
    ["int(key, 1) == 1", /int\(\) takes one argument/, "int(key, 1)"],
    ["size(1) == 1", /size\(\) argument must be string/, "1"],
    ["key", /a condition must be bool, found string/, "key"],
    ["int(key) + 1", /a condition must be bool, found int/, "int(key) + 1"],
    ["key ==", /syntax error/, "key =="],
  ];
  for (const [condition, message, span] of cases) {
    it(`${condition} → ${message.source}`, () => {
      let error: unknown;
      try {
        checkCondition(condition);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConditionError);
      const { message: text, position } = error as ConditionError;
      expect(text).toMatch(message);
      const [text_, nth] = typeof span === "string" ? [span, 0] : span;
      let start = -1;
      for (let i = 0; i <= nth; i++) start = condition.indexOf(text_, start + 1);
      expect(start, `span ${text_}`).toBeGreaterThanOrEqual(0);
      // The reported offset lies within the offending text (the parser may point at the space
      // before a binary operator, which is inside the operator expression's span).
      expect(position).toBeGreaterThanOrEqual(start);
      expect(position).toBeLessThanOrEqual(start + text_.length);
    });
  }
});
