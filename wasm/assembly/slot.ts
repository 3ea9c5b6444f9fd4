/**
 * The VM's value slots (docs/bytecode.md, "Values"): the fixed 64-slot stack in static memory,
 * each slot {u32 tag, pad, i64 payload} (16 bytes), and the inline helpers that read, write and
 * combine slots by address. Strings are packed (address, byte length) pairs (frame.ts).
 */
import { bytesEqual } from "./bytes";
import { S_STRINGS, strrefInBounds } from "./format";
import { packString, stringAddr, stringLen } from "./frame";
import { checkedAdd, checkedDiv, checkedMod, checkedMul, checkedSub, intFailed } from "./int64";
import { OP_ADD, OP_DIV, OP_MUL, OP_SUB, TAG_BOOL, TAG_ERROR, TAG_INT } from "./opcodes";
import { ACTIVE, activeBase, sectionAddr, sectionCount } from "./view";

export const STACK_SLOTS: usize = 64;
export const SLOT: usize = 16;
export const STACK: usize = memory.data(64 * 16, 16);
export const STACK_END: usize = STACK + STACK_SLOTS * SLOT;

@inline export function tagOf(s: usize): u32 { return load<u32>(s); }
@inline export function valueOf(s: usize): i64 { return load<i64>(s, 8); }
@inline export function put(s: usize, tag: u32, value: i64): void {
  store<u32>(s, tag);
  store<i64>(s, value, 8);
}
@inline export function putBool(s: usize, b: bool): void { put(s, TAG_BOOL, b ? 1 : 0); }
@inline export function putError(s: usize): void { put(s, TAG_ERROR, 0); }
/** Whether slot `s` holds the bool `b` (0 or 1). */
@inline export function isBool(s: usize, b: i64): bool { return tagOf(s) == TAG_BOOL && valueOf(s) == b; }

/** A string constant (file offset, length) as a packed string, or -1 when outside STRINGS. */
@inline export function constString(off: u32, len: u32): i64 {
  const base = activeBase();
  const poolStart = <u32>(sectionAddr(ACTIVE, S_STRINGS) - base);
  const poolEnd = poolStart + sectionCount(ACTIVE, S_STRINGS);
  if (len == 0) return packString(base, 0);
  if (!strrefInBounds(off, len, poolStart, poolEnd, poolEnd)) return -1;
  return packString(base + <usize>off, <usize>len);
}

/** Whether two packed strings have the same bytes. */
@inline export function sameString(a: i64, b: i64): bool {
  const n = stringLen(a);
  return n == stringLen(b) && bytesEqual(stringAddr(a), stringAddr(b), n);
}

/** Replaces the pair (a, b) at `a` with op(a, b) for two ints; anything else is an error. */
@inline export function arith(op: u32, a: usize, b: usize): void {
  if (tagOf(a) != TAG_INT || tagOf(b) != TAG_INT) return putError(a);
  const x = valueOf(a);
  const y = valueOf(b);
  let r: i64;
  switch (op) {
    case OP_ADD: r = checkedAdd(x, y); break;
    case OP_SUB: r = checkedSub(x, y); break;
    case OP_MUL: r = checkedMul(x, y); break;
    case OP_DIV: r = checkedDiv(x, y); break;
    default: r = checkedMod(x, y); break;
  }
  if (intFailed) putError(a);
  else put(a, TAG_INT, r);
}
