/**
 * The isolate's random source: xoshiro128** (Blackman & Vigna,
 * https://prng.di.unimi.it/xoshiro128starstar.c), a line-for-line copy of
 * wasm/reference/random.ts, so the same state draws the same numbers as the reference. One
 * 16-byte state per isolate, seeded by the host (crypto.getRandomValues) so a fleet of gateways
 * does not pick in lockstep.
 */
import { fmix32 } from "../murmur";

const STATE: usize = memory.data(16, 16);
const TWO_POW_26: f64 = 67108864;
const TWO_POW_53: f64 = 9007199254740992;

/** Sets the state; an all-zero state (a fixed point) becomes (1, 2, 3, 4). */
export function seedRandom(s0: u32, s1: u32, s2: u32, s3: u32): void {
  if ((s0 | s1 | s2 | s3) == 0) {
    s0 = 1;
    s1 = 2;
    s2 = 3;
    s3 = 4;
  }
  store<u32>(STATE, s0);
  store<u32>(STATE, s1, 4);
  store<u32>(STATE, s2, 8);
  store<u32>(STATE, s3, 12);
}

/**
 * Seeds from one u32 through four splitmix32 outputs, as the reference's createRandom(seed).
 * splitmix32's mixer is exactly murmur's fmix32 (shifts 16, 13, 16; ×0x85ebca6b, ×0xc2b2ae35).
 */
export function seedRandomFrom(seed: u32): void {
  const g: u32 = 0x9e3779b9;
  seedRandom(fmix32(seed + g), fmix32(seed + 2 * g), fmix32(seed + 3 * g), fmix32(seed + 4 * g));
}

/** Next value in [0, 2^32). O(1). */
export function nextU32(): u32 {
  const a = load<u32>(STATE);
  const b = load<u32>(STATE, 4);
  let c = load<u32>(STATE, 8);
  let d = load<u32>(STATE, 12);
  const result = rotl<u32>(b * 5, 7) * 9;
  const t = b << 9;
  c ^= a;
  d ^= b;
  const b2 = b ^ c;
  const a2 = a ^ d;
  c ^= t;
  d = rotl<u32>(d, 11);
  store<u32>(STATE, a2);
  store<u32>(STATE, b2, 4);
  store<u32>(STATE, c, 8);
  store<u32>(STATE, d, 12);
  return result;
}

/** Uniform f64 in [0, 1) with 53 random bits (two draws), as the reference's randomUnit. */
export function randomUnit(): f64 {
  const high = <f64>(nextU32() >>> 5);
  const low = <f64>(nextU32() >>> 6);
  return (high * TWO_POW_26 + low) / TWO_POW_53;
}

/** Uniform integer in [0, n) for 1 ≤ n ≤ 2^53, as an f64 (effective weights exceed u32). */
export function randomBelow(n: f64): f64 {
  return Math.min(Math.floor(randomUnit() * n), n - 1);
}

/** Uniform u64, high word first: the hash of a request that has no hash key (Envoy). */
export function randomU64(): u64 {
  const high = <u64>nextU32();
  return (high << 32) | <u64>nextU32();
}
