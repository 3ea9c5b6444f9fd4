/**
 * Load-time validation of DATA objects a program refers to (docs/bytecode.md, "Data objects"):
 * each lies inside DATA with the structure its lookups assume, so sets.ts, dfa.ts and ip.ts can
 * read them without bounds checks. A refused object refuses the snapshot (E_BAD_CODE).
 */
import { dfaNextOffset } from "./dfa";
import { KIND_BOOLS, KIND_CIDR, KIND_DFA, KIND_DOUBLES, KIND_IDS, KIND_INTS, KIND_STRS, KIND_SWITCH, KIND_UINTS } from "./opcodes";
import { strrefOk } from "./string-bounds";

/** Entry size in bytes of a hashed kind, 0 for others. */
function entryBytes(kind: u32): u32 {
  if (kind == KIND_IDS) return 4;
  if (kind == KIND_STRS) return 12;
  if (kind == KIND_INTS || kind == KIND_UINTS) return 16;
  if (kind == KIND_SWITCH) return 8;
  return 0;
}

/**
 * Whether a valid object of kind `kind` starts `off` bytes into DATA (`data`, `size` bytes).
 * `bindings`: the route's policy count (SWITCH targets must be below it).
 */
export function dataObjectOk(data: usize, size: u32, off: u32, kind: u32, bindings: u32): bool {
  if (<u64>off + 8 > <u64>size) return false;
  const obj = data + off;
  if (load<u32>(obj) != kind) return false;
  const room = <u64>size - <u64>off;
  if (kind == KIND_DFA) {
    const states = <u32>load<u16>(obj, 4);
    const classes = <u32>load<u16>(obj, 6);
    if (states == 0 || classes == 0 || classes > 256) return false;
    const end = <u64>dfaNextOffset(states) + (<u64>states * classes << 1);
    if (end > room) return false;
    for (let b: u32 = 0; b < 256; b++) if (<u32>load<u8>(obj + 8 + b) >= classes) return false;
    const next = obj + dfaNextOffset(states);
    for (let i: u32 = 0; i < states * classes; i++) if (<u32>load<u16>(next + (<usize>i << 1)) >= states) return false;
    return true;
  }
  if (kind == KIND_CIDR) {
    if (room < 24) return false;
    const family = <u32>load<u8>(obj, 4);
    const prefix = <u32>load<u8>(obj, 5);
    return (family == 4 && prefix <= 32) || (family == 6 && prefix <= 128);
  }
  if (room < 16) return false;
  const count = load<u32>(obj, 4);
  const cap = load<u32>(obj, 8);
  if (kind == KIND_BOOLS) return count <= 3;
  if (kind == KIND_DOUBLES) return <u64>16 + (<u64>count << 3) <= room;
  // Hashed kinds: a power-of-two capacity, room for every entry, at least one empty entry.
  const entry = entryBytes(kind);
  if (entry == 0 || cap == 0 || (cap & (cap - 1)) != 0 || count >= cap) return false;
  if (<u64>16 + <u64>cap * entry > room) return false;
  for (let i: u32 = 0; i < cap; i++) {
    const e = obj + 16 + <usize>i * entry;
    if (kind == KIND_STRS) {
      const len = load<u32>(e, 8);
      if (len != 0xffffffff && !strrefOk(load<u32>(e, 4), len)) return false;
    } else if (kind == KIND_SWITCH) {
      if (load<u32>(e) != 0 && load<u32>(e, 4) >= bindings) return false;
    }
  }
  return true;
}

/** Whether `off` is a valid set for IN (STRS, INTS, UINTS, DOUBLES or BOOLS). */
export function inSetOk(data: usize, size: u32, off: u32): bool {
  if (<u64>off + 4 > <u64>size) return false;
  const kind = load<u32>(data + off);
  if (kind != KIND_STRS && kind != KIND_INTS && kind != KIND_UINTS && kind != KIND_DOUBLES && kind != KIND_BOOLS) return false;
  return dataObjectOk(data, size, off, kind, 0);
}
