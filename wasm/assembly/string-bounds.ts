/**
 * The STRINGS bounds of the snapshot being validated, set once per load by validate.ts and read
 * by every validator (validate*.ts, code-check.ts, data-check.ts), so all of them check strrefs
 * (docs/snapshot-format.md, "Conventions") against the same values. Module state rather than
 * parameters: the checks sit deep in per-record loops and the program verifier.
 */

// File offsets in bytes: STRINGS is [poolStart, poolEnd); total is the file's totalLength.
let poolStart: u32 = 0;
let poolEnd: u32 = 0;
let total: u32 = 0;

/**
 * Sets the bounds for the load being validated: STRINGS as file offsets [`start`, `end`) and the
 * file's `totalLength`, all in bytes.
 */
export function setStringBounds(start: u32, end: u32, totalLength: u32): void {
  poolStart = start;
  poolEnd = end;
  total = totalLength;
}

/**
 * Whether the strref (off, len) is valid: a non-empty string lies inside STRINGS; an empty one
 * only needs its offset within the file (≤ totalLength). `off` is a file offset, `len` a length,
 * both in bytes.
 */
@inline export function strrefOk(off: u32, len: u32): bool {
  return len == 0 ? off <= total : off >= poolStart && off <= poolEnd && len <= poolEnd - off;
}

/** Whether the strref stored at address `at` (u32 offset, u32 length, in bytes) is valid (strrefOk). */
@inline export function strrefAtOk(at: usize): bool {
  return strrefOk(load<u32>(at), load<u32>(at, 4));
}
