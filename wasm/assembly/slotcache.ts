/**
 * Per-request caches on the route's attribute slots (frame.ts): a slot's int(), uint(), bucket
 * hash and IP parse are computed at most once per decide(), however many policies use them (50
 * policies testing `int(key) % 100` parse the key once). The host resets a slot's flags when it
 * writes the slot, so nothing here survives into the next request.
 */
import { parseInt64, parseUint64, intFailed } from "./int64";
import { parseIp } from "./ip";
import { murmur3 } from "./murmur";
import {
  SL_FLAGS, SL_HASH, SL_INT, SL_IP, SL_IP_FAMILY, SL_UINT, SLOT_HASH_DONE, SLOT_INT_DONE, SLOT_INT_OK, SLOT_IP_DONE,
  SLOT_UINT_DONE, SLOT_UINT_OK, slotAddr, slotString, stringAddr, stringLen,
} from "./frame";

/** Set by slotInt / slotUint: whether the value is an error (absent or not a number). */
export let slotFailed: bool = false;

/**
 * int(slot `i`), cached. Sets slotFailed. The cached case — every use after the first, and a
 * value the host parsed (INT slots) — is inline: in the fused int tests the call was a third of
 * the test's cost.
 */
// @ts-ignore: decorator
@inline export function slotInt(i: u32): i64 {
  const s = slotAddr(i);
  const flags = load<u32>(s, SL_FLAGS);
  if ((flags & SLOT_INT_DONE) == 0) return parseSlotInt(i, s, flags);
  slotFailed = (flags & SLOT_INT_OK) == 0;
  return load<i64>(s, SL_INT);
}

/** Parses slot `i` (entry at `s`, flags `flags`) into its int cache. Sets slotFailed. */
function parseSlotInt(i: u32, s: usize, flags: u32): i64 {
  const v = slotString(i);
  let n: i64 = 0;
  let ok = false;
  if (v >= 0) {
    n = parseInt64(stringAddr(v), stringLen(v));
    ok = !intFailed;
  }
  store<i64>(s, n, SL_INT);
  store<u32>(s, flags | SLOT_INT_DONE | (ok ? SLOT_INT_OK : 0), SL_FLAGS);
  slotFailed = !ok;
  return n;
}

/** uint(slot `i`), cached. Sets slotFailed. */
export function slotUint(i: u32): u64 {
  const s = slotAddr(i);
  const flags = load<u32>(s, SL_FLAGS);
  if ((flags & SLOT_UINT_DONE) != 0) {
    slotFailed = (flags & SLOT_UINT_OK) == 0;
    return load<u64>(s, SL_UINT);
  }
  const v = slotString(i);
  let n: u64 = 0;
  let ok = false;
  if (v >= 0) {
    n = parseUint64(stringAddr(v), stringLen(v));
    ok = !intFailed;
  }
  store<u64>(s, n, SL_UINT);
  store<u32>(s, flags | SLOT_UINT_DONE | (ok ? SLOT_UINT_OK : 0), SL_FLAGS);
  slotFailed = !ok;
  return n;
}

/** MurmurHash3 of present slot `i`'s bytes, cached. */
export function slotHash(i: u32): u32 {
  const s = slotAddr(i);
  const flags = load<u32>(s, SL_FLAGS);
  if ((flags & SLOT_HASH_DONE) != 0) return load<u32>(s, SL_HASH);
  const v = slotString(i);
  const h = murmur3(stringAddr(v), stringLen(v));
  store<u32>(s, h, SL_HASH);
  store<u32>(s, flags | SLOT_HASH_DONE, SL_FLAGS);
  return h;
}

/** The family (4, 6; 0 = not an address) of present slot `i` parsed as an IP, cached; bytes at slotIpBytes(i). */
export function slotIp(i: u32): u32 {
  const s = slotAddr(i);
  const flags = load<u32>(s, SL_FLAGS);
  if ((flags & SLOT_IP_DONE) != 0) return load<u32>(s, SL_IP_FAMILY);
  const v = slotString(i);
  const family = parseIp(stringAddr(v), stringLen(v), s + SL_IP);
  store<u32>(s, family, SL_IP_FAMILY);
  store<u32>(s, flags | SLOT_IP_DONE, SL_FLAGS);
  return family;
}

/** Address of slot `i`'s parsed IP bytes (after slotIp). */
@inline export function slotIpBytes(i: u32): usize {
  return slotAddr(i) + SL_IP;
}
