/**
 * The HOST_TABLE hash function and layout: open addressing with linear probing over a
 * power-of-two table, slots holding `hostIndex + 1` (0 = empty). docs/snapshot-format.md.
 */

/** 32-bit FNV-1a over bytes (offset basis 2166136261, prime 16777619). */
export function fnv1a32(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i] as number;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Builds the slot array for `hosts` (UTF-8 names, lowercase, unique).
 * Size: the smallest power of two ≥ 2 × hosts and ≥ 8, so probes stay short.
 */
export function buildHostTable(hosts: Uint8Array[]): Uint32Array {
  let size = 8;
  while (size < hosts.length * 2) size *= 2;
  const slots = new Uint32Array(size);
  hosts.forEach((name, index) => {
    let slot = fnv1a32(name) & (size - 1);
    while (slots[slot] !== 0) slot = (slot + 1) & (size - 1);
    slots[slot] = index + 1;
  });
  return slots;
}
