/**
 * The condition VM: runs a route's program (docs/bytecode.md) over the request's slots and
 * returns the first policy binding whose condition is true. A stack machine over stack.ts'
 * 64 fixed slots. It never allocates, never loops (jumps only go forward: each instruction runs
 * at most once per call) and needs no bounds checks: the loader verified every operand, jump
 * target and the stack depth at every instruction (code-check.ts) before the program could run.
 */
import { runDfa } from "./dfa";
import { requestOperand, SL_DOUBLE, SL_FLAGS, SL_ID, SL_LEN, SLOT_DOUBLE_OK, slotAddr, slotPresent, slotString, stringAddr, stringLen } from "./frame";
import { cidrContains, parseIp } from "./ip";
import { fusedLength, runFused } from "./fused";
import { murmur3 } from "./murmur";
import * as O from "./opcodes";
import { idsContain, strsContain, switchLookup } from "./sets";
import { slotFailed, slotInt, slotUint } from "./slotcache";
import { isBool, put, putBool, putDouble, putError, putTri, SLOT, STACK, tagOf, valueOf } from "./stack";
import { arith, compare, convert, inSet, logic, size, stringTest } from "./vmops";

/** Conditions that errored during the last runRoute() call. */
export let conditionErrors: i32 = 0;

const IP_SCRATCH: usize = memory.data(16, 16);

/**
 * Runs the `len`-byte program at `code`; `data` is the DATA section's address, `base` the file's.
 * @returns the route-local binding index of the first matching policy, or -1. Sets conditionErrors.
 */
export function runRoute(code: usize, len: u32, data: usize, base: usize): i32 {
  conditionErrors = 0;
  let pc = code;
  let top: usize = STACK; // next free stack slot
  let pending = false; // an error seen in the current && / || chain (docs/bytecode.md, "Chains")
  while (true) {
    const op = <u32>load<u8>(pc);
    let r: i32 = 0;
    let mode: u32 = 0;
    {
      // One br_table for every opcode (docs/bytecode.md, "Fused tests": opcode = 0x40 + base +
      // 32 × mode): each fused case passes its base as a constant, so runFused() folds to that
      // one test. In workerd the 50-policy call ran 3–7 % faster than with a second dispatch.
      switch (op) {
      case 0x40: case 0x60: case 0x80: case 0xa0: case 0xc0:
        r = runFused(O.B_EQ_ID, pc + 1, data, base);
        pc += fusedLength(O.B_EQ_ID);
        break;
      case 0x41: case 0x61: case 0x81: case 0xa1: case 0xc1:
        r = runFused(O.B_NE_ID, pc + 1, data, base);
        pc += fusedLength(O.B_NE_ID);
        break;
      case 0x42: case 0x62: case 0x82: case 0xa2: case 0xc2:
        r = runFused(O.B_IN_IDS, pc + 1, data, base);
        pc += fusedLength(O.B_IN_IDS);
        break;
      case 0x43: case 0x63: case 0x83: case 0xa3: case 0xc3:
        r = runFused(O.B_EQ_STR, pc + 1, data, base);
        pc += fusedLength(O.B_EQ_STR);
        break;
      case 0x44: case 0x64: case 0x84: case 0xa4: case 0xc4:
        r = runFused(O.B_NE_STR, pc + 1, data, base);
        pc += fusedLength(O.B_NE_STR);
        break;
      case 0x45: case 0x65: case 0x85: case 0xa5: case 0xc5:
        r = runFused(O.B_IN_STRS, pc + 1, data, base);
        pc += fusedLength(O.B_IN_STRS);
        break;
      case 0x46: case 0x66: case 0x86: case 0xa6: case 0xc6:
        r = runFused(O.B_STARTS, pc + 1, data, base);
        pc += fusedLength(O.B_STARTS);
        break;
      case 0x47: case 0x67: case 0x87: case 0xa7: case 0xc7:
        r = runFused(O.B_ENDS, pc + 1, data, base);
        pc += fusedLength(O.B_ENDS);
        break;
      case 0x48: case 0x68: case 0x88: case 0xa8: case 0xc8:
        r = runFused(O.B_CONTAINS, pc + 1, data, base);
        pc += fusedLength(O.B_CONTAINS);
        break;
      case 0x49: case 0x69: case 0x89: case 0xa9: case 0xc9:
        r = runFused(O.B_INT_CMP, pc + 1, data, base);
        pc += fusedLength(O.B_INT_CMP);
        break;
      case 0x4a: case 0x6a: case 0x8a: case 0xaa: case 0xca:
        r = runFused(O.B_INT_ARITH_CMP, pc + 1, data, base);
        pc += fusedLength(O.B_INT_ARITH_CMP);
        break;
      case 0x4b: case 0x6b: case 0x8b: case 0xab: case 0xcb:
        r = runFused(O.B_INT_IN, pc + 1, data, base);
        pc += fusedLength(O.B_INT_IN);
        break;
      case 0x4c: case 0x6c: case 0x8c: case 0xac: case 0xcc:
        r = runFused(O.B_BUCKET_CMP, pc + 1, data, base);
        pc += fusedLength(O.B_BUCKET_CMP);
        break;
      case 0x4d: case 0x6d: case 0x8d: case 0xad: case 0xcd:
        r = runFused(O.B_CIDR, pc + 1, data, base);
        pc += fusedLength(O.B_CIDR);
        break;
      case 0x4e: case 0x6e: case 0x8e: case 0xae: case 0xce:
        r = runFused(O.B_MATCHES, pc + 1, data, base);
        pc += fusedLength(O.B_MATCHES);
        break;
      case 0x4f: case 0x6f: case 0x8f: case 0xaf: case 0xcf:
        r = runFused(O.B_HAS, pc + 1, data, base);
        pc += fusedLength(O.B_HAS);
        break;
      case 0x50: case 0x70: case 0x90: case 0xb0: case 0xd0:
        r = runFused(O.B_INT_ARITH_IN, pc + 1, data, base);
        pc += fusedLength(O.B_INT_ARITH_IN);
        break;
      case 0x51: case 0x71: case 0x91: case 0xb1: case 0xd1:
        r = runFused(O.B_REQ_EQ, pc + 1, data, base);
        pc += fusedLength(O.B_REQ_EQ);
        break;
      case 0x52: case 0x72: case 0x92: case 0xb2: case 0xd2:
        r = runFused(O.B_REQ_NE, pc + 1, data, base);
        pc += fusedLength(O.B_REQ_NE);
        break;
      case 0x53: case 0x73: case 0x93: case 0xb3: case 0xd3:
        r = runFused(O.B_REQ_STARTS, pc + 1, data, base);
        pc += fusedLength(O.B_REQ_STARTS);
        break;

      case O.OP_END:
        return -1;
      case O.OP_MATCH:
      case O.OP_TEST_AND:
      case O.OP_TEST_OR:
      case O.OP_TEST_OR_LAST:
        top -= SLOT;
        r = tagOf(top) != O.TAG_BOOL ? O.R_ERROR : <i32>valueOf(top);
        mode = op == O.OP_MATCH ? O.MODE_MATCH : op == O.OP_TEST_AND ? O.MODE_AND : op == O.OP_TEST_OR ? O.MODE_OR : O.MODE_OR_LAST;
        pc += 1;
        break;
      case O.OP_GRAY_IDS:
      case O.OP_GRAY_STRS: {
        const slot = <u32>load<u8>(pc, 1);
        const obj = data + <usize>load<u32>(pc, 2);
        let admitted = false;
        if (slotPresent(slot)) {
          if (op == O.OP_GRAY_IDS) {
            const id = load<u32>(slotAddr(slot), SL_ID);
            admitted = id != 0 && idsContain(obj, id);
          } else {
            const v = slotString(slot);
            admitted = strsContain(obj, stringAddr(v), stringLen(v));
          }
        }
        pc = admitted ? pc + 10 : code + <usize>load<u32>(pc, 6);
        break;
      }
      case O.OP_SWITCH_IDS: {
        const slot = <u32>load<u8>(pc, 1);
        if (!slotPresent(slot)) conditionErrors += <i32>load<u16>(pc, 6);
        else {
          const id = load<u32>(slotAddr(slot), SL_ID);
          if (id != 0) {
            const b = switchLookup(data + <usize>load<u32>(pc, 2), id);
            if (b >= 0) return b;
          }
        }
        pc += 8;
        break;
      }
      case O.OP_JUMP:
        pc = code + <usize>load<u32>(pc, 1);
        break;
      case O.OP_JF:
      case O.OP_JT:
        pc = isBool(top - SLOT, op == O.OP_JT ? 1 : 0) ? code + <usize>load<u32>(pc, 1) : pc + 5;
        break;
      case O.OP_JFP:
      case O.OP_JTP:
        if (isBool(top - SLOT, op == O.OP_JTP ? 1 : 0)) pc = code + <usize>load<u32>(pc, 1);
        else {
          top -= SLOT;
          pc += 5;
        }
        break;
      case O.OP_BR3: {
        top -= SLOT;
        if (tagOf(top) != O.TAG_BOOL) pc = code + <usize>load<u32>(pc, 5);
        else if (valueOf(top) == 0) pc = code + <usize>load<u32>(pc, 1);
        else pc += 9;
        break;
      }
      case O.OP_AND:
      case O.OP_OR:
        top -= SLOT;
        logic(op == O.OP_OR ? 1 : 0, top - SLOT, top);
        pc += 1;
        break;
      case O.OP_NOT: {
        const s = top - SLOT;
        if (tagOf(s) == O.TAG_BOOL) putBool(s, valueOf(s) == 0);
        else putError(s);
        pc += 1;
        break;
      }
      case O.OP_PUSH_TRUE:
      case O.OP_PUSH_FALSE:
        putBool(top, op == O.OP_PUSH_TRUE);
        top += SLOT;
        pc += 1;
        break;
      case O.OP_PUSH_ERROR:
        putError(top);
        top += SLOT;
        pc += 1;
        break;
      case O.OP_PUSH_INT:
      case O.OP_PUSH_UINT:
      case O.OP_PUSH_DOUBLE:
        put(top, op == O.OP_PUSH_INT ? O.TAG_INT : op == O.OP_PUSH_UINT ? O.TAG_UINT : O.TAG_DOUBLE, load<i64>(pc, 1));
        top += SLOT;
        pc += 9;
        break;
      case O.OP_PUSH_STR:
        put(top, O.TAG_STRING, <i64>(<u64>(base + <usize>load<u32>(pc, 1)) | (<u64>load<u32>(pc, 5) << 32)));
        top += SLOT;
        pc += 9;
        break;
      case O.OP_LOAD: {
        const v = slotString(<u32>load<u8>(pc, 1));
        if (v < 0) putError(top);
        else put(top, O.TAG_STRING, v);
        top += SLOT;
        pc += 2;
        break;
      }
      case O.OP_HAS:
        putBool(top, slotPresent(<u32>load<u8>(pc, 1)));
        top += SLOT;
        pc += 2;
        break;
      case O.OP_LOAD_REQ: {
        const f = <u32>load<u8>(pc, 1);
        put(top, O.TAG_STRING, requestOperand(f));
        top += SLOT;
        pc += 2;
        break;
      }
      case O.OP_LOAD_INT: {
        const n = slotInt(<u32>load<u8>(pc, 1));
        if (slotFailed) putError(top);
        else put(top, O.TAG_INT, n);
        top += SLOT;
        pc += 2;
        break;
      }
      case O.OP_LOAD_UINT: {
        const n = slotUint(<u32>load<u8>(pc, 1));
        if (slotFailed) putError(top);
        else put(top, O.TAG_UINT, <i64>n);
        top += SLOT;
        pc += 2;
        break;
      }
      case O.OP_LOAD_DOUBLE: {
        const s = slotAddr(<u32>load<u8>(pc, 1));
        if (load<i32>(s, SL_LEN) >= 0 && (load<u32>(s, SL_FLAGS) & SLOT_DOUBLE_OK) != 0) putDouble(top, O.TAG_DOUBLE, load<f64>(s, SL_DOUBLE));
        else putError(top);
        top += SLOT;
        pc += 2;
        break;
      }
      case O.OP_ADD:
      case O.OP_SUB:
      case O.OP_MUL:
      case O.OP_DIV:
      case O.OP_MOD:
        top -= SLOT;
        arith(op, top - SLOT, top);
        pc += 1;
        break;
      case O.OP_NEG: {
        const s = top - SLOT;
        const t = tagOf(s);
        if (t == O.TAG_INT && valueOf(s) != i64.MIN_VALUE) put(s, t, -valueOf(s));
        else if (t == O.TAG_DOUBLE) putDouble(s, t, -load<f64>(s, 8));
        else putError(s);
        pc += 1;
        break;
      }
      case O.OP_EQ:
      case O.OP_NE:
      case O.OP_LT:
      case O.OP_LE:
      case O.OP_GT:
      case O.OP_GE:
        top -= SLOT;
        compare(op, top - SLOT, top);
        pc += 1;
        break;
      case O.OP_TO_INT:
      case O.OP_TO_UINT:
      case O.OP_TO_DOUBLE:
      case O.OP_TO_STRING:
        convert(op, top - SLOT);
        pc += 1;
        break;
      case O.OP_STARTS:
      case O.OP_ENDS:
      case O.OP_CONTAINS:
        top -= SLOT;
        stringTest(op - O.OP_STARTS, top - SLOT, top);
        pc += 1;
        break;
      case O.OP_SIZE:
        size(top - SLOT);
        pc += 1;
        break;
      case O.OP_IN:
        inSet(data + <usize>load<u32>(pc, 1), top - SLOT);
        pc += 5;
        break;
      case O.OP_MATCHES: {
        const s = top - SLOT;
        if (tagOf(s) == O.TAG_STRING) {
          const v = valueOf(s);
          putBool(s, runDfa(data + <usize>load<u32>(pc, 1), stringAddr(v), stringLen(v)));
        } else putError(s);
        pc += 5;
        break;
      }
      case O.OP_CIDR: {
        const s = top - SLOT;
        if (tagOf(s) == O.TAG_STRING) {
          const v = valueOf(s);
          const family = parseIp(stringAddr(v), stringLen(v), IP_SCRATCH);
          if (family == 0) putError(s);
          else putBool(s, cidrContains(data + <usize>load<u32>(pc, 1), family, IP_SCRATCH));
        } else putError(s);
        pc += 5;
        break;
      }
      case O.OP_BUCKET: {
        top -= SLOT;
        const a = top - SLOT;
        const n = valueOf(top);
        if (tagOf(a) != O.TAG_STRING || tagOf(top) != O.TAG_INT || n <= 0) putError(a);
        else {
          const v = valueOf(a);
          put(a, O.TAG_INT, <i64>(<u64>murmur3(stringAddr(v), stringLen(v)) % <u64>n));
        }
        pc += 1;
        break;
      }
      default:
        return -1; // unreachable: the loader refuses unknown opcodes
      }
      if (op >= O.FUSED_FIRST) {
        mode = (op - O.FUSED_FIRST) >> 5;
        if (mode == O.MODE_PUSH) {
          putTri(top, r);
          top += SLOT;
          continue;
        }
      } else if (op != O.OP_MATCH && (op < O.OP_TEST_AND || op > O.OP_TEST_OR_LAST)) continue;
    }
    // A chain test's result r in `mode` (exact CEL: false absorbs in &&, true in ||; otherwise an
    // error anywhere in the chain makes the condition an error, counted, not matched).
    if (mode == O.MODE_AND) {
      if (r == O.R_FALSE) {
        pending = false;
        pc = code + <usize>load<u32>(pc);
        continue;
      }
      if (r == O.R_ERROR) pending = true;
      pc += 4;
      continue;
    }
    const binding = <i32>load<u16>(pc);
    pc += 2;
    if (mode == O.MODE_MATCH) {
      // The last conjunct (or a lone condition).
      if (r == O.R_TRUE && !pending) return binding;
      if (r != O.R_FALSE) conditionErrors++;
      pending = false;
    } else if (mode == O.MODE_OR) {
      if (r == O.R_TRUE) return binding;
      if (r == O.R_ERROR) pending = true;
    } else {
      // The last disjunct.
      if (r == O.R_TRUE) return binding;
      if (r == O.R_ERROR || pending) conditionErrors++;
      pending = false;
    }
  }
}
