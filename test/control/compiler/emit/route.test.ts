/**
 * Differential test of whole routes: a route's policy list compiled into one program (SWITCH_IDS
 * runs, graylist gates, root-level && / || chains, stack code) and run by the WASM VM must pick
 * the same policy, and count the same condition errors, as the route semantics written out with
 * the TypeScript reference evaluator: in route order, skip a disabled policy, one whose key is
 * absent (a policy is about its key), and a graylisted one whose key is not listed; the first
 * condition that is true wins; each condition that errs before the winner counts one error
 * (docs/bytecode.md, "Running a route"). Policies draw their key from a few passways, in runs, so
 * key gates shared by a run of policies and gates between runs are both exercised.
 * test/control/compiler/evaluate.test.ts checks single conditions against @bufbuild/cel; this file
 * checks what only a route has: order, errors across policies, and the compiler's route-level
 * forms. Reproduce a failure with `FC_SEED=<seed> npx vitest run test/control/compiler/emit/route.test.ts`.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { SWITCH_MIN_RUN } from "../../../../control/compiler/emit/route.ts";
import { keyAttribute, lowerCondition } from "../../../../control/compiler/index.ts";
import type { PolicyConfig } from "../../../../control/snapshot/model.ts";
import { compileEvaluator } from "../../../../wasm/cel/evaluate.ts";
import { ERROR } from "../../../../wasm/cel/values.ts";
import { DecideStatus, type HotPath } from "../../../../wasm/host.ts";
import { boolE, HOST, type Req, requestArb } from "../../../support/condition-gen.ts";
import { referenceRequest, vmRequest } from "../../../support/condition-oracle.ts";
import { group, instance, instantiate, policy, route, write } from "../../../support/wasm-fixtures.ts";

const RUNS = Number(process.env.FC_RUNS ?? 500);
const SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
const REQUESTS_PER_ROUTE = 6;
const PATH = "/r";

/** Values the routing-shaped conditions test, drawn from the request generator's own words. */
const VALUES = ["a", "ab", "abc", "7", "42", "é", ""];
const STRING_ATTRS = ["key", "request.query.a", 'request.header["x-a"]', "request.cookie.c", "request.consumer.name"];

/**
 * Conditions shaped like routing policies, so consecutive ones often test one attribute for
 * equality (SWITCH_IDS runs) and chains mix fused tests with errors (absent attributes, int()).
 */
const shapedArb: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.constantFrom(...STRING_ATTRS), fc.constantFrom(...VALUES)).map(([a, v]) => `${a} == ${JSON.stringify(v)}`),
  fc
    .tuple(fc.constantFrom(...STRING_ATTRS), fc.subarray(VALUES, { minLength: 1, maxLength: 3 }))
    .map(([a, vs]) => `${a} in [${vs.map((v) => JSON.stringify(v)).join(", ")}]`),
  fc.tuple(fc.constantFrom(...STRING_ATTRS), fc.constantFrom(...VALUES)).map(([a, v]) => `${a} != ${JSON.stringify(v)}`),
  fc.tuple(fc.constantFrom(...STRING_ATTRS), fc.constantFrom("a", "é", "4")).map(([a, v]) => `${a}.startsWith(${JSON.stringify(v)})`),
  fc.tuple(fc.constantFrom("key", "request.cookie.n"), fc.integer({ min: 1, max: 4 })).map(([a, m]) => `int(${a}) % ${m} == 0`),
  fc.constantFrom('request.method == "POST"', "has(request.header.xn)", "bucket(key, 4) < 2", 'cidr("10.0.0.0/8").contains(request.ip)'),
);

const conditionArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: shapedArb },
  { weight: 2, arbitrary: fc.tuple(shapedArb, fc.constantFrom("&&", "||"), shapedArb).map(([a, op, b]) => `${a} ${op} ${b}`) },
  { weight: 1, arbitrary: fc.tuple(shapedArb, shapedArb, shapedArb).map(([a, b, c]) => `${a} && ${b} && ${c}`) },
  { weight: 2, arbitrary: boolE(2).map((g) => g.src) },
);

/** Policy keys: [passway, key name], as the request generator fills them. */
const KEYS = [
  ["query", "key"],
  ["query", "a"],
  ["header", "x-a"],
  ["cookie", "c"],
] as const;
type GenKey = (typeof KEYS)[number];
const keyArb: fc.Arbitrary<GenKey> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(KEYS[0]) },
  { weight: 1, arbitrary: fc.constantFrom(...KEYS.slice(1)) },
);

interface GenPolicy {
  condition: string;
  key: GenKey;
  enabled: boolean;
  graylist: string[];
}

const policyArb: fc.Arbitrary<GenPolicy> = fc.record({
  condition: conditionArb,
  key: keyArb,
  enabled: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  graylist: fc.oneof(
    { weight: 4, arbitrary: fc.constant([] as string[]) },
    { weight: 1, arbitrary: fc.subarray(["7", "42", "a", "abc"], { minLength: 1 }) },
  ),
});

/**
 * A run of policies testing one attribute for equality: what SWITCH_IDS compiles when the
 * attribute is the policies' own key (`key`, or the key named in full).
 */
const switchRunArb: fc.Arbitrary<GenPolicy[]> = fc
  .tuple(
    fc.constantFrom(...STRING_ATTRS),
    keyArb,
    fc.array(fc.subarray(VALUES, { minLength: 1, maxLength: 2 }), { minLength: SWITCH_MIN_RUN, maxLength: 5 }),
  )
  .map(([a, key, lists]) =>
    lists.map((vs) => ({
      condition: vs.length === 1 ? `${a} == ${JSON.stringify(vs[0])}` : `${a} in [${vs.map((v) => JSON.stringify(v)).join(", ")}]`,
      key,
      enabled: true,
      graylist: [],
    })),
  );

const routeArb: fc.Arbitrary<GenPolicy[]> = fc
  .array(fc.oneof({ weight: 5, arbitrary: policyArb.map((p) => [p]) }, { weight: 1, arbitrary: switchRunArb }), {
    minLength: 1,
    maxLength: 8,
  })
  .map((parts) => parts.flat());

/** The value of policy key `key` in `req`. */
function keyOf(req: Req, [passway, name]: GenKey): string | undefined {
  return req[passway][name];
}

/** The route semantics, on the reference evaluator: [winning policy index or −1, errors counted]. */
function referenceRoute(policies: GenPolicy[], req: Req): [number, number] {
  const view = referenceRequest(req, PATH);
  let errors = 0;
  for (const [i, p] of policies.entries()) {
    if (!p.enabled) continue;
    // A policy is about its key: without it the policy does not apply (no error counted).
    const key = keyOf(req, p.key);
    if (key === undefined) continue;
    if (p.graylist.length > 0 && !p.graylist.includes(key)) continue;
    const v = compileEvaluator(lowerCondition(p.condition, keyAttribute(p.key[0], p.key[1])))(view);
    if (v === true) return [i, errors];
    if (v === ERROR) errors++;
  }
  return [-1, errors];
}

function vmRoute(hot: HotPath, req: Req): [number, number] {
  const r = hot.decide(vmRequest(req, PATH));
  if (r.status !== DecideStatus.OK) throw new Error(`decide status ${r.status}`);
  const name = r.policy < 0 ? undefined : hot.snapshot.policies[r.policy]?.name;
  return [name === undefined ? -1 : Number(name.slice(1)) - 1, r.conditionErrors];
}

let hot: HotPath;
let version = 0n;

beforeAll(async () => {
  ({ hot } = await instantiate());
});

describe("a route's program agrees with the route semantics on the reference evaluator", () => {
  it(`on ${RUNS} generated routes × ${REQUESTS_PER_ROUTE} requests: the same policy wins and the same errors are counted`, () => {
    const seen = { match: 0, none: 0, errors: 0, keyAbsent: 0 };
    fc.assert(
      fc.property(
        routeArb,
        fc.array(requestArb, { minLength: REQUESTS_PER_ROUTE, maxLength: REQUESTS_PER_ROUTE }),
        (generated, requests) => {
          const policies: PolicyConfig[] = generated.map((p, i) =>
            policy(i + 1, p.condition, "hit", { passway: p.key[0], key: p.key[1], enabled: p.enabled, graylist: p.graylist }),
          );
          version += 1n;
          const loaded = hot.load(
            write(
              {
                groups: [group(1, "main", [instance(1, 1)]), group(2, "hit", [instance(2, 1)])],
                policies,
                routes: [route(1, HOST, PATH, { match: "exact", policies: policies.map((p) => p.name) })],
              },
              version,
            ),
          );
          if (!loaded.ok) throw new Error(`snapshot refused: ${loaded.reason}`);
          for (const req of requests) {
            const want = referenceRoute(generated, req);
            const got = vmRoute(hot, req);
            if (got[0] !== want[0] || got[1] !== want[1]) {
              throw new Error(
                `route ${JSON.stringify(generated)}\nrequest ${JSON.stringify(req)}\nVM [policy, errors] ${JSON.stringify(got)}, reference ${JSON.stringify(want)}`,
              );
            }
            if (want[0] >= 0) seen.match++;
            else seen.none++;
            if (want[1] > 0) seen.errors++;
            if (generated.some((p) => p.enabled && keyOf(req, p.key) === undefined)) seen.keyAbsent++;
          }
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
    console.log(`route differential: ${JSON.stringify(seen)}`);
    // The generator must keep producing every outcome: matches, no match, counted errors, and
    // policies that do not apply for want of their key.
    const total = RUNS * REQUESTS_PER_ROUTE;
    expect(seen.match).toBeGreaterThan(total * 0.1);
    expect(seen.none).toBeGreaterThan(total * 0.1);
    expect(seen.errors).toBeGreaterThan(total * 0.1);
    expect(seen.keyAbsent).toBeGreaterThan(total * 0.1);
  });
});
