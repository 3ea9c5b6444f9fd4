/**
 * The VM's value stack (docs/bytecode.md, "Values"): 64 fixed slots in static memory, each
 * {u32 tag, pad, 64-bit payload} (16 bytes). Strings are packed (address, byte length) pairs
 * (frame.ts); doubles are stored as their bits.
 */
import { TAG_BOOL, TAG_ERROR } from "./opcodes";

export const STACK_SLOTS: usize = 64;
export const SLOT: usize = 16;
export const STACK: usize = memory.data(64 * 16, 16);

@inline export function tagOf(s: usize): u32 { return load<u32>(s); }
@inline export function valueOf(s: usize): i64 { return load<i64>(s, 8); }
@inline export function doubleOf(s: usize): f64 { return load<f64>(s, 8); }
@inline export function put(s: usize, tag: u32, value: i64): void {
  store<u32>(s, tag);
  store<i64>(s, value, 8);
}
@inline export function putDouble(s: usize, tag: u32, value: f64): void {
  store<u32>(s, tag);
  store<f64>(s, value, 8);
}
@inline export function putBool(s: usize, b: bool): void { put(s, TAG_BOOL, b ? 1 : 0); }
@inline export function putError(s: usize): void { put(s, TAG_ERROR, 0); }
/** Writes a fused test's tri-state result (R_FALSE, R_TRUE, R_ERROR) as a value. */
@inline export function putTri(s: usize, r: i32): void { put(s, r == 2 ? TAG_ERROR : TAG_BOOL, r & 1); }
/** Whether slot `s` holds the bool `b` (0 or 1). */
@inline export function isBool(s: usize, b: i64): bool { return tagOf(s) == TAG_BOOL && valueOf(s) == b; }
