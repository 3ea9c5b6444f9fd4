/**
 * Substring search for the VM's CONTAINS in linear worst-case time and no allocation: both the
 * haystack (a request value, up to 64 KiB) and the needle can be long, and a naive O(n·m) scan
 * would let one request burn seconds of CPU.
 */
import { bytesEqual } from "./bytes";

const NAIVE_MAX_NEEDLE: usize = 16;
// Two-Way scratch: a 256-bit byte set and a 256-entry shift table (u32), in static memory.
const BYTESET: usize = memory.data(32, 16);
const SHIFT: usize = memory.data(256 * 4, 16);

/**
 * Whether the `nLen` bytes at `n` occur in the `hLen` bytes at `h`. The empty needle occurs
 * everywhere. O(hLen + nLen): a direct scan for needles of ≤ 16 bytes (at most 16 compares per
 * haystack byte), otherwise Crochemore–Perrin Two-Way as musl's memmem (src/string/memmem.c,
 * twoway_memmem), which needs O(1) extra space.
 */
export function containsBytes(h: usize, hLen: usize, n: usize, nLen: usize): bool {
  if (nLen == 0) return true;
  if (nLen > hLen) return false;
  if (nLen <= NAIVE_MAX_NEEDLE) {
    const first = load<u8>(n);
    const last = hLen - nLen;
    for (let i: usize = 0; i <= last; i++) {
      if (load<u8>(h + i) == first && bytesEqual(h + i + 1, n + 1, nLen - 1)) return true;
    }
    return false;
  }
  return twoWay(h, hLen, n, nLen);
}

@inline function hasByte(b: u32): bool {
  return (<u32>load<u8>(BYTESET + (b >> 3)) & (<u32>1 << (b & 7))) != 0;
}

/** musl twoway_memmem with lengths instead of an end pointer; `l` ≥ 1. */
function twoWay(h: usize, hLen: usize, n: usize, l: usize): bool {
  memory.fill(BYTESET, 0, 32);
  for (let i: usize = 0; i < l; i++) {
    const b = <u32>load<u8>(n + i);
    const cell = BYTESET + (b >> 3);
    store<u8>(cell, <u32>load<u8>(cell) | (<u32>1 << (b & 7)));
    store<u32>(SHIFT + (b << 2), <u32>(i + 1));
  }

  // Maximal suffix for < and for >; `ip` starts at -1 (musl relies on size_t wrap-around).
  let ip: isize = -1;
  let jp: isize = 0;
  let k: isize = 1;
  let p: isize = 1;
  const li = <isize>l;
  while (jp + k < li) {
    const a = load<u8>(n + <usize>(ip + k));
    const b = load<u8>(n + <usize>(jp + k));
    if (a == b) {
      if (k == p) { jp += p; k = 1; } else k++;
    } else if (a > b) {
      jp += k; k = 1; p = jp - ip;
    } else {
      ip = jp++; k = p = 1;
    }
  }
  let ms = ip;
  const p0 = p;

  ip = -1; jp = 0; k = p = 1;
  while (jp + k < li) {
    const a = load<u8>(n + <usize>(ip + k));
    const b = load<u8>(n + <usize>(jp + k));
    if (a == b) {
      if (k == p) { jp += p; k = 1; } else k++;
    } else if (a < b) {
      jp += k; k = 1; p = jp - ip;
    } else {
      ip = jp++; k = p = 1;
    }
  }
  if (ip > ms) ms = ip;
  else p = p0;

  // Periodic needle?
  let mem0: isize;
  if (!bytesEqual(n, n + <usize>p, <usize>(ms + 1))) {
    mem0 = 0;
    p = (ms > li - ms - 1 ? ms : li - ms - 1) + 1;
  } else {
    mem0 = li - p;
  }
  let mem: isize = 0;

  let at: usize = 0; // haystack position
  while (hLen - at >= l) {
    // Last byte first; skip by the shift table on a mismatch.
    const c = <u32>load<u8>(h + at + l - 1);
    if (hasByte(c)) {
      let s = li - <isize>load<u32>(SHIFT + (c << 2));
      if (s != 0) {
        if (mem0 != 0 && mem != 0 && s < p) s = li - p;
        at += <usize>s;
        mem = 0;
        continue;
      }
    } else {
      at += l;
      mem = 0;
      continue;
    }
    // Right half.
    k = ms + 1 > mem ? ms + 1 : mem;
    while (k < li && load<u8>(n + <usize>k) == load<u8>(h + at + <usize>k)) k++;
    if (k < li) {
      at += <usize>(k - ms);
      mem = 0;
      continue;
    }
    // Left half.
    k = ms + 1;
    while (k > mem && load<u8>(n + <usize>(k - 1)) == load<u8>(h + at + <usize>(k - 1))) k--;
    if (k <= mem) return true;
    at += <usize>p;
    mem = mem0;
  }
  return false;
}
