/**
 * CEL's scalar operations with cel-go's semantics (the reference implementation of the CEL
 * spec), for the TypeScript reference evaluator and for constant folding. The WASM VM
 * implements the same table (wasm/assembly/int64.ts, numbers.ts); docs/conditions.md states it.
 *
 * Runtime representation: bool → boolean; int and uint → a JS number when it is a safe integer
 * (|v| ≤ 2^53 − 1), else a bigint — always normalised, so `===` is equality and mixed
 * number/bigint `<` is exact; double → number; string → string; an error → ERROR.
 */
import { parseGoFloat } from "../go-float.ts";
import type { IrConst, IrType } from "./ir.ts";

/** The one error value: CEL errors carry messages, conditions only need to know one happened. */
export const ERROR: unique symbol = Symbol("cel error");
export type Num = number | bigint;
export type Value = boolean | Num | string | typeof ERROR;

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;
export const UINT64_MAX = 2n ** 64n - 1n;

/** A bigint as the normalised runtime form: a number when safe. */
export const norm = (v: bigint): Num => (v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v);
const big = (v: Num): bigint => (typeof v === "bigint" ? v : BigInt(v));

/** `v` if it fits int64 (or uint64 when `unsigned`), else ERROR. */
function ranged(v: bigint, unsigned: boolean): Num | typeof ERROR {
  if (unsigned ? v < 0n || v > UINT64_MAX : v < INT64_MIN || v > INT64_MAX) return ERROR;
  return norm(v);
}

/**
 * Checked integer arithmetic for int (`unsigned` false) and uint: overflow, ÷0 and %0 are
 * errors; `/` truncates toward zero; `%` takes the dividend's sign; int MIN / −1 overflows and
 * MIN % −1 is 0. Safe-integer fast paths fall back to bigint when a result leaves 2^53.
 */
export function integerArith(op: "add" | "sub" | "mul" | "div" | "mod", a: Num, b: Num, unsigned: boolean): Num | typeof ERROR {
  if (typeof a === "number" && typeof b === "number") {
    switch (op) {
      case "add": {
        const r = a + b;
        if (Number.isSafeInteger(r)) return unsigned && r < 0 ? ERROR : r;
        break;
      }
      case "sub": {
        const r = a - b;
        if (Number.isSafeInteger(r)) return unsigned && r < 0 ? ERROR : r;
        break;
      }
      case "mul": {
        const r = a * b;
        if (Number.isSafeInteger(r)) return r === 0 ? 0 : r; // no -0
        break;
      }
      case "div":
        if (b === 0) return ERROR;
        return (a - (a % b)) / b + 0; // a - a % b is an exact multiple of b; + 0 drops -0
      case "mod":
        if (b === 0) return ERROR;
        return (a % b) + 0;
    }
  }
  const x = big(a);
  const y = big(b);
  switch (op) {
    case "add":
      return ranged(x + y, unsigned);
    case "sub":
      return ranged(x - y, unsigned);
    case "mul":
      return ranged(x * y, unsigned);
    case "div":
      return y === 0n ? ERROR : ranged(x / y, unsigned);
    case "mod":
      return y === 0n ? ERROR : norm(x % y);
  }
}

/** -v for int: −MIN overflows. */
export function intNegate(v: Num): Num | typeof ERROR {
  if (typeof v === "number") return v === 0 ? 0 : -v;
  return ranged(-v, false);
}

/** Three-way order of two values of one type (strings by code point); NaN when unordered (NaN doubles). */
export function compareValues(type: IrType, a: Value, b: Value): number {
  if (type === "string") return compareCodePoints(a as string, b as string);
  if (type === "bool") return a === b ? 0 : a ? 1 : -1;
  if (type === "double") return a === b ? 0 : (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : Number.NaN;
  return a === b ? 0 : (a as Num) < (b as Num) ? -1 : 1;
}

/**
 * Code point order of two strings, as CEL orders strings (cel-go compares UTF-8 bytes, which
 * orders by code point). UTF-16 units ≥ 0xD800 are remapped so surrogate pairs sort above
 * U+E000–U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800) x += x >= 0xe000 ? -0x800 : 0x2000;
    if (y >= 0xd800) y += y >= 0xe000 ? -0x800 : 0x2000;
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** Unicode code points in a well-formed string (CEL `size`). */
export function codePointCount(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff) n--; // the second half of a pair
  }
  return n;
}

const DECIMAL = /^[+-]?[0-9]+$/;
const UNSIGNED_DECIMAL = /^[0-9]+$/;

/** cel-go's int(string): strconv.ParseInt(s, 10, 64) — optional sign, ASCII digits, int64 range. */
export function parseIntGo(s: string): Num | typeof ERROR {
  if (!DECIMAL.test(s)) return ERROR;
  if (s.length <= 15) return Number(s) + 0; // ≤ 15 chars: a safe integer
  return ranged(BigInt(s), false);
}

/** cel-go's uint(string): strconv.ParseUint(s, 10, 64) — ASCII digits only (no sign), uint64 range. */
export function parseUintGo(s: string): Num | typeof ERROR {
  if (!UNSIGNED_DECIMAL.test(s)) return ERROR;
  if (s.length <= 15) return Number(s);
  return ranged(BigInt(s), true);
}

/** cel-go's double(string); see wasm/go-float.ts for the accepted syntax. */
export function parseDoubleGo(s: string): number | typeof ERROR {
  const d = parseGoFloat(s);
  return d === undefined ? ERROR : d;
}

const TWO_63 = 2 ** 63;
const TWO_64 = 2 ** 64;

/**
 * CEL type conversion `to(v)` of a value of static type `from` (cel-go's ConvertToType):
 * int(double) truncates and needs −2^63 < v < 2^63 (cel-go refuses −2^63 itself);
 * uint(double) needs 0 ≤ v < 2^64 (after truncation toward zero, −0.5 → error as cel-go);
 * double(int/uint) rounds to nearest; string(int/uint/bool) formats; string(double) is not in
 * the subset (check.ts refuses it). Anything else that fails is ERROR.
 */
export function convert(from: IrType, to: IrType, v: Value): Value {
  if (v === ERROR) return ERROR;
  if (from === to) return v;
  switch (to) {
    case "int":
      if (from === "uint") return ranged(big(v as Num), false);
      if (from === "double") {
        const d = v as number;
        if (!(d > -TWO_63 && d < TWO_63)) return ERROR; // NaN fails too
        return norm(BigInt(Math.trunc(d)));
      }
      if (from === "string") return parseIntGo(v as string);
      return ERROR;
    case "uint":
      if (from === "int") return (v as Num) < 0 ? ERROR : v;
      if (from === "double") {
        const d = v as number;
        if (!(d >= 0 && d < TWO_64)) return ERROR;
        return norm(BigInt(Math.trunc(d)));
      }
      if (from === "string") return parseUintGo(v as string);
      return ERROR;
    case "double":
      if (from === "int" || from === "uint") return Number(v as Num); // round to nearest, ties even
      if (from === "string") return parseDoubleGo(v as string);
      return ERROR;
    case "string":
      if (from === "int" || from === "uint") return String(v);
      if (from === "bool") return v ? "true" : "false";
      return ERROR;
    default:
      return ERROR;
  }
}

/** The runtime value of a constant. */
export function constValue(c: IrConst): Value {
  return c.type === "int" || c.type === "uint" ? norm(c.value) : c.value;
}

/** A runtime value of static type `type` as a constant (for folding). */
export function valueConst(type: IrType, v: Exclude<Value, typeof ERROR>): IrConst {
  switch (type) {
    case "int":
    case "uint":
      return { type, value: big(v as Num) };
    case "double":
      return { type, value: v as number };
    case "bool":
      return { type, value: v as boolean };
    default:
      return { type: "string", value: v as string };
  }
}
