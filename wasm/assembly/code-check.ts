/**
 * Load-time check of one policy's program (docs/bytecode.md): decodes it linearly and refuses
 * unknown opcodes, truncated operands, strings outside STRINGS, attribute indices outside
 * ATTRIBUTES, LOAD_REQ fields other than 0–2, and jumps that do not go forward inside the
 * program. A refused program refuses the snapshot (E_BAD_CODE), so a writer or compiler bug
 * shows at load rather than as silently unmatched policies. The VM still checks everything at
 * run time: a jump may land inside an instruction's operands, which this pass does not decode.
 */
import { strrefInBounds } from "./format";
import {
  OP_HAS_ATTR,
  OP_IN_INTS,
  OP_IN_STRS,
  OP_JUMP,
  OP_JUMP_IF_FALSE,
  OP_JUMP_IF_TRUE,
  OP_LOAD_ATTR,
  OP_LOAD_REQ,
  OP_PUSH_BOOL,
  OP_PUSH_STR,
  operandBytes,
  REQ_PATH,
} from "./opcodes";

/**
 * Whether the `len` bytes at address `code` are a well-formed program. `poolStart`/`poolEnd`:
 * the STRINGS section as file offsets; `totalLength`: the header's; `attributes`: the ATTRIBUTES
 * record count.
 */
export function checkProgram(code: usize, len: u32, poolStart: u32, poolEnd: u32, totalLength: u32, attributes: u32): bool {
  let pc: u32 = 0;
  while (pc < len) {
    const op = <u32>load<u8>(code + pc);
    const n = operandBytes(op);
    if (n < 0) return false;
    const at = pc + 1;
    if (len - at < <u32>n) return false;
    let next: u64 = <u64>at + <u64>n;
    const operand = code + at;
    switch (op) {
      case OP_PUSH_BOOL:
        if (load<u8>(operand) > 1) return false;
        break;
      case OP_PUSH_STR:
        if (!strrefInBounds(load<u32>(operand), load<u32>(operand, 4), poolStart, poolEnd, totalLength)) return false;
        break;
      case OP_LOAD_ATTR:
      case OP_HAS_ATTR:
        if (<u32>load<u16>(operand) >= attributes) return false;
        break;
      case OP_LOAD_REQ:
        if (load<u8>(operand) > REQ_PATH) return false;
        break;
      case OP_JUMP_IF_FALSE:
      case OP_JUMP_IF_TRUE:
      case OP_JUMP: {
        const target = load<u32>(operand);
        if (<u64>target < next || target >= len) return false;
        break;
      }
      case OP_IN_STRS:
      case OP_IN_INTS: {
        const count = load<u32>(operand);
        const tail = (<u64>count) << 3;
        if (<u64>len - next < tail) return false;
        if (op == OP_IN_STRS) {
          for (let i: u32 = 0; i < count; i++) {
            const ref = code + <usize>next + ((<usize>i) << 3);
            if (!strrefInBounds(load<u32>(ref), load<u32>(ref, 4), poolStart, poolEnd, totalLength)) return false;
          }
        }
        next += tail;
        break;
      }
      default:
        break;
    }
    pc = <u32>next;
  }
  return true;
}
