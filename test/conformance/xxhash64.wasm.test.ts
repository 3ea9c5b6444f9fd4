/**
 * xxHash64 and the random source (xxhash64.cases.ts, random.cases.ts) against the WASM port:
 * the port uses the reference's generator, so the random table applies in full.
 */
import { describe, expect, it } from "vitest";
import { RANDOM_CASES } from "./random.cases.ts";
import { SnapshotGroups } from "./snapshot-groups.ts";
import { wasmRandom } from "./wasm-adapters.ts";
import { caseBytes, XXHASH64_CASES } from "./xxhash64.cases.ts";

const b = new SnapshotGroups().balancing;

describe("xxHash64", () => {
  it.each(XXHASH64_CASES.map((c) => [c.name, c] as const))("%s", (_, c) => {
    expect(b.xxHash64(caseBytes(c), c.seed).toString(16)).toBe(c.want.toString(16));
  });
});

describe("xoshiro128**", () => {
  it.each(RANDOM_CASES.map((c) => [c.name, c] as const))("%s", (_, c) => {
    const random = "state" in c.source ? wasmRandom.fromState(...c.source.state) : wasmRandom.fromSeed(c.source.seed);
    expect(c.want.map(() => random.nextU32())).toEqual(c.want);
  });
});
