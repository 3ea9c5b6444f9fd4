/**
 * The VM's general (not fused) operations on stack slots: arithmetic and comparison over
 * int/uint/double/string/bool by tag, conversions, `in`, string functions. Each reads its
 * operands from stack slots and writes the result into the first; an error operand, or a
 * failed operation, gives an error (docs/bytecode.md lists every case).
 */
import { bytesEqual, compareBytes, countCodePoints } from "./bytes";
import { SCRATCH, SCRATCH_CAPACITY, packString, stringAddr, stringLen } from "./frame";
import { intArith, intFailed, parseInt64, parseUint64 } from "./int64";
import { doubleToInt, doubleToUint, formatInteger, numFailed, uintArith } from "./numbers";
import {
  KIND_BOOLS, KIND_DOUBLES, KIND_INTS, KIND_STRS, KIND_UINTS, OP_ADD, OP_DIV, OP_EQ, OP_GE, OP_GT, OP_LE,
  OP_LT, OP_MUL, OP_NE, OP_SUB, OP_TO_DOUBLE, OP_TO_INT, OP_TO_UINT, TAG_BOOL, TAG_DOUBLE, TAG_ERROR, TAG_INT, TAG_STRING,
  TAG_UINT,
} from "./opcodes";
import { containsBytes } from "./search";
import { boolsContain, doublesContain, intsContain, strsContain } from "./sets";
import { doubleOf, isBool, put, putBool, putDouble, putError, tagOf, valueOf } from "./stack";

/** Bytes of SCRATCH used by TO_STRING in this decide(); decide() resets it. */
export let scratchUsed: u32 = 0;
export function resetScratch(): void {
  scratchUsed = 0;
}

/** a, b → a OP b for two ints, uints or doubles (no % on doubles); else error. */
export function arith(op: u32, a: usize, b: usize): void {
  const t = tagOf(a);
  if (t != tagOf(b) || t == TAG_ERROR) return putError(a);
  if (t == TAG_DOUBLE) {
    const x = doubleOf(a);
    const y = doubleOf(b);
    if (op == OP_ADD) putDouble(a, t, x + y);
    else if (op == OP_SUB) putDouble(a, t, x - y);
    else if (op == OP_MUL) putDouble(a, t, x * y);
    else if (op == OP_DIV) putDouble(a, t, x / y);
    else putError(a);
    return;
  }
  const x = valueOf(a);
  const y = valueOf(b);
  if (t == TAG_UINT) {
    const r = uintArith(op - OP_ADD, <u64>x, <u64>y);
    if (numFailed) putError(a);
    else put(a, t, <i64>r);
    return;
  }
  if (t != TAG_INT) return putError(a);
  const r = intArith(op - OP_ADD, x, y);
  if (intFailed) putError(a);
  else put(a, t, r);
}

/** Three-way order of two non-error values of tag `t` (doubles: 2 when unordered). */
function order(t: u32, a: usize, b: usize): i32 {
  if (t == TAG_DOUBLE) {
    const x = doubleOf(a);
    const y = doubleOf(b);
    return x < y ? -1 : x > y ? 1 : x == y ? 0 : 2;
  }
  if (t == TAG_STRING) {
    const x = valueOf(a);
    const y = valueOf(b);
    return compareBytes(stringAddr(x), stringLen(x), stringAddr(y), stringLen(y));
  }
  if (t == TAG_UINT) {
    const x = <u64>valueOf(a);
    const y = <u64>valueOf(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const x = valueOf(a);
  const y = valueOf(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** a, b → bool for == != < <= > >= on two values of one tag; an error operand → error. */
export function compare(op: u32, a: usize, b: usize): void {
  const t = tagOf(a);
  if (t == TAG_ERROR || tagOf(b) == TAG_ERROR) return putError(a);
  if (t != tagOf(b)) return op == OP_NE ? putBool(a, true) : op == OP_EQ ? putBool(a, false) : putError(a);
  if (t == TAG_STRING && (op == OP_EQ || op == OP_NE)) {
    const x = valueOf(a);
    const y = valueOf(b);
    const eq = stringLen(x) == stringLen(y) && bytesEqual(stringAddr(x), stringAddr(y), stringLen(x));
    return putBool(a, op == OP_EQ ? eq : !eq);
  }
  const c = order(t, a, b);
  if (op == OP_EQ) putBool(a, c == 0);
  else if (op == OP_NE) putBool(a, c != 0);
  else if (c == 2) putBool(a, false); // NaN: every ordering is false
  else if (op == OP_LT) putBool(a, c < 0);
  else if (op == OP_LE) putBool(a, c <= 0);
  else if (op == OP_GT) putBool(a, c > 0);
  else putBool(a, c >= 0);
}

/** v → int(v), uint(v), double(v) (TO_INT/TO_UINT/TO_DOUBLE), or string(v) (TO_STRING). */
export function convert(op: u32, s: usize): void {
  const t = tagOf(s);
  if (t == TAG_ERROR) return;
  const v = valueOf(s);
  if (op == OP_TO_INT) {
    if (t == TAG_INT) return;
    if (t == TAG_UINT) return <u64>v > <u64>i64.MAX_VALUE ? putError(s) : put(s, TAG_INT, v);
    if (t == TAG_DOUBLE) {
      const n = doubleToInt(doubleOf(s));
      return numFailed ? putError(s) : put(s, TAG_INT, n);
    }
    if (t == TAG_STRING) {
      const n = parseInt64(stringAddr(v), stringLen(v));
      return intFailed ? putError(s) : put(s, TAG_INT, n);
    }
    return putError(s);
  }
  if (op == OP_TO_UINT) {
    if (t == TAG_UINT) return;
    if (t == TAG_INT) return v < 0 ? putError(s) : put(s, TAG_UINT, v);
    if (t == TAG_DOUBLE) {
      const n = doubleToUint(doubleOf(s));
      return numFailed ? putError(s) : put(s, TAG_UINT, <i64>n);
    }
    if (t == TAG_STRING) {
      const n = parseUint64(stringAddr(v), stringLen(v));
      return intFailed ? putError(s) : put(s, TAG_UINT, <i64>n);
    }
    return putError(s);
  }
  if (op == OP_TO_DOUBLE) {
    if (t == TAG_DOUBLE) return;
    if (t == TAG_INT) return putDouble(s, TAG_DOUBLE, <f64>v);
    if (t == TAG_UINT) return putDouble(s, TAG_DOUBLE, <f64><u64>v);
    return putError(s); // double(string) is parsed by the host (LOAD_DOUBLE) or folded in control
  }
  // TO_STRING
  if (t == TAG_STRING) return;
  if (t == TAG_BOOL) {
    const text = v != 0 ? TRUE_TEXT : FALSE_TEXT;
    return put(s, TAG_STRING, packString(text, v != 0 ? 4 : 5));
  }
  if ((t == TAG_INT || t == TAG_UINT) && scratchUsed + 20 <= SCRATCH_CAPACITY) {
    const at = SCRATCH + scratchUsed;
    const n = formatInteger(<u64>v, t == TAG_INT, at);
    scratchUsed += <u32>n;
    return put(s, TAG_STRING, packString(at, n));
  }
  putError(s);
}

const TRUE_TEXT: usize = memory.data<u8>([0x74, 0x72, 0x75, 0x65]);
const FALSE_TEXT: usize = memory.data<u8>([0x66, 0x61, 0x6c, 0x73, 0x65]);

/** v → bool: `v in list` for the set at `obj`; error stays error; another type is false. */
export function inSet(obj: usize, s: usize): void {
  const t = tagOf(s);
  if (t == TAG_ERROR) return;
  const kind = load<u32>(obj);
  const v = valueOf(s);
  let found = false;
  if (kind == KIND_STRS) found = t == TAG_STRING && strsContain(obj, stringAddr(v), stringLen(v));
  else if (kind == KIND_INTS) found = t == TAG_INT && intsContain(obj, <u64>v);
  else if (kind == KIND_UINTS) found = t == TAG_UINT && intsContain(obj, <u64>v);
  else if (kind == KIND_DOUBLES) found = t == TAG_DOUBLE && doublesContain(obj, doubleOf(s));
  else if (kind == KIND_BOOLS) found = t == TAG_BOOL && boolsContain(obj, v != 0);
  putBool(s, found);
}

/** s, t → bool: startsWith (kind 0), endsWith (1) or contains (2) on two strings; else error. */
export function stringTest(kind: u32, a: usize, b: usize): void {
  if (tagOf(a) != TAG_STRING || tagOf(b) != TAG_STRING) return putError(a);
  const s = valueOf(a);
  const t = valueOf(b);
  putBool(a, stringOp(kind, stringAddr(s), stringLen(s), stringAddr(t), stringLen(t)));
}

/** startsWith (kind 0), endsWith (1) or contains (2) of the bytes t (tl) in s (sl). */
export function stringOp(kind: u32, s: usize, sl: usize, t: usize, tl: usize): bool {
  return kind == 2 ? containsBytes(s, sl, t, tl) : affixMatch(kind == 1, s, sl, t, tl);
}

/** Whether the `tl` bytes at t start (`suffix` false) or end (true) the `sl` bytes at s. */
// @ts-ignore: decorator
@inline export function affixMatch(suffix: bool, s: usize, sl: usize, t: usize, tl: usize): bool {
  return tl <= sl && bytesEqual(s + (suffix ? sl - tl : 0), t, tl);
}

/** string → int: its length in code points; else error. */
export function size(s: usize): void {
  if (tagOf(s) != TAG_STRING) return putError(s);
  const v = valueOf(s);
  put(s, TAG_INT, countCodePoints(stringAddr(v), stringLen(v)));
}

/** a, b → CEL's commutative && (absorbing 0) or || (absorbing 1). */
export function logic(absorbing: i64, a: usize, b: usize): void {
  if (isBool(a, absorbing) || isBool(b, absorbing)) putBool(a, absorbing != 0);
  else if (tagOf(a) != TAG_BOOL || tagOf(b) != TAG_BOOL) putError(a);
  else putBool(a, absorbing == 0);
}
