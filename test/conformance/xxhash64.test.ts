/**
 * xxHash64 and the random source against their tables (xxhash64.cases.ts, random.cases.ts).
 */
import { describe, expect, it } from "vitest";
import { createRandom, createRandomFromState, xxHash64 } from "../../wasm/reference/index.ts";
import { RANDOM_CASES } from "./random.cases.ts";
import { caseBytes, XXHASH64_CASES } from "./xxhash64.cases.ts";

describe("xxHash64", () => {
  it.each(XXHASH64_CASES.map((c) => [c.name, c] as const))("%s", (_, c) => {
    expect(xxHash64(caseBytes(c), c.seed).toString(16)).toBe(c.want.toString(16));
  });

  it("hashes a subarray by its own bytes", () => {
    const bytes = new TextEncoder().encode("xxabcxx").subarray(2, 5);
    expect(xxHash64(bytes)).toBe(0x44bc2cf5ad770999n);
  });
});

describe("xoshiro128**", () => {
  it.each(RANDOM_CASES.map((c) => [c.name, c] as const))("%s", (_, c) => {
    const random = "state" in c.source ? createRandomFromState(...c.source.state) : createRandom(c.source.seed);
    expect(c.want.map(() => random.nextU32())).toEqual(c.want);
  });

  it("refuses the all-zero state", () => {
    expect(() => createRandomFromState(0, 0, 0, 0)).toThrow(RangeError);
  });
});
