/**
 * Byte-string primitives on raw addresses: FNV-1a hashing, equality, ordering, UTF-8 code point
 * counting. No allocation; callers pass addresses and lengths in bytes.
 */

export const FNV_OFFSET: u32 = 2166136261;
const FNV_PRIME: u32 = 16777619;

/** One FNV-1a step: 32-bit FNV-1a (Fowler/Noll/Vo) over one byte, wrapping. */
@inline export function fnvByte(h: u32, b: u32): u32 {
  return (h ^ b) * FNV_PRIME;
}

/** Continues the 32-bit FNV-1a hash `h` over `len` bytes at `ptr`. O(len). */
export function fnvBytes(h: u32, ptr: usize, len: usize): u32 {
  for (let i: usize = 0; i < len; i++) h = fnvByte(h, load<u8>(ptr + i));
  return h;
}

/** Whether the `n` bytes at `a` equal the `n` bytes at `b`. Eight bytes at a time. */
export function bytesEqual(a: usize, b: usize, n: usize): bool {
  let i: usize = 0;
  while (n - i >= 8) {
    if (load<u64>(a + i) != load<u64>(b + i)) return false;
    i += 8;
  }
  while (i < n) {
    if (load<u8>(a + i) != load<u8>(b + i)) return false;
    i++;
  }
  return true;
}

/**
 * Bytewise (unsigned) order of two byte strings, shorter first on a common prefix: -1, 0 or 1.
 * For UTF-8 this is code point order, as CEL orders strings.
 */
export function compareBytes(a: usize, aLen: usize, b: usize, bLen: usize): i32 {
  const n = aLen < bLen ? aLen : bLen;
  let i: usize = 0;
  while (n - i >= 8 && load<u64>(a + i) == load<u64>(b + i)) i += 8;
  while (i < n) {
    const x = load<u8>(a + i);
    const y = load<u8>(b + i);
    if (x != y) return x < y ? -1 : 1;
    i++;
  }
  return aLen < bLen ? -1 : aLen > bLen ? 1 : 0;
}

/** Number of Unicode code points in `len` bytes of UTF-8: the bytes that are not 10xxxxxx. */
export function countCodePoints(ptr: usize, len: usize): i64 {
  let n: i64 = 0;
  for (let i: usize = 0; i < len; i++) n += i64((load<u8>(ptr + i) & 0xc0) != 0x80);
  return n;
}
