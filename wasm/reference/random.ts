/**
 * The injected random source every randomized decision draws from (weighted random, P2C, hash
 * for a request without a key, back-off jitter, enforcement percentages). xoshiro128**
 * (Blackman & Vigna, https://prng.di.unimi.it/xoshiro128starstar.c): four u32 words of state,
 * 32-bit operations only, so the AssemblyScript port is a line-for-line copy and, seeded alike,
 * produces the same stream. Seeded through a 32-bit splitmix (Weyl sequence + murmur3 fmix32) so
 * nearby seeds give unrelated streams; each isolate gets its own seed (as Envoy seeds each
 * worker) so a fleet of gateways does not pick hosts in lockstep.
 */

/** A source of uniformly distributed u32 values. */
export interface Random {
  /** Next value in [0, 2^32). */
  nextU32(): number;
}

const TWO_POW_26 = 67_108_864;
const TWO_POW_53 = 9_007_199_254_740_992;

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** xoshiro128** from an explicit state (not all zero). O(1) per draw. */
export function createRandomFromState(s0: number, s1: number, s2: number, s3: number): Random {
  let a = s0 >>> 0;
  let b = s1 >>> 0;
  let c = s2 >>> 0;
  let d = s3 >>> 0;
  if ((a | b | c | d) === 0) throw new RangeError("xoshiro128** state must not be all zero");
  return {
    nextU32() {
      const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
      const t = (b << 9) >>> 0;
      c = (c ^ a) >>> 0;
      d = (d ^ b) >>> 0;
      b = (b ^ c) >>> 0;
      a = (a ^ d) >>> 0;
      c = (c ^ t) >>> 0;
      d = rotl(d, 11);
      return result;
    },
  };
}

/** xoshiro128** seeded from a u32 `seed` through four splitmix32 outputs. */
export function createRandom(seed: number): Random {
  let weyl = seed >>> 0;
  const next = () => {
    weyl = (weyl + 0x9e3779b9) >>> 0;
    let z = weyl;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  const s0 = next();
  const s1 = next();
  const s2 = next();
  const s3 = next();
  // splitmix32 is a bijection of a Weyl sequence, so four zero outputs cannot happen; guard anyway.
  return (s0 | s1 | s2 | s3) === 0 ? createRandomFromState(1, 2, 3, 4) : createRandomFromState(s0, s1, s2, s3);
}

/**
 * Uniform double in [0, 1) with 53 random bits, from two draws (the upper 27 and 26 bits). The
 * same f64 arithmetic in WASM gives the same value.
 */
export function randomUnit(random: Random): number {
  const high = random.nextU32() >>> 5;
  const low = random.nextU32() >>> 6;
  return (high * TWO_POW_26 + low) / TWO_POW_53;
}

/**
 * Uniform integer in [0, n) for 1 ≤ n ≤ 2^53 (bias below 2^-53·n, irrelevant here); two draws.
 * Effective weights reach 10^10 per instance, so a u32 range would not do.
 */
export function randomBelow(random: Random, n: number): number {
  return Math.min(Math.floor(randomUnit(random) * n), n - 1);
}

/** Uniform u64 from two draws (high word first): the hash of a request that has no hash key. */
export function randomU64(random: Random): bigint {
  const high = BigInt(random.nextU32());
  return (high << 32n) | BigInt(random.nextU32());
}
