/**
 * Checked 64-bit integer arithmetic and parsing for the VM, CEL semantics (docs/bytecode.md):
 * overflow, ÷0 and unparsable strings are errors, not wrapped values or traps. Each function
 * sets `intFailed` (true = the result is an error) instead of allocating a result object.
 * Signed here; unsigned in numbers.ts.
 */

/** Set by every function here: whether its last result is an error. */
export let intFailed: bool = false;

/** a + b; overflow fails. Overflow iff both operands differ in sign from the result. */
export function checkedAdd(a: i64, b: i64): i64 {
  const r = a + b;
  intFailed = ((a ^ r) & (b ^ r)) < 0;
  return r;
}

/** a − b; overflow fails. Overflow iff the operands differ in sign and the result not from a. */
export function checkedSub(a: i64, b: i64): i64 {
  const r = a - b;
  intFailed = ((a ^ b) & (a ^ r)) < 0;
  return r;
}

/** a × b; overflow fails. Checked by dividing back (after ruling out MIN × −1). */
export function checkedMul(a: i64, b: i64): i64 {
  if ((a == -1 && b == i64.MIN_VALUE) || (b == -1 && a == i64.MIN_VALUE)) {
    intFailed = true;
    return 0;
  }
  const r = a * b;
  intFailed = a != 0 && r / a != b;
  return r;
}

/** a ÷ b truncated toward zero; ÷0 and MIN ÷ −1 fail (WASM would trap on both). */
export function checkedDiv(a: i64, b: i64): i64 {
  if (b == 0 || (a == i64.MIN_VALUE && b == -1)) {
    intFailed = true;
    return 0;
  }
  intFailed = false;
  return a / b;
}

/** a mod b with the sign of the dividend; %0 fails; MIN % −1 is 0. */
export function checkedMod(a: i64, b: i64): i64 {
  if (b == 0) {
    intFailed = true;
    return 0;
  }
  intFailed = false;
  return b == -1 ? 0 : a % b;
}

/** a OP b for ARITH code `op` (0 +, 1 −, 2 ×, 3 ÷, 4 %), checked as above. */
export function intArith(op: u32, a: i64, b: i64): i64 {
  return op == 0 ? checkedAdd(a, b) : op == 1 ? checkedSub(a, b) : op == 2 ? checkedMul(a, b) : op == 3 ? checkedDiv(a, b) : checkedMod(a, b);
}

/**
 * intArith with `%` and `/` by a positive b, a in 32 bits (the usual `int(key) % 100`), inline:
 * the fused int tests' case, where a 64-bit division and a call cost more than the test.
 */
// @ts-ignore: decorator
@inline export function intArithFast(op: u32, a: i64, b: i64): i64 {
  if ((op == 3 || op == 4) && <i64><i32>a == a && <i64><i32>b == b && b > 0) {
    intFailed = false;
    return op == 4 ? <i64>(<i32>a % <i32>b) : <i64>(<i32>a / <i32>b);
  }
  return intArith(op, a, b);
}

/**
 * Parses `len` bytes at `ptr` as cel-go's int(string), i.e. strconv.ParseInt(s, 10, 64): an
 * optional `+` or `-`, then one or more ASCII digits (leading zeros allowed), nothing else — no
 * spaces, no `0x`, no `_`; the value must fit i64. Fails otherwise.
 */
export function parseInt64(ptr: usize, len: usize): i64 {
  intFailed = true;
  if (len == 0) return 0;
  let i: usize = 0;
  const sign = load<u8>(ptr);
  const negative = sign == 0x2d; // '-'
  if (negative || sign == 0x2b) i = 1; // '+'
  if (i == len) return 0;
  // Accumulate the magnitude in u64 against the limit 2^63 (negative) or 2^63 − 1.
  const limit: u64 = negative ? 0x8000000000000000 : 0x7fffffffffffffff;
  let m: u64 = 0;
  for (; i < len; i++) {
    const d = <u64>load<u8>(ptr + i) - 0x30;
    if (d > 9) return 0; // also catches bytes below '0' (wrapped)
    if (m > (limit - d) / 10) return 0;
    m = m * 10 + d;
  }
  intFailed = false;
  return negative ? <i64>(0 - m) : <i64>m;
}

/**
 * Parses `len` bytes at `ptr` as cel-go's uint(string), i.e. strconv.ParseUint(s, 10, 64): one
 * or more ASCII digits, nothing else (no sign); the value must fit u64. Fails otherwise.
 */
export function parseUint64(ptr: usize, len: usize): u64 {
  intFailed = true;
  if (len == 0) return 0;
  let m: u64 = 0;
  for (let i: usize = 0; i < len; i++) {
    const d = <u64>load<u8>(ptr + i) - 0x30;
    if (d > 9) return 0;
    if (m > (0xffffffffffffffff - d) / 10) return 0;
    m = m * 10 + d;
  }
  intFailed = false;
  return m;
}
