/**
 * In-place heapsorts for generation commits and hash-table builds (no allocation, O(n log n)
 * worst case): u64 keys with u32 companions ordered by (key, companion), and u32 indices
 * ordered by the UTF-8 bytes they point at.
 */
import { compareBytes } from "../bytes";
import { INSTANCE_INFO_BYTES } from "./records";

// @ts-ignore: decorator
@inline function pairLess(keys: usize, vals: usize, a: usize, b: usize): bool {
  const ka = load<u64>(keys + (a << 3));
  const kb = load<u64>(keys + (b << 3));
  return ka < kb || (ka == kb && load<u32>(vals + (a << 2)) < load<u32>(vals + (b << 2)));
}

function swapPair(keys: usize, vals: usize, a: usize, b: usize): void {
  const k = load<u64>(keys + (a << 3));
  store<u64>(keys + (a << 3), load<u64>(keys + (b << 3)));
  store<u64>(keys + (b << 3), k);
  const v = load<u32>(vals + (a << 2));
  store<u32>(vals + (a << 2), load<u32>(vals + (b << 2)));
  store<u32>(vals + (b << 2), v);
}

function siftPairs(keys: usize, vals: usize, root: usize, n: usize): void {
  let r = root;
  for (;;) {
    let child: usize = 2 * r + 1;
    if (child >= n) return;
    if (child + 1 < n && pairLess(keys, vals, child, child + 1)) child++;
    if (!pairLess(keys, vals, r, child)) return;
    swapPair(keys, vals, r, child);
    r = child;
  }
}

/** Sorts `n` (u64 key, u32 companion) pairs held in two parallel arrays, ascending. */
export function sortPairs(keys: usize, vals: usize, n: usize): void {
  if (n < 2) return;
  for (let i = n >> 1; i-- > 0; ) siftPairs(keys, vals, i, n);
  for (let end = n - 1; end > 0; end--) {
    swapPair(keys, vals, 0, end);
    siftPairs(keys, vals, 0, end);
  }
}

// @ts-ignore: decorator
@inline function textLess(items: usize, ptrOf: usize, a: usize, b: usize): bool {
  const ia = <usize>load<u32>(items + (a << 2));
  const ib = <usize>load<u32>(items + (b << 2));
  const pa = ptrOf + ia * INSTANCE_INFO_BYTES;
  const pb = ptrOf + ib * INSTANCE_INFO_BYTES;
  const c = compareBytes(<usize>load<u32>(pa), <usize>load<u32>(pa, 4), <usize>load<u32>(pb), <usize>load<u32>(pb, 4));
  return c < 0 || (c == 0 && ia < ib);
}

function siftText(items: usize, ptrOf: usize, root: usize, n: usize): void {
  let r = root;
  for (;;) {
    let child: usize = 2 * r + 1;
    if (child >= n) return;
    if (child + 1 < n && textLess(items, ptrOf, child, child + 1)) child++;
    if (!textLess(items, ptrOf, r, child)) return;
    const t = load<u32>(items + (r << 2));
    store<u32>(items + (r << 2), load<u32>(items + (child << 2)));
    store<u32>(items + (child << 2), t);
    r = child;
  }
}

/**
 * Sorts `n` u32 indices by the string whose (ptr u32, len u32) sits at `ptrOf + index · INSTANCE_INFO_BYTES`
 * (ptrOf: the address field of the instance info table), byte order, ties by index.
 */
export function sortByText(items: usize, ptrOf: usize, n: usize): void {
  if (n < 2) return;
  for (let i = n >> 1; i-- > 0; ) siftText(items, ptrOf, i, n);
  for (let end = n - 1; end > 0; end--) {
    const t = load<u32>(items);
    store<u32>(items, load<u32>(items + (end << 2)));
    store<u32>(items + (end << 2), t);
    siftText(items, ptrOf, 0, end);
  }
}

function siftKeys(keys: usize, root: usize, n: usize): void {
  let r = root;
  for (;;) {
    let child: usize = 2 * r + 1;
    if (child >= n) return;
    if (child + 1 < n && load<u64>(keys + (child << 3)) < load<u64>(keys + ((child + 1) << 3))) child++;
    const kr = load<u64>(keys + (r << 3));
    const kc = load<u64>(keys + (child << 3));
    if (kr >= kc) return;
    store<u64>(keys + (r << 3), kc);
    store<u64>(keys + (child << 3), kr);
    r = child;
  }
}

/** Sorts `n` u64 keys ascending. */
export function sortKeys(keys: usize, n: usize): void {
  if (n < 2) return;
  for (let i = n >> 1; i-- > 0; ) siftKeys(keys, i, n);
  for (let end = n - 1; end > 0; end--) {
    const k = load<u64>(keys);
    store<u64>(keys, load<u64>(keys + (end << 3)));
    store<u64>(keys + (end << 3), k);
    siftKeys(keys, 0, end);
  }
}
