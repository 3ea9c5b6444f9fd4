/**
 * xxHash64 (Yann Collet, https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md), the hash
 * Envoy's ring hash and maglev use (HashUtil::xxHash64, seed 0; maglev's skip uses seed 1).
 * BigInt arithmetic masked to 64 bits: clear rather than fast; the AssemblyScript port uses native
 * u64 and the same steps. Checked against the official sanity vectors
 * (cli/xsum_sanity_check.c) in test/conformance/xxhash64.test.ts.
 */

const MASK_64 = 0xffff_ffff_ffff_ffffn;
const PRIME64_1 = 0x9e37_79b1_85eb_ca87n;
const PRIME64_2 = 0xc2b2_ae3d_27d4_eb4fn;
const PRIME64_3 = 0x1656_67b1_9e37_79f9n;
const PRIME64_4 = 0x85eb_ca77_c2b2_ae63n;
const PRIME64_5 = 0x27d4_eb2f_1656_67c5n;

const encoder = new TextEncoder();

function rotl64(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & MASK_64;
}

function round(acc: bigint, lane: bigint): bigint {
  const a = (acc + lane * PRIME64_2) & MASK_64;
  return (rotl64(a, 31n) * PRIME64_1) & MASK_64;
}

function mergeRound(acc: bigint, value: bigint): bigint {
  const a = acc ^ round(0n, value);
  return (a * PRIME64_1 + PRIME64_4) & MASK_64;
}

/**
 * XXH64 of `bytes` with `seed` (u64). O(length).
 * Example: xxHash64(utf8("")) === 0xef46db3751d8e999n.
 */
export function xxHash64(bytes: Uint8Array, seed = 0n): bigint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = bytes.length;
  const s = seed & MASK_64;
  let offset = 0;
  let h: bigint;
  if (length >= 32) {
    // Four accumulators over 32-byte stripes.
    let v1 = (s + PRIME64_1 + PRIME64_2) & MASK_64;
    let v2 = (s + PRIME64_2) & MASK_64;
    let v3 = s;
    let v4 = (s - PRIME64_1) & MASK_64;
    for (; offset + 32 <= length; offset += 32) {
      v1 = round(v1, view.getBigUint64(offset, true));
      v2 = round(v2, view.getBigUint64(offset + 8, true));
      v3 = round(v3, view.getBigUint64(offset + 16, true));
      v4 = round(v4, view.getBigUint64(offset + 24, true));
    }
    h = (rotl64(v1, 1n) + rotl64(v2, 7n) + rotl64(v3, 12n) + rotl64(v4, 18n)) & MASK_64;
    h = mergeRound(h, v1);
    h = mergeRound(h, v2);
    h = mergeRound(h, v3);
    h = mergeRound(h, v4);
  } else {
    h = (s + PRIME64_5) & MASK_64;
  }
  h = (h + BigInt(length)) & MASK_64;
  for (; offset + 8 <= length; offset += 8) {
    h ^= round(0n, view.getBigUint64(offset, true));
    h = (rotl64(h, 27n) * PRIME64_1 + PRIME64_4) & MASK_64;
  }
  if (offset + 4 <= length) {
    h ^= (BigInt(view.getUint32(offset, true)) * PRIME64_1) & MASK_64;
    h = (rotl64(h, 23n) * PRIME64_2 + PRIME64_3) & MASK_64;
    offset += 4;
  }
  for (; offset < length; offset++) {
    h ^= (BigInt(bytes[offset]!) * PRIME64_5) & MASK_64;
    h = (rotl64(h, 11n) * PRIME64_1) & MASK_64;
  }
  // Avalanche.
  h ^= h >> 33n;
  h = (h * PRIME64_2) & MASK_64;
  h ^= h >> 29n;
  h = (h * PRIME64_3) & MASK_64;
  h ^= h >> 32n;
  return h;
}

/** XXH64 of the UTF-8 bytes of `text`: how request hash keys and host keys are hashed. */
export function xxHash64Text(text: string, seed = 0n): bigint {
  return xxHash64(encoder.encode(text), seed);
}
