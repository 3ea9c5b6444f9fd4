/**
 * Differential test of condition semantics, three ways: control's compiler plus the WASM VM
 * (through wasm/host.ts), the TypeScript reference evaluator of the same IR
 * (wasm/cel/evaluate.ts), and @bufbuild/cel as the oracle, on generated well-typed
 * conditions of the whole subset (docs/conditions.md: int, uint, double, string, bool, `in`,
 * string functions, matches, cidr, bucket, conversions, every request variable) and generated
 * requests (attributes present or absent; numbers at and past the int64/uint64 edges, lenient
 * number forms, non-ASCII, valid and invalid IP addresses). Each case's three-valued outcome
 * must agree: true ⇔ the policy matched; false ⇔ no match and no condition error; error ⇔ no
 * match and a counted condition error. Each condition runs in the VM as a policy keyed on query
 * `key`, so when a request lacks `key` the VM must answer false (the policy does not apply,
 * whatever its condition) while the reference and the oracle still judge the bare condition. Generators and evaluators: test/support/condition-*.ts;
 * `npm run fuzz:conditions` runs the same check on 100,000+ cases.
 *
 * Reproduce a failure with the seed fast-check prints: `FC_SEED=<seed> npx vitest run
 * test/control/compiler/evaluate.test.ts`; `FC_RUNS=<n>` changes the number of batches (each is
 * BATCH_POLICIES conditions × REQUESTS_PER_CONDITION requests, in one snapshot).
 *
 * The VM and the reference must agree on every case. Where @bufbuild/cel 0.6.1 departs from the
 * CEL spec (cel-go), Sluice follows the spec; cases that could hit such a divergence are not
 * compared with the oracle, and are counted (condition-oracle.ts, divergence()). "documented
 * divergences" asserts each one still exists and that the VM and the reference give the spec's
 * answer; docs/conditions.md lists them:
 *   1. int(string) is JS BigInt(): "" (as 0), white space, 0x/0o/0b prefixes; cel-go takes an
 *      optional sign and decimal digits only.
 *   2. uint(string) likewise (BigInt: "+1", " 1", "0x10", "-0"); cel-go takes decimal digits only.
 *   3. double(string) is JS Number(): "" is 0, white space and "0x10" parse, junk gives NaN rather
 *      than an error, "inf"/"nan"/"1_000" fail; cel-go uses strconv.ParseFloat.
 *   4. String ordering (< <= > >=) compares UTF-16 code units; CEL compares code points.
 *   5. Integer literals outside int64 (and uint64) evaluate; cel-go refuses them when parsing.
 *   6. uint `/` checks its quotient against the int64 range: `18446744073709551615u / 1u` errs.
 */
import { parse, plan } from "@bufbuild/cel";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { ConditionError, checkCondition } from "../../../control/compiler/index.ts";
import type { HotPath } from "../../../wasm/host.ts";
import { binary, caseArb, type Gen, gen, type Req, strLit, toInt } from "../../support/condition-gen.ts";
import {
  checkBatch,
  type Divergence,
  divergence,
  ENV,
  loadConditions,
  type Outcome,
  oracle,
  planOracle,
  reference,
  type Tally,
  vm,
} from "../../support/condition-oracle.ts";
import { instantiate } from "../../support/wasm-fixtures.ts";

const BATCH_POLICIES = 50;
const REQUESTS_PER_CONDITION = 4;
const RUNS = Number(process.env.FC_RUNS ?? 32); // 32 × 50 × 4 = 6,400 cases
const SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);

let hot: HotPath;
let version = 0n;

beforeAll(async () => {
  ({ hot } = await instantiate());
});

describe("compiler + VM, the TypeScript reference and @bufbuild/cel agree", () => {
  it(`on ${RUNS} batches of ${BATCH_POLICIES} generated conditions × ${REQUESTS_PER_CONDITION} requests`, () => {
    const tally: Tally = { compared: 0, excluded: 0, vmReference: 0, keyAbsent: 0, match: 0, no: 0, error: 0 };
    fc.assert(
      fc.property(fc.array(caseArb(REQUESTS_PER_CONDITION), { minLength: BATCH_POLICIES, maxLength: BATCH_POLICIES }), (cases) => {
        for (const c of cases) checkCondition(c.condition.src); // a refusal is a generator/compiler disagreement
        version += 1n;
        checkBatch(hot, cases, version, tally);
      }),
      // Shrinking a 50-condition batch takes minutes; the thrown message already names the case.
      { numRuns: RUNS, seed: SEED, endOnFailure: process.env.FC_SHRINK === undefined },
    );
    console.log(`condition differential: ${JSON.stringify(tally)}`);
    // Guard against a generator that degenerates: most cases compared, all three outcomes common.
    const total = tally.compared + tally.excluded;
    expect(tally.vmReference).toBe(total);
    expect(tally.excluded).toBeLessThan(total * 0.25);
    // Both sides of the key gate: most VM cases run the condition, some test the absent key.
    expect(tally.keyAbsent).toBeGreaterThan(total * 0.05);
    expect(tally.keyAbsent).toBeLessThan(total * 0.4);
    for (const o of ["match", "no", "error"]) expect(tally[o]).toBeGreaterThan(tally.compared * 0.05);
    if (process.env.FC_RUNS === undefined) expect(tally.compared).toBeGreaterThanOrEqual(5000);
  }, 120_000);
});

describe("documented divergences", () => {
  // [condition, key value, @bufbuild/cel's outcome, the spec's (VM's and reference's) outcome, divergence]
  const cases: [string, string, Outcome, Outcome, Divergence][] = [
    ["int(key) == 0", "", "match", "error", "int() leniency"],
    ["int(key) == 7", " 7", "match", "error", "int() leniency"],
    ["int(key) == 7", "7\n", "match", "error", "int() leniency"],
    ["int(key) == 7", "\u00a07", "match", "error", "int() leniency"],
    ["int(key) == 16", "0x10", "match", "error", "int() leniency"],
    ["int(key) == 8", "0o10", "match", "error", "int() leniency"],
    ["int(key) == 3", "0b11", "match", "error", "int() leniency"],
    ["uint(key) == 1u", "+1", "match", "error", "uint() leniency"],
    ["uint(key) == 0u", "-0", "match", "error", "uint() leniency"],
    ["uint(key) == 16u", "0x10", "match", "error", "uint() leniency"],
    ["double(key) == 0.0", "", "match", "error", "double() parsing"],
    ["double(key) == 16.0", "0x10", "match", "error", "double() parsing"],
    ["double(key) == 1.5", " 1.5", "match", "error", "double() parsing"],
    ["double(key) != 1.0", "abc", "match", "error", "double() parsing"],
    ["double(key) > 1e308", "inf", "no", "match", "double() parsing"],
    ["double(key) == 1000.0", "1_000", "no", "match", "double() parsing"],
    ['key < "😀"', "\uffff", "no", "match", "UTF-16 string order"],
    ['key > "\uff21"', "😀a", "no", "match", "UTF-16 string order"],
    ["uint(key) / 1u == 18446744073709551615u", "18446744073709551615", "error", "match", "uint division range"],
  ];
  for (const [condition, key, theirs, spec, kind] of cases) {
    it(`${condition} with key ${JSON.stringify(key)}: @bufbuild/cel ${theirs}, spec, VM and reference ${spec}`, () => {
      version += 1n;
      loadConditions(hot, [condition], version);
      const req: Req = { method: "GET", query: { key }, header: {}, cookie: {}, body: {}, cf: {} };
      expect(oracle(planOracle(condition), req, "/c1")).toBe(theirs);
      expect(vm(hot, req, "/c1")).toBe(spec);
      expect(reference(condition, req, "/c1")).toBe(spec);
      // The filter of the generated run recognises the case.
      const keyGen = gen("key", [], { values: [{ read: (r) => r.query.key }] });
      const g: Gen =
        kind === "int() leniency"
          ? toInt(keyGen)
          : kind === "uint() leniency"
            ? gen("uint(key)", [keyGen], { uintInputs: keyGen.values })
            : kind === "double() parsing"
              ? gen("double(key)", [keyGen], { doubleInputs: keyGen.values })
              : kind === "uint division range"
                ? gen("uint(key) / 1u", [], { uintDividends: ["uint(key)"] })
                : binary(keyGen, "<", strLit(JSON.parse(condition.match(/".*"/u)?.[0] ?? '""') as string));
      expect(divergence(g, req, "/c1")).toBe(kind);
    });
  }

  it("out-of-range int literals evaluate in @bufbuild/cel but are refused at admission", () => {
    for (const literal of ["9223372036854775808", "-9223372036854775809", "0x8000000000000000"]) {
      const condition = `${literal} != 0`;
      expect(plan(ENV, parse(condition))({})).toBe(true);
      expect(() => checkCondition(condition)).toThrow(/outside the int64 range/);
    }
    expect(() => checkCondition("-9223372036854775808 < 0")).not.toThrow();
    expect(() => checkCondition("18446744073709551616u > 0u")).toThrow(/outside the uint64 range/);
  });
});

describe("the consumer (request.consumer): VM, reference and @bufbuild/cel agree", () => {
  const alice = { name: "alice", labels: { tier: "gold", "a.b": "x" } };
  // [condition, consumer (undefined: not authenticated), outcome]
  const cases: [string, Req["consumer"], Outcome][] = [
    ['request.consumer.name == "alice"', alice, "match"],
    ['request.consumer.name == "bob"', alice, "no"],
    ['request.consumer.name == "alice"', undefined, "error"],
    ["has(request.consumer.name)", alice, "match"],
    ["has(request.consumer.name)", undefined, "no"],
    ['request.consumer.labels.tier == "gold"', alice, "match"],
    ['request.consumer.labels["a.b"] == "x"', alice, "match"],
    ['request.consumer.labels.team == "core"', alice, "error"],
    ['request.consumer.labels.tier == "gold"', undefined, "error"],
    ["has(request.consumer.labels.tier)", alice, "match"],
    ["has(request.consumer.labels.team)", alice, "no"],
    ["has(request.consumer.labels.tier)", undefined, "no"],
    ['!has(request.consumer.name) || request.consumer.labels.tier in ["gold", "platinum"]', undefined, "match"],
    ['request.consumer.name.startsWith("al") && key == "k"', alice, "match"],
  ];
  for (const [condition, consumer, want] of cases) {
    it(`${condition} with ${consumer ? "consumer alice" : "no consumer"} → ${want}`, () => {
      version += 1n;
      loadConditions(hot, [condition], version);
      const req: Req = { method: "GET", query: { key: "k" }, header: {}, cookie: {}, body: {}, cf: {}, consumer };
      expect(vm(hot, req, "/c1")).toBe(want);
      expect(reference(condition, req, "/c1")).toBe(want);
      expect(oracle(planOracle(condition), req, "/c1")).toBe(want);
    });
  }
});

describe("admission refuses what the subset does not cover", () => {
  // [condition, message pattern, the source text the position must fall within (its nth occurrence)]
  const cases: [string, RegExp, string | [string, number]][] = [
    ['key == "a" || 18446744073709551616u > 0u', /outside the uint64 range/, "18446744073709551616u"],
    ["int(key) < 9223372036854775808", /outside the int64 range/, "9223372036854775808"],
    ["int(key) in [1, -9223372036854775809]", /outside the int64 range/, "-9223372036854775809"],
    ["null == null", /null/, "null"],
    ['b"x" == b"x"', /bytes/, 'b"x"'],
    ['request.query.a == "x" || bar', /unknown identifier 'bar'/, "bar"],
    ["foo == 1", /unknown identifier 'foo'/, "foo"],
    ['request.files.a == "x"', /unknown field/, "request.files.a"],
    ['request.query.a.b == "x"', /request.query has no nested fields/, "request.query.a.b"],
    ['request.cf.city == "x"', /request.cf has the fields country, colo and asn/, "request.cf.city"],
    ['request.consumer.id == "x"', /request.consumer has the fields name and labels.NAME/, "request.consumer.id"],
    ['request.consumer.labels == "x"', /request.consumer has the fields name and labels.NAME/, "request.consumer.labels"],
    ["has(request.consumer)", /request.consumer has the fields name and labels.NAME/, "has(request.consumer)"],
    ['request.consumer.labels.a.b == "x"', /request.consumer has the fields name and labels.NAME/, "request.consumer.labels.a.b"],
    ['request.query[key] == "x"', /indexed by a string literal/, "key"],
    ['key + "x" == "ax"', /string concatenation/, 'key + "x"'],
    ['"a" + "b" == "ab"', /string concatenation/, '"a" + "b"'],
    ['int(key) == "1"', /cannot compare int with string/, 'int(key) == "1"'],
    ["key == 1", /cannot compare string with int/, "key == 1"],
    ["int(key) == 1u", /cannot compare int with uint/, "int(key) == 1u"],
    ["1 + 1u == 2u", /arithmetic needs operands of one type, found int and uint/, "1 + 1u"],
    ["2.5 % 2.0 == 0.5", /% is defined on int and uint only/, "2.5 % 2.0"],
    ["-(1u) == 1u", /operand of - must be int or double, found uint/, "1u"],
    ["key in [request.query.a]", /list elements must be literals/, "request.query.a"],
    ['key in ["a", 1]', /list elements must be string/, "1"],
    ["int(key) in [1, int(key)]", /list elements must be literals/, ["int(key)", 1]],
    ["key in request.query", /'in' takes a list literal/, "request.query"],
    ["[1] == [1]", /list may appear only on the right of 'in'/, "[1]"],
    ["!1", /operand of ! must be bool/, "1"],
    ['-"a" == "a"', /operand of - must be int or double/, '"a"'],
    ["key.matches(key)", /pattern of matches\(\) must be a string literal/, ["key", 1]],
    ['key.matches("(a)\\1")', /backreferences have no linear-time automaton/, '"(a)\\1"'],
    ['key.matches("a(?=b)")', /lookaround has no linear-time automaton/, '"a(?=b)"'],
    ['key.matches("(a|b)*a(a|b){20}")', /automaton states/, '"(a|b)*a(a|b){20}"'],
    ['key.matches("[")', /invalid regular expression/, '"["'],
    ["cidr(key).contains(request.ip)", /cidr\(\) takes one string literal/, "cidr(key)"],
    ['cidr("10.0.0.0").contains(request.ip)', /needs a prefix length/, '"10.0.0.0"'],
    ['cidr("10.0.0.0/33").contains(request.ip)', /prefix length outside 0–32/, '"10.0.0.0/33"'],
    ['cidr("010.0.0.0/8").contains(request.ip)', /is not an IPv4 or IPv6 prefix/, '"010.0.0.0/8"'],
    ['cidr("10.0.0.0/8") == cidr("10.0.0.0/8")', /cidr\(\) is used as/, ['cidr("10.0.0.0/8")', 0]],
    ["bucket(key) == 1", /bucket\(\) takes 2 arguments/, "bucket(key)"],
    ['bucket(key, "10") == 1', /bucket\(\) count must be int/, '"10"'],
    ['string(1.5) == "1.5"', /string\(\) of a double is not supported/, "1.5"],
    ["double(request.method) > 1.0", /double\(\) of a string takes a literal or a request attribute/, "request.method"],
    ["bool(key)", /function 'bool' is not supported/, "bool(key)"],
    ["type(key) == string", /function 'type' is not supported/, "type(key)"],
    ["[1].exists(x, x > 0)", /macros other than has\(\) are not supported/, "[1].exists(x, x > 0)"],
    ['{"a": 1} == {"a": 1}', /maps and messages are not supported/, '{"a": 1}'],
    ["int(key, 1) == 1", /int\(\) takes 1 argument/, "int(key, 1)"],
    ["size(1) == 1", /size\(\) argument must be string/, "1"],
    ["key", /a condition must be bool, found string/, "key"],
    ["int(key) + 1", /a condition must be bool, found int/, "int(key) + 1"],
    ["key ==", /syntax error/, "key =="],
  ];
  for (const [condition, message, span] of cases) {
    it(`${condition} → ${message.source}`, () => {
      expect(message.source.length).toBeGreaterThan(0);
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
