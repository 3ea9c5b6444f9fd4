/**
 * cel-go's double(string), i.e. Go's strconv.ParseFloat(s, 64) for decimal input, as a pure
 * function the host binding (wasm/host.ts, for `double(attribute)`) and control's reference
 * evaluator share. Accepted: an optional sign; digits with an optional `.` (`1`, `1.5`, `.5`,
 * `5.`), underscores only between digits (Go literal syntax, `1_000`); an optional exponent
 * `e`/`E`, sign, digits; or `inf`/`infinity` (any case, optional sign) and `nan` (any case).
 * Nothing else: no spaces, no empty string. A finite input beyond ±1.8e308 is an error
 * (ParseFloat's ErrRange); underflow gives 0. Correct rounding comes from V8's Number().
 * Sluice refuses Go's hexadecimal floats (`0x1p-2`): docs/conditions.md lists the divergence.
 */

const DECIMAL_FLOAT = /^[+-]?(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)(?:[eE][+-]?[0-9](?:_?[0-9])*)?$/;
const INFINITY = /^([+-]?)(?:inf|infinity)$/i;

/**
 * @returns the double `s` denotes, or undefined when cel-go's double(s) is an error.
 * @example parseGoFloat("1.5e3") === 1500; parseGoFloat("-Inf") === -Infinity; parseGoFloat(" 1") === undefined
 */
export function parseGoFloat(s: string): number | undefined {
  if (DECIMAL_FLOAT.test(s)) {
    const d = Number(s.includes("_") ? s.replaceAll("_", "") : s);
    return Number.isFinite(d) ? d : undefined;
  }
  if (s.length > 9) return undefined;
  const inf = INFINITY.exec(s);
  if (inf) return inf[1] === "-" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  return s.length === 3 && s.toLowerCase() === "nan" ? Number.NaN : undefined;
}
