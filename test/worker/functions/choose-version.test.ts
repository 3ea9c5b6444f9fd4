/**
 * Choosing a function's version per request (worker/functions/choose-version.ts,
 * docs/functions-runtime.md "Choosing the version"): tag, then lane, then the split by bucket —
 * the CEL `bucket(key, 100)` of the sticky key (the same code control's evaluator runs), else
 * random. Tables, then properties over random keys (FC_SEED / FC_RUNS to replay or widen).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lowerExpression } from "../../../control/compiler/index.ts";
import { compileEvaluator } from "../../../wasm/cel/evaluate.ts";
import type { FunctionEntry, FunctionTarget } from "../../../wasm/functions-section.ts";
import { bucketOf } from "../../../wasm/reference/bucket.ts";
import { chooseVersion, splitBucket, splitTarget, type VersionChoiceRequest } from "../../../worker/functions/choose-version.ts";

const target = (version: number, percent: number, tag: string | null = null, lane: string | null = null): FunctionTarget => ({
  version,
  group: version + 10,
  percent,
  tag,
  lane,
});

const entry = (targets: FunctionTarget[]): FunctionEntry => ({
  id: 1,
  appkey: "shop",
  name: "hello",
  entryGroup: 0,
  activationTimeoutMs: 10_000,
  stickiness: { from: "header", name: "x-user" },
  targets,
});

/** A request: tag, lane ("" the main lane), sticky key. */
const req = (tag: string | null = null, lane = "", stickyKey: string | null = null): VersionChoiceRequest => ({ tag, lane, stickyKey });
/** A request whose sticky key is `key`. */
const user = (key: string) => req(null, "", key);
/** A random source returning `u` (so bucket = floor(u × 100)). */
const fixed = (u: number) => () => u;

const CANARY = [target(1, 90), target(2, 10, "canary", "gray"), target(3, 0, "next", "blue")];
const HALF = [target(1, 50), target(2, 50)];

describe("chooseVersion", () => {
  const cases: { name: string; targets: FunctionTarget[]; request: VersionChoiceRequest; random: number; want: number }[] = [
    { name: "random bucket 0 → first target", targets: CANARY, request: req(), random: 0, want: 1 },
    { name: "random bucket 89 → first (0–89 is 90 %)", targets: CANARY, request: req(), random: 0.899, want: 1 },
    { name: "random bucket 90 → second (90–99)", targets: CANARY, request: req(), random: 0.9, want: 2 },
    { name: "random bucket 99 → second; the 0 % target never", targets: CANARY, request: req(), random: 0.999, want: 2 },
    { name: "tag reaches a 0 % target", targets: CANARY, request: req("next"), random: 0, want: 3 },
    { name: "unknown tag is ignored: the split decides", targets: CANARY, request: req("nope"), random: 0, want: 1 },
    { name: "lane reaches its target", targets: CANARY, request: req(null, "blue"), random: 0, want: 3 },
    { name: "tag beats lane", targets: CANARY, request: req("canary", "blue"), random: 0, want: 2 },
    { name: "unknown lane: the split decides", targets: CANARY, request: req(null, "red"), random: 0.95, want: 2 },
    { name: "single target at 100 %", targets: [target(4, 100)], request: req(), random: 0.999, want: 4 },
    { name: "0 % first target is skipped", targets: [target(1, 0), target(2, 100)], request: req(), random: 0, want: 2 },
    // docs/conditions.md vectors: murmur3("hello") = 0x248BFA47 = 613 153 351 → bucket 51;
    // murmur3("abc") = 0xB3DD93FA = 3 017 643 002 → bucket 2. The random source is not read.
    { name: "sticky hello (bucket 51) → second of 50/50", targets: HALF, request: user("hello"), random: 0, want: 2 },
    { name: "sticky abc (bucket 2) → first of 50/50", targets: HALF, request: user("abc"), random: 0.99, want: 1 },
    { name: "sticky hello (bucket 51) → first of 90/10", targets: CANARY, request: user("hello"), random: 0.99, want: 1 },
    {
      name: "lane beats the sticky key",
      targets: HALF.concat(target(3, 0, null, "gray")),
      request: req(null, "gray", "hello"),
      random: 0,
      want: 3,
    },
  ];
  it.each(cases)("$name", ({ targets, request, random, want }) => {
    expect(chooseVersion(entry(targets), request, fixed(random)).version).toBe(want);
  });

  it("throws for a function with no target (the caller checks first)", () => {
    expect(() => chooseVersion(entry([]), req(), fixed(0.5))).toThrow(RangeError);
  });

  it("hashes the sticky key as bucket(key, 100): hello is bucket 51", () => {
    expect(bucketOf("hello", 100)).toBe(0x248bfa47 % 100);
    expect(splitBucket("hello", fixed(0.99))).toBe(51);
    expect(splitBucket(null, fixed(0.999_999))).toBe(99);
  });

  it("splitTarget walks cumulative percents in order", () => {
    const targets = [target(1, 25), target(2, 0), target(3, 75)];
    expect([0, 24, 25, 99].map((b) => splitTarget(targets, b)?.version)).toEqual([1, 1, 3, 3]);
    expect(splitTarget([], 0)).toBeNull();
  });
});

describe("properties", () => {
  const runs = Number(process.env.FC_RUNS ?? 100);
  const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
  /** Percents summing to 100 over 1–6 targets. */
  const split = fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 0, maxLength: 5 }).map((cuts) => {
    const points = [0, ...cuts.sort((a, b) => a - b), 100];
    return points.slice(1).map((p, i) => target(i + 1, p - (points[i] as number)));
  });

  it("sticky keys are stable and never land on a 0 % target", () => {
    fc.assert(
      fc.property(split, fc.string(), (targets, key) => {
        const first = chooseVersion(entry(targets), user(key), Math.random);
        expect(chooseVersion(entry(targets), user(key), Math.random)).toBe(first);
        expect(first.percent).toBeGreaterThan(0);
      }),
      { numRuns: runs, seed },
    );
  });

  it("over 20 000 keys (sticky or random) each target gets its percent within 1.5 points", () => {
    fc.assert(
      fc.property(split, fc.integer(), fc.boolean(), (targets, salt, sticky) => {
        const counts = new Map<FunctionTarget, number>();
        const keys = 20_000;
        for (let i = 0; i < keys; i++) {
          const chosen = chooseVersion(entry(targets), sticky ? user(`u${salt}-${i}`) : req(), Math.random);
          counts.set(chosen, (counts.get(chosen) ?? 0) + 1);
        }
        for (const t of targets) expect(Math.abs((100 * (counts.get(t) ?? 0)) / keys - t.percent)).toBeLessThan(1.5);
      }),
      { numRuns: 10, seed },
    );
  });

  it("the split's bucket is control's CEL bucket(key, 100) for any key", () => {
    // `key` is the policy's key attribute, query parameter `key` (lowerExpression's default).
    const bucket = compileEvaluator(lowerExpression("bucket(key, 100)"));
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (key) => {
        const cel = bucket({
          method: "GET",
          host: "h",
          path: "/",
          attribute: (source, name) => (source === "query" && name === "key" ? key : undefined),
        });
        expect(splitBucket(key, fixed(0))).toBe(Number(cel));
      }),
      { numRuns: runs * 5, seed },
    );
  });
});
