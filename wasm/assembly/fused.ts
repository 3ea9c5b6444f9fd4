/**
 * The fused tests (docs/bytecode.md, "Fused tests"): an attribute — or a request field — tested
 * against constants in one instruction, with the slot caches (slotcache.ts) doing any parsing
 * once per request. Each returns a tri-state: R_FALSE, R_TRUE or R_ERROR (absent attribute,
 * failed int(), overflow, a value that is not an address).
 */
import { bytesEqual } from "./bytes";
import { runDfa } from "./dfa";
import { requestOperand, SL_ID, SL_LEN, slotAddr, slotPresent, slotString, stringAddr, stringLen } from "./frame";
import { intArithFast, intFailed } from "./int64";
import { cidrContains } from "./ip";
import * as O from "./opcodes";
import { idsContain, intsContain, strsContain } from "./sets";
import { slotFailed, slotHash, slotInt, slotIp, slotIpBytes } from "./slotcache";
import { affixMatch, stringOp } from "./vmops";

/**
 * Inline operand bytes of fused test `b` (≤ B_LAST), mode operands not included. A switch rather
 * than a table in memory, so the VM's cases (constant `b`) fold it to a constant: one memory
 * access less per instruction, each of which workerd bounds-checks.
 */
// @ts-ignore: decorator
@inline export function fusedOperands(b: u32): u32 {
  switch (b) {
    case O.B_HAS:
      return 1;
    case O.B_EQ_ID: case O.B_NE_ID: case O.B_IN_IDS: case O.B_IN_STRS: case O.B_INT_IN: case O.B_CIDR: case O.B_MATCHES:
      return 5; // slot, u32
    case O.B_INT_CMP:
      return 10; // slot, cmp, i64
    case O.B_INT_ARITH_IN:
      return 14; // slot, op, i64, u32
    case O.B_BUCKET_CMP:
      return 18; // slot, cmp, i64, i64
    case O.B_INT_ARITH_CMP:
      return 19; // slot, op, i64, cmp, i64
    default:
      return 9; // slot or field, strref: EQ_STR, NE_STR, STARTS, ENDS, CONTAINS, REQ_*
  }
}

/** 1 + the operand bytes of fused test `b`: the instruction's length before its mode operands. */
// @ts-ignore: decorator
@inline export function fusedLength(b: u32): usize {
  return 1 + <usize>fusedOperands(b);
}

/**
 * Bit 3 × code + (sign(x − y) + 1) of CMP_TRUTH: whether comparison `code` holds for an ordering
 * below (bit 0), equal (1) or above (2) — == 010, != 101, < 001, <= 011, > 100, >= 110 — so a
 * fused compare is a shift, not a jump on the code.
 */
const CMP_TRUTH: u32 = 0x3466a; // 110 100 011 001 101 010, from >= down to ==

@inline function cmp(code: u32, x: i64, y: i64): i32 {
  const order = <u32>(x > y) - <u32>(x < y) + 1;
  return <i32>((CMP_TRUTH >> (code * 3 + order)) & 1);
}

/**
 * Runs fused test `b` whose operands start at `at` (just after the opcode).
 * `data`: the DATA section's address; `base`: the file's (for string constants).
 */
@inline export function runFused(b: u32, at: usize, data: usize, base: usize): i32 {
  switch (b) {
    case O.B_EQ_ID:
    case O.B_NE_ID: {
      const s = slotAddr(<u32>load<u8>(at));
      if (load<i32>(s, SL_LEN) < 0) return O.R_ERROR;
      return <i32>((load<u32>(s, SL_ID) == load<u32>(at, 1)) != (b == O.B_NE_ID));
    }
    case O.B_IN_IDS: {
      const s = slotAddr(<u32>load<u8>(at));
      if (load<i32>(s, SL_LEN) < 0) return O.R_ERROR;
      const id = load<u32>(s, SL_ID);
      return <i32>(id != 0 && idsContain(data + <usize>load<u32>(at, 1), id));
    }
    case O.B_EQ_STR:
    case O.B_NE_STR: {
      const v = slotString(<u32>load<u8>(at));
      if (v < 0) return O.R_ERROR;
      const n = <usize>load<u32>(at, 5);
      const eq = stringLen(v) == n && bytesEqual(stringAddr(v), base + <usize>load<u32>(at, 1), n);
      return <i32>(eq != (b == O.B_NE_STR));
    }
    case O.B_IN_STRS: {
      const v = slotString(<u32>load<u8>(at));
      return v < 0 ? O.R_ERROR : <i32>strsContain(data + <usize>load<u32>(at, 1), stringAddr(v), stringLen(v));
    }
    case O.B_STARTS:
    case O.B_ENDS: {
      // Inline (affixMatch), as these are the usual prefix/suffix routing tests.
      const v = slotString(<u32>load<u8>(at));
      if (v < 0) return O.R_ERROR;
      return <i32>affixMatch(b == O.B_ENDS, stringAddr(v), stringLen(v), base + <usize>load<u32>(at, 1), <usize>load<u32>(at, 5));
    }
    case O.B_CONTAINS: {
      const v = slotString(<u32>load<u8>(at));
      if (v < 0) return O.R_ERROR;
      return <i32>stringOp(2, stringAddr(v), stringLen(v), base + <usize>load<u32>(at, 1), <usize>load<u32>(at, 5));
    }
    case O.B_INT_CMP: {
      const n = slotInt(<u32>load<u8>(at));
      return slotFailed ? O.R_ERROR : cmp(<u32>load<u8>(at, 1), n, load<i64>(at, 2));
    }
    case O.B_INT_ARITH_CMP: {
      const n = slotInt(<u32>load<u8>(at));
      if (slotFailed) return O.R_ERROR;
      const r = intArithFast(<u32>load<u8>(at, 1), n, load<i64>(at, 2));
      return intFailed ? O.R_ERROR : cmp(<u32>load<u8>(at, 10), r, load<i64>(at, 11));
    }
    case O.B_INT_IN: {
      const n = slotInt(<u32>load<u8>(at));
      return slotFailed ? O.R_ERROR : <i32>intsContain(data + <usize>load<u32>(at, 1), <u64>n);
    }
    case O.B_INT_ARITH_IN: {
      const n = slotInt(<u32>load<u8>(at));
      if (slotFailed) return O.R_ERROR;
      const r = intArithFast(<u32>load<u8>(at, 1), n, load<i64>(at, 2));
      return intFailed ? O.R_ERROR : <i32>intsContain(data + <usize>load<u32>(at, 10), <u64>r);
    }
    case O.B_BUCKET_CMP: {
      const slot = <u32>load<u8>(at);
      const n = load<i64>(at, 2);
      if (!slotPresent(slot) || n <= 0) return O.R_ERROR;
      return cmp(<u32>load<u8>(at, 1), <i64>(<u64>slotHash(slot) % <u64>n), load<i64>(at, 10));
    }
    case O.B_CIDR: {
      const slot = <u32>load<u8>(at);
      if (!slotPresent(slot)) return O.R_ERROR;
      const family = slotIp(slot);
      return family == 0 ? O.R_ERROR : <i32>cidrContains(data + <usize>load<u32>(at, 1), family, slotIpBytes(slot));
    }
    case O.B_MATCHES: {
      const v = slotString(<u32>load<u8>(at));
      return v < 0 ? O.R_ERROR : <i32>runDfa(data + <usize>load<u32>(at, 1), stringAddr(v), stringLen(v));
    }
    case O.B_HAS:
      return <i32>slotPresent(<u32>load<u8>(at));
    case O.B_REQ_EQ:
    case O.B_REQ_NE: {
      const v = requestOperand(<u32>load<u8>(at));
      const n = <usize>load<u32>(at, 5);
      const eq = stringLen(v) == n && bytesEqual(stringAddr(v), base + <usize>load<u32>(at, 1), n);
      return <i32>(eq != (b == O.B_REQ_NE));
    }
    default: {
      // B_REQ_STARTS
      const v = requestOperand(<u32>load<u8>(at));
      return <i32>stringOp(0, stringAddr(v), stringLen(v), base + <usize>load<u32>(at, 1), <usize>load<u32>(at, 5));
    }
  }
}
