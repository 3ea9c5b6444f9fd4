/**
 * The condition VM: runs one policy's program (docs/bytecode.md) over the request frame, a stack
 * machine over slot.ts' fixed 64-slot stack. It never allocates and never traps: every operand,
 * jump and stack access is bounds-checked and a violation ends the program as an error; jumps
 * only go forward, so a program ends within `len` steps.
 */
import { bytesEqual, compareBytes, countCodePoints } from "./bytes";
import { attributeValue, FIELD_HOST, FIELD_METHOD, FIELD_PATH, requestField, stringAddr, stringLen } from "./frame";
import { intFailed, parseInt64Cached } from "./int64";
import {
  OP_ADD,
  OP_AND,
  OP_CONTAINS,
  OP_DIV,
  OP_ENDS_WITH,
  OP_EQ,
  OP_GE,
  OP_GT,
  OP_HAS_ATTR,
  OP_IN_INTS,
  OP_IN_STRS,
  OP_INT,
  OP_JUMP,
  OP_JUMP_IF_FALSE,
  OP_JUMP_IF_TRUE,
  OP_LE,
  OP_LOAD_ATTR,
  OP_LOAD_REQ,
  OP_LT,
  OP_MOD,
  OP_MUL,
  OP_NE,
  OP_NEG,
  OP_NOT,
  OP_OR,
  OP_PUSH_BOOL,
  OP_PUSH_INT,
  OP_PUSH_STR,
  OP_RET,
  OP_SELECT,
  OP_SIZE,
  OP_STARTS_WITH,
  OP_SUB,
  REQ_HOST,
  REQ_METHOD,
  REQ_PATH,
  TAG_BOOL,
  TAG_ERROR,
  TAG_INT,
  TAG_STRING,
} from "./opcodes";
import { containsBytes } from "./search";
import { arith, constString, isBool, put, putBool, putError, SLOT, STACK, STACK_END, sameString, tagOf, valueOf } from "./slot";

/** runProgram results. */
export const MATCHED: i32 = 1;
export const NOT_MATCHED: i32 = 0;
export const ERRORED: i32 = -1;

/**
 * Runs the `len`-byte program at address `code`.
 * @returns MATCHED when it returns bool true; NOT_MATCHED for false; ERRORED for an error or
 *   non-bool result, a malformed program, or a stack over/underflow.
 */
export function runProgram(code: usize, len: u32): i32 {
  let pc: u32 = 0;
  let top: usize = STACK; // next free slot
  while (pc < len) {
    const op = load<u8>(code + pc);
    const at = code + ++pc; // operands
    const left = len - pc; // operand bytes available
    switch (op) {
      case OP_RET: {
        if (top == STACK) return ERRORED;
        const s = top - SLOT;
        if (tagOf(s) != TAG_BOOL) return ERRORED;
        return valueOf(s) != 0 ? MATCHED : NOT_MATCHED;
      }
      case OP_PUSH_BOOL: {
        if (left < 1 || top == STACK_END) return ERRORED;
        putBool(top, load<u8>(at) != 0);
        top += SLOT;
        pc += 1;
        break;
      }
      case OP_PUSH_INT: {
        if (left < 8 || top == STACK_END) return ERRORED;
        put(top, TAG_INT, load<i64>(at));
        top += SLOT;
        pc += 8;
        break;
      }
      case OP_PUSH_STR: {
        if (left < 8 || top == STACK_END) return ERRORED;
        const s = constString(load<u32>(at), load<u32>(at, 4));
        if (s < 0) return ERRORED;
        put(top, TAG_STRING, s);
        top += SLOT;
        pc += 8;
        break;
      }
      case OP_LOAD_ATTR:
      case OP_HAS_ATTR: {
        if (left < 2 || top == STACK_END) return ERRORED;
        const v = attributeValue(<u32>load<u16>(at));
        if (op == OP_HAS_ATTR) putBool(top, v >= 0);
        else if (v < 0) putError(top);
        else put(top, TAG_STRING, v);
        top += SLOT;
        pc += 2;
        break;
      }
      case OP_LOAD_REQ: {
        if (left < 1 || top == STACK_END) return ERRORED;
        const f = load<u8>(at);
        if (f > REQ_PATH) return ERRORED;
        put(top, TAG_STRING, requestField(f == REQ_METHOD ? FIELD_METHOD : f == REQ_HOST ? FIELD_HOST : FIELD_PATH));
        top += SLOT;
        pc += 1;
        break;
      }
      case OP_INT: {
        if (top == STACK) return ERRORED;
        const s = top - SLOT;
        const t = tagOf(s);
        if (t == TAG_STRING) {
          const v = valueOf(s);
          const n = parseInt64Cached(stringAddr(v), stringLen(v));
          if (intFailed) putError(s);
          else put(s, TAG_INT, n);
        } else if (t != TAG_INT) putError(s);
        break;
      }
      case OP_ADD:
      case OP_SUB:
      case OP_MUL:
      case OP_DIV:
      case OP_MOD: {
        if (top - STACK < 2 * SLOT) return ERRORED;
        top -= SLOT;
        arith(op, top - SLOT, top);
        break;
      }
      case OP_NEG: {
        if (top == STACK) return ERRORED;
        const s = top - SLOT;
        if (tagOf(s) != TAG_INT || valueOf(s) == i64.MIN_VALUE) putError(s);
        else put(s, TAG_INT, -valueOf(s));
        break;
      }
      case OP_EQ:
      case OP_NE: {
        if (top - STACK < 2 * SLOT) return ERRORED;
        top -= SLOT;
        const a = top - SLOT;
        const ta = tagOf(a);
        const tb = tagOf(top);
        if (ta == TAG_ERROR || tb == TAG_ERROR) {
          putError(a);
          break;
        }
        let eq = false;
        if (ta == tb) eq = ta == TAG_STRING ? sameString(valueOf(a), valueOf(top)) : valueOf(a) == valueOf(top);
        putBool(a, op == OP_EQ ? eq : !eq);
        break;
      }
      case OP_LT:
      case OP_LE:
      case OP_GT:
      case OP_GE: {
        if (top - STACK < 2 * SLOT) return ERRORED;
        top -= SLOT;
        const a = top - SLOT;
        const ta = tagOf(a);
        if (ta != tagOf(top) || (ta != TAG_INT && ta != TAG_STRING)) {
          putError(a);
          break;
        }
        let c: i32;
        if (ta == TAG_INT) {
          const x = valueOf(a);
          const y = valueOf(top);
          c = x < y ? -1 : x > y ? 1 : 0;
        } else {
          const x = valueOf(a);
          const y = valueOf(top);
          c = compareBytes(stringAddr(x), stringLen(x), stringAddr(y), stringLen(y));
        }
        putBool(a, op == OP_LT ? c < 0 : op == OP_LE ? c <= 0 : op == OP_GT ? c > 0 : c >= 0);
        break;
      }
      case OP_NOT: {
        if (top == STACK) return ERRORED;
        const s = top - SLOT;
        if (tagOf(s) == TAG_BOOL) putBool(s, valueOf(s) == 0);
        else putError(s);
        break;
      }
      case OP_AND:
      case OP_OR: {
        // CEL's commutative logic: the absorbing value (false for &&, true for ||) wins over error.
        if (top - STACK < 2 * SLOT) return ERRORED;
        top -= SLOT;
        const a = top - SLOT;
        const absorbing: i64 = op == OP_OR ? 1 : 0;
        if (isBool(a, absorbing) || isBool(top, absorbing)) putBool(a, absorbing != 0);
        else if (tagOf(a) != TAG_BOOL || tagOf(top) != TAG_BOOL) putError(a);
        else putBool(a, absorbing == 0);
        break;
      }
      case OP_JUMP_IF_FALSE:
      case OP_JUMP_IF_TRUE:
      case OP_JUMP: {
        if (left < 4) return ERRORED;
        const target = load<u32>(at);
        pc += 4;
        if (target < pc || target >= len) return ERRORED; // forward only, inside the program
        if (op == OP_JUMP) {
          pc = target;
        } else {
          if (top == STACK) return ERRORED;
          if (isBool(top - SLOT, op == OP_JUMP_IF_TRUE ? 1 : 0)) pc = target;
        }
        break;
      }
      case OP_SELECT: {
        if (top - STACK < 3 * SLOT) return ERRORED;
        const c = top - 3 * SLOT;
        if (tagOf(c) != TAG_BOOL) putError(c);
        else {
          const pick = valueOf(c) != 0 ? top - 2 * SLOT : top - SLOT;
          put(c, tagOf(pick), valueOf(pick));
        }
        top -= 2 * SLOT;
        break;
      }
      case OP_IN_STRS:
      case OP_IN_INTS: {
        if (left < 4 || top == STACK) return ERRORED;
        const count = load<u32>(at);
        if (<u64>(left - 4) < (<u64>count) << 3) return ERRORED;
        pc += 4 + (count << 3);
        const s = top - SLOT;
        const t = tagOf(s);
        if (t == TAG_ERROR) break; // error stays error
        const want = op == OP_IN_STRS ? TAG_STRING : TAG_INT;
        if (t != want) {
          putBool(s, false);
          break;
        }
        const v = valueOf(s);
        let found = false;
        for (let i: u32 = 0; i < count && !found; i++) {
          const item = at + 4 + ((<usize>i) << 3);
          if (want == TAG_INT) {
            found = load<i64>(item) == v;
          } else {
            const k = constString(load<u32>(item), load<u32>(item, 4));
            if (k < 0) return ERRORED;
            found = sameString(v, k);
          }
        }
        putBool(s, found);
        break;
      }
      case OP_STARTS_WITH:
      case OP_ENDS_WITH:
      case OP_CONTAINS: {
        if (top - STACK < 2 * SLOT) return ERRORED;
        top -= SLOT;
        const a = top - SLOT;
        if (tagOf(a) != TAG_STRING || tagOf(top) != TAG_STRING) {
          putError(a);
          break;
        }
        const s = valueOf(a);
        const t = valueOf(top);
        const sl = stringLen(s);
        const tl = stringLen(t);
        let r: bool;
        if (op == OP_CONTAINS) r = containsBytes(stringAddr(s), sl, stringAddr(t), tl);
        else if (tl > sl) r = false;
        else r = bytesEqual(stringAddr(s) + (op == OP_ENDS_WITH ? sl - tl : 0), stringAddr(t), tl);
        putBool(a, r);
        break;
      }
      case OP_SIZE: {
        if (top == STACK) return ERRORED;
        const s = top - SLOT;
        if (tagOf(s) == TAG_STRING) {
          const v = valueOf(s);
          put(s, TAG_INT, countCodePoints(stringAddr(v), stringLen(v)));
        } else putError(s);
        break;
      }
      default:
        return ERRORED;
    }
  }
  return ERRORED; // ran off the end without RET
}
