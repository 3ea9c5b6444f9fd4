/**
 * MurmurHash3_x86_32 (Austin Appleby, smhasher/src/MurmurHash3.cpp), seed 0, over raw bytes:
 * `bucket(x, n)` and the STRS set hash. wasm/reference/bucket.ts is the TypeScript copy;
 * docs/conditions.md gives test vectors. Also its 32- and 64-bit finalizers (fmix), which hash
 * intern ids and integers in DATA sets.
 */

const C1: u32 = 0xcc9e2d51;
const C2: u32 = 0x1b873593;

/** fmix32. */
@inline export function fmix32(h: u32): u32 {
  h ^= h >>> 16;
  h *= 0x85ebca6b;
  h ^= h >>> 13;
  h *= 0xc2b2ae35;
  h ^= h >>> 16;
  return h;
}

/** fmix64. */
@inline export function fmix64(k: u64): u64 {
  k ^= k >>> 33;
  k *= 0xff51afd7ed558ccd;
  k ^= k >>> 33;
  k *= 0xc4ceb9fe1a85ec53;
  k ^= k >>> 33;
  return k;
}

/** MurmurHash3_x86_32 of the `len` bytes at `p`, seed 0. O(len). */
export function murmur3(p: usize, len: usize): u32 {
  let h: u32 = 0;
  const blocks = len & ~3;
  for (let i: usize = 0; i < blocks; i += 4) {
    let k = load<u32>(p + i); // little-endian, as the reference reads blocks
    k *= C1;
    k = rotl<u32>(k, 15);
    k *= C2;
    h ^= k;
    h = rotl<u32>(h, 13);
    h = h * 5 + 0xe6546b64;
  }
  let k: u32 = 0;
  const tail = len & 3;
  if (tail == 3) k ^= <u32>load<u8>(p + blocks + 2) << 16;
  if (tail >= 2) k ^= <u32>load<u8>(p + blocks + 1) << 8;
  if (tail >= 1) {
    k ^= <u32>load<u8>(p + blocks);
    k *= C1;
    k = rotl<u32>(k, 15);
    k *= C2;
    h ^= k;
  }
  h ^= <u32>len;
  return fmix32(h);
}
