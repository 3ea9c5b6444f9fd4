/**
 * The VM's uint and double operations and CEL's conversions between int, uint, double and
 * string (cel-go's ConvertToType): checked uint arithmetic, int(double) for −2^63 < v < 2^63,
 * uint(double) for 0 ≤ v < 2^64 (both truncating), decimal formatting for string(int|uint).
 * Failures set `numFailed`.
 */

/** Set by every function here: whether its last result is an error. */
export let numFailed: bool = false;

/** Checked u64 arithmetic: wrap-around, ÷0 and %0 fail. op: 0 add, 1 sub, 2 mul, 3 div, 4 mod. */
export function uintArith(op: u32, a: u64, b: u64): u64 {
  numFailed = false;
  switch (op) {
    case 0: {
      const r = a + b;
      numFailed = r < a;
      return r;
    }
    case 1:
      numFailed = b > a;
      return a - b;
    case 2: {
      if (a == 0 || b == 0) return 0;
      const r = a * b;
      numFailed = r / a != b;
      return r;
    }
    case 3:
      if (b == 0) {
        numFailed = true;
        return 0;
      }
      return a / b;
    default:
      if (b == 0) {
        numFailed = true;
        return 0;
      }
      return a % b;
  }
}

// 2^63 and 2^64 as doubles.
const TWO_63: f64 = 9223372036854775808.0;
const TWO_64: f64 = 18446744073709551616.0;

/** int(double): truncates; fails unless −2^63 < d < 2^63 (cel-go refuses −2^63 itself). */
export function doubleToInt(d: f64): i64 {
  numFailed = !(d > -TWO_63 && d < TWO_63);
  return numFailed ? 0 : <i64>d;
}

/** uint(double): truncates; fails unless 0 ≤ d < 2^64. */
export function doubleToUint(d: f64): u64 {
  numFailed = !(d >= 0 && d < TWO_64);
  return numFailed ? 0 : <u64>d;
}

/**
 * Writes the decimal form of `v` (signed when `signed`) at `out` (at most 20 bytes).
 * @returns the byte count.
 */
export function formatInteger(v: u64, signed: bool, out: usize): usize {
  let neg = false;
  let m = v;
  if (signed && <i64>v < 0) {
    neg = true;
    m = 0 - v; // two's complement magnitude; MIN's is 2^63 as u64
  }
  // Digits backwards into the tail of a 20-byte window, then moved to the front.
  let at: usize = out + 20;
  do {
    at--;
    store<u8>(at, <u8>(0x30 + <u32>(m % 10)));
    m /= 10;
  } while (m != 0);
  if (neg) {
    at--;
    store<u8>(at, 0x2d);
  }
  const n = out + 20 - at;
  memory.copy(out, at, n);
  return n;
}
