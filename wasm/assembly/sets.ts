/**
 * Lookups in DATA's objects (docs/bytecode.md, "Data objects"): IDS, STRS, INTS/UINTS hash sets
 * (open addressing, linear probing, at most `capacity` probes), DOUBLES and BOOLS lists, and
 * SWITCH tables. Objects were validated at load; `obj` is an absolute address.
 */
import { bytesEqual } from "./bytes";
import { fmix32, fmix64, murmur3 } from "./murmur";
import { activeBase } from "./view";

const HEADER: usize = 16;

@inline function capacity(obj: usize): u32 {
  return load<u32>(obj, 8);
}

/** Whether intern id `id` (≥ 1) is in the IDS set at `obj`. */
export function idsContain(obj: usize, id: u32): bool {
  const cap = capacity(obj);
  const mask = cap - 1;
  let s = fmix32(id) & mask;
  for (let probes: u32 = 0; probes < cap; probes++) {
    const v = load<u32>(obj + HEADER + (<usize>s << 2));
    if (v == id) return true;
    if (v == 0) return false;
    s = (s + 1) & mask;
  }
  return false;
}

/** The binding the SWITCH table at `obj` maps `id` to, or -1. */
export function switchLookup(obj: usize, id: u32): i32 {
  const cap = capacity(obj);
  const mask = cap - 1;
  let s = fmix32(id) & mask;
  for (let probes: u32 = 0; probes < cap; probes++) {
    const e = obj + HEADER + (<usize>s << 3);
    const v = load<u32>(e);
    if (v == id) return <i32>load<u32>(e, 4);
    if (v == 0) return -1;
    s = (s + 1) & mask;
  }
  return -1;
}

/** Whether the `len` bytes at `p` are in the STRS set at `obj`. */
export function strsContain(obj: usize, p: usize, len: usize): bool {
  const cap = capacity(obj);
  const mask = cap - 1;
  const h = murmur3(p, len);
  const base = activeBase();
  let s = h & mask;
  for (let probes: u32 = 0; probes < cap; probes++) {
    const e = obj + HEADER + <usize>s * 12;
    const l = load<u32>(e, 8);
    if (l == 0xffffffff) return false;
    if (load<u32>(e) == h && <usize>l == len && bytesEqual(base + <usize>load<u32>(e, 4), p, len)) return true;
    s = (s + 1) & mask;
  }
  return false;
}

/** Whether the 64-bit value `v` is in the INTS/UINTS set at `obj`. */
export function intsContain(obj: usize, v: u64): bool {
  const cap = capacity(obj);
  const mask = cap - 1;
  let s = <u32>fmix64(v) & mask;
  for (let probes: u32 = 0; probes < cap; probes++) {
    const e = obj + HEADER + (<usize>s << 4);
    if (load<u32>(e) == 0) return false;
    if (load<u64>(e, 8) == v) return true;
    s = (s + 1) & mask;
  }
  return false;
}

/** Whether `d` equals (IEEE ==) one of the DOUBLES at `obj`. */
export function doublesContain(obj: usize, d: f64): bool {
  const n = load<u32>(obj, 4);
  for (let i: u32 = 0; i < n; i++) if (load<f64>(obj + HEADER + (<usize>i << 3)) == d) return true;
  return false;
}

/** Whether `b` is in the BOOLS object at `obj` (count: bit 0 false, bit 1 true). */
export function boolsContain(obj: usize, b: bool): bool {
  return (load<u32>(obj, 4) & (b ? 2 : 1)) != 0;
}
