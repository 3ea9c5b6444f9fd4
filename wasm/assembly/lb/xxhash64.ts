/**
 * xxHash64 (Yann Collet, https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md) on
 * native u64: the hash ring hash and maglev use (Envoy HashUtil::xxHash64; seed 0, maglev's skip
 * seed 1) and the hash of a request's hash key. Same steps as wasm/reference/xxhash64.ts.
 */

const PRIME64_1: u64 = 0x9e3779b185ebca87;
const PRIME64_2: u64 = 0xc2b2ae3d27d4eb4f;
const PRIME64_3: u64 = 0x165667b19e3779f9;
const PRIME64_4: u64 = 0x85ebca77c2b2ae63;
const PRIME64_5: u64 = 0x27d4eb2f165667c5;

// @ts-ignore: decorator
@inline function round(acc: u64, lane: u64): u64 {
  return rotl<u64>(acc + lane * PRIME64_2, 31) * PRIME64_1;
}

// @ts-ignore: decorator
@inline function mergeRound(acc: u64, value: u64): u64 {
  return (acc ^ round(0, value)) * PRIME64_1 + PRIME64_4;
}

/**
 * XXH64 of the `len` bytes at `ptr` with `seed`. O(len), no allocation.
 * Example: xxHash64 of "" with seed 0 is 0xef46db3751d8e999.
 */
export function xxHash64(ptr: usize, len: usize, seed: u64): u64 {
  const end = ptr + len;
  let p = ptr;
  let h: u64;
  if (len >= 32) {
    let v1 = seed + PRIME64_1 + PRIME64_2;
    let v2 = seed + PRIME64_2;
    let v3 = seed;
    let v4 = seed - PRIME64_1;
    for (; p + 32 <= end; p += 32) {
      v1 = round(v1, load<u64>(p));
      v2 = round(v2, load<u64>(p + 8));
      v3 = round(v3, load<u64>(p + 16));
      v4 = round(v4, load<u64>(p + 24));
    }
    h = rotl<u64>(v1, 1) + rotl<u64>(v2, 7) + rotl<u64>(v3, 12) + rotl<u64>(v4, 18);
    h = mergeRound(h, v1);
    h = mergeRound(h, v2);
    h = mergeRound(h, v3);
    h = mergeRound(h, v4);
  } else {
    h = seed + PRIME64_5;
  }
  h += <u64>len;
  for (; p + 8 <= end; p += 8) {
    h ^= round(0, load<u64>(p));
    h = rotl<u64>(h, 27) * PRIME64_1 + PRIME64_4;
  }
  if (p + 4 <= end) {
    h ^= (<u64>load<u32>(p)) * PRIME64_1;
    h = rotl<u64>(h, 23) * PRIME64_2 + PRIME64_3;
    p += 4;
  }
  for (; p < end; p++) {
    h ^= (<u64>load<u8>(p)) * PRIME64_5;
    h = rotl<u64>(h, 11) * PRIME64_1;
  }
  h ^= h >> 33;
  h *= PRIME64_2;
  h ^= h >> 29;
  h *= PRIME64_3;
  h ^= h >> 32;
  return h;
}
