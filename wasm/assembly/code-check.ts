/**
 * Load-time verification of a route's program (docs/bytecode.md, "Verification"), so the VM
 * can run without a single bounds check: every opcode is known and its operands fit; slot
 * operands are below the route's slot count and the slot's mode carries what the instruction
 * reads; strings lie in STRINGS and data operands are valid objects of the right kind
 * (data-check.ts); jumps go forward and land on an instruction with the same stack depth as
 * every other way there; the stack never underflows or exceeds 64 values; chain tests run on
 * an empty stack; MATCH targets are route bindings; the program ends with END; TO_STRING
 * cannot exhaust the scratch area. Like a WASM validator: one linear pass, with the depth
 * recorded at each jump target.
 */
import { dataObjectOk, inSetOk } from "./data-check";
import { SCRATCH_CAPACITY } from "./frame";
import { fusedOperands } from "./fused";
import { ROUTE_SLOT_BYTES, ROUTE_SLOT_MODE, SLOT_MODE_BYTES, SLOT_MODE_DOUBLE, SLOT_MODE_INT, SLOT_MODE_INTERN } from "./format";
import * as O from "./opcodes";
import { strrefAtOk } from "./string-bounds";

/** Operand bytes a fused test's mode adds: its binding (u16) or skip target (u32). */
@inline function modeBytes(mode: u32): u32 {
  return mode == O.MODE_PUSH ? 0 : mode == O.MODE_AND ? 4 : 2;
}

/** Inline operand bytes of `op`; -1 for an unknown opcode. */
export function operandBytes(op: u32): i32 {
  if (op >= O.FUSED_FIRST) {
    const b = (op - O.FUSED_FIRST) & 31;
    const mode = (op - O.FUSED_FIRST) >> 5;
    if (b > O.B_LAST || mode > O.MODE_LAST) return -1;
    return <i32>(fusedOperands(b) + modeBytes(mode));
  }
  switch (op) {
    case O.OP_END: case O.OP_AND: case O.OP_OR: case O.OP_NOT: case O.OP_PUSH_TRUE: case O.OP_PUSH_FALSE:
    case O.OP_PUSH_ERROR: case O.OP_ADD: case O.OP_SUB: case O.OP_MUL: case O.OP_DIV: case O.OP_MOD: case O.OP_NEG:
    case O.OP_EQ: case O.OP_NE: case O.OP_LT: case O.OP_LE: case O.OP_GT: case O.OP_GE: case O.OP_TO_INT:
    case O.OP_TO_UINT: case O.OP_TO_DOUBLE: case O.OP_TO_STRING: case O.OP_STARTS: case O.OP_ENDS: case O.OP_CONTAINS:
    case O.OP_SIZE: case O.OP_BUCKET:
      return 0;
    case O.OP_LOAD: case O.OP_HAS: case O.OP_LOAD_REQ: case O.OP_LOAD_INT: case O.OP_LOAD_UINT: case O.OP_LOAD_DOUBLE:
      return 1;
    case O.OP_MATCH: case O.OP_TEST_OR: case O.OP_TEST_OR_LAST:
      return 2;
    case O.OP_JUMP: case O.OP_JF: case O.OP_JT: case O.OP_JFP: case O.OP_JTP: case O.OP_IN: case O.OP_MATCHES:
    case O.OP_CIDR: case O.OP_TEST_AND:
      return 4;
    case O.OP_SWITCH_IDS:
      return 7;
    case O.OP_BR3: case O.OP_PUSH_INT: case O.OP_PUSH_UINT: case O.OP_PUSH_DOUBLE: case O.OP_PUSH_STR:
      return 8;
    case O.OP_GRAY_IDS: case O.OP_GRAY_STRS:
      return 9;
    default:
      return -1;
  }
}

/** What the program being verified is checked against (module state: no managed objects). */
class RouteCheck {
  static code: usize = 0;
  static len: u32 = 0;
  static data: usize = 0;
  static dataSize: u32 = 0;
  /** Address of the route's first ROUTE_SLOTS record, and their count. */
  static slots: usize = 0;
  static slotCount: u32 = 0;
  static bindings: u32 = 0;
}

const DEPTH: u32 = 0x7f; // depth + 1 recorded at a jump target
const START: u32 = 0x80; // an instruction starts here

/**
 * Whether slot `slot` exists and its mode has all of `need`. int() readers ask for BYTES and
 * also accept INT: the host then writes the parse or, when it cannot parse, the bytes.
 */
@inline function slotOk(slot: u32, need: u32): bool {
  return slot < RouteCheck.slotCount && (<u32>load<u8>(RouteCheck.slots + slot * ROUTE_SLOT_BYTES + ROUTE_SLOT_MODE) & need) == need;
}

@inline function intSlotOk(slot: u32): bool {
  return slotOk(slot, SLOT_MODE_BYTES) || slotOk(slot, SLOT_MODE_INT);
}

@inline function objectOk(off: u32, kind: u32): bool {
  return dataObjectOk(RouteCheck.data, RouteCheck.dataSize, off, kind, RouteCheck.bindings);
}

/**
 * Verifies the `len`-byte program at `code` of a route with `slotCount` slots (records at
 * `slots`) and `bindings` policies; `data`/`dataSize`: DATA; `info`: scratch of `len` bytes.
 */
export function verifyRoute(code: usize, len: u32, data: usize, dataSize: u32, slots: usize, slotCount: u32, bindings: u32, info: usize): bool {
  RouteCheck.code = code;
  RouteCheck.len = len;
  RouteCheck.data = data;
  RouteCheck.dataSize = dataSize;
  RouteCheck.slots = slots;
  RouteCheck.slotCount = slotCount;
  RouteCheck.bindings = bindings;
  return verify(info);
}

function verify(info: usize): bool {
  const len = RouteCheck.len;
  memory.fill(info, 0, len);
  let depth: i32 = 0;
  let reachable = true;
  let toStrings: u32 = 0;
  let pc: u32 = 0;
  let last: u32 = 0xff;
  while (pc < len) {
    const op = <u32>load<u8>(RouteCheck.code + pc);
    const n = operandBytes(op);
    if (n < 0 || len - pc - 1 < <u32>n) return false;
    const next = pc + 1 + <u32>n;
    const rec = <u32>load<u8>(info + pc);
    if (reachable) {
      if ((rec & DEPTH) != 0 && <i32>(rec & DEPTH) - 1 != depth) return false;
    } else {
      if ((rec & DEPTH) == 0) return false; // unreachable code
      depth = <i32>(rec & DEPTH) - 1;
    }
    store<u8>(info + pc, <u8>(START | <u32>(depth + 1)));
    const at = RouteCheck.code + pc + 1;
    let pop: i32 = 0;
    let push: i32 = 0;
    if (op >= O.FUSED_FIRST) {
      const b = (op - O.FUSED_FIRST) & 31;
      const mode = (op - O.FUSED_FIRST) >> 5;
      if (!fusedOk(b, at)) return false;
      const tail = RouteCheck.code + pc + 1 + fusedOperands(b);
      if (mode == O.MODE_PUSH) push = 1;
      else if (depth != 0) return false; // chain tests run on an empty stack
      else if (mode == O.MODE_AND) {
        if (!target(info, next, load<u32>(tail), 0)) return false;
      } else if (<u32>load<u16>(tail) >= RouteCheck.bindings) return false;
    } else {
      switch (op) {
        case O.OP_END:
          if (depth != 0) return false;
          break;
        case O.OP_MATCH:
          if (<u32>load<u16>(at) >= RouteCheck.bindings) return false;
          pop = 1;
          break;
        case O.OP_TEST_OR:
        case O.OP_TEST_OR_LAST:
          if (depth != 1 || <u32>load<u16>(at) >= RouteCheck.bindings) return false;
          pop = 1;
          break;
        case O.OP_TEST_AND:
          if (depth != 1 || !target(info, next, load<u32>(at), 0)) return false;
          pop = 1;
          break;
        case O.OP_GRAY_IDS:
        case O.OP_GRAY_STRS:
          if (!slotOk(<u32>load<u8>(at), op == O.OP_GRAY_IDS ? SLOT_MODE_INTERN : SLOT_MODE_BYTES)) return false;
          if (!objectOk(load<u32>(at, 1), op == O.OP_GRAY_IDS ? O.KIND_IDS : O.KIND_STRS)) return false;
          if (!target(info, next, load<u32>(at, 5), depth)) return false;
          break;
        case O.OP_SWITCH_IDS:
          if (!slotOk(<u32>load<u8>(at), SLOT_MODE_INTERN) || !objectOk(load<u32>(at, 1), O.KIND_SWITCH)) return false;
          break;
        case O.OP_JUMP:
        case O.OP_JF:
        case O.OP_JT:
        case O.OP_JFP:
        case O.OP_JTP:
          if (op != O.OP_JUMP && depth < 1) return false;
          if (!target(info, next, load<u32>(at), depth)) return false;
          if (op == O.OP_JFP || op == O.OP_JTP) pop = 1;
          break;
        case O.OP_BR3:
          if (depth < 1) return false;
          if (!target(info, next, load<u32>(at), depth - 1) || !target(info, next, load<u32>(at, 4), depth - 1)) return false;
          pop = 1;
          break;
        case O.OP_AND: case O.OP_OR: case O.OP_ADD: case O.OP_SUB: case O.OP_MUL: case O.OP_DIV: case O.OP_MOD:
        case O.OP_EQ: case O.OP_NE: case O.OP_LT: case O.OP_LE: case O.OP_GT: case O.OP_GE: case O.OP_STARTS:
        case O.OP_ENDS: case O.OP_CONTAINS: case O.OP_BUCKET:
          pop = 2;
          push = 1;
          break;
        case O.OP_TO_STRING:
          toStrings++;
          if (<u64>toStrings * 20 > <u64>SCRATCH_CAPACITY) return false;
          pop = 1;
          push = 1;
          break;
        case O.OP_NOT: case O.OP_NEG: case O.OP_TO_INT: case O.OP_TO_UINT: case O.OP_TO_DOUBLE: case O.OP_SIZE:
          pop = 1;
          push = 1;
          break;
        case O.OP_IN:
          if (!inSetOk(RouteCheck.data, RouteCheck.dataSize, load<u32>(at))) return false;
          pop = 1;
          push = 1;
          break;
        case O.OP_MATCHES:
        case O.OP_CIDR:
          if (!objectOk(load<u32>(at), op == O.OP_MATCHES ? O.KIND_DFA : O.KIND_CIDR)) return false;
          pop = 1;
          push = 1;
          break;
        case O.OP_PUSH_STR:
          if (!strrefAtOk(at)) return false;
          push = 1;
          break;
        case O.OP_LOAD_REQ:
          if (load<u8>(at) > O.REQ_PATH) return false;
          push = 1;
          break;
        case O.OP_LOAD:
        case O.OP_LOAD_INT:
        case O.OP_LOAD_UINT:
        case O.OP_LOAD_DOUBLE:
        case O.OP_HAS:
          if (op == O.OP_LOAD_INT ? !intSlotOk(<u32>load<u8>(at)) : !slotOk(<u32>load<u8>(at), op == O.OP_HAS ? 0 : op == O.OP_LOAD_DOUBLE ? SLOT_MODE_DOUBLE : SLOT_MODE_BYTES)) return false;
          push = 1;
          break;
        default:
          // PUSH_TRUE, PUSH_FALSE, PUSH_ERROR, PUSH_INT, PUSH_UINT, PUSH_DOUBLE
          push = 1;
      }
    }
    if (depth < pop) return false;
    depth = depth - pop + push;
    if (depth > 64) return false;
    reachable = op != O.OP_END && op != O.OP_JUMP;
    last = op;
    pc = next;
  }
  if (last != O.OP_END) return false;
  for (let i: u32 = 0; i < len; i++) {
    const rec = <u32>load<u8>(info + i);
    if ((rec & DEPTH) != 0 && (rec & START) == 0) return false; // a jump into operands
  }
  return true;
}

/** Records that the jump target `t` is reached with `depth`: forward, in the program, consistent. */
function target(info: usize, next: u32, t: u32, depth: i32): bool {
  if (t < next || t >= RouteCheck.len || depth < 0) return false;
  const rec = <u32>load<u8>(info + t);
  if ((rec & DEPTH) != 0 && <i32>(rec & DEPTH) - 1 != depth) return false;
  store<u8>(info + t, <u8>(rec | <u32>(depth + 1)));
  return true;
}

/** Operand checks of fused test `b` whose operands start at `at`. */
function fusedOk(b: u32, at: usize): bool {
  if (b >= O.B_REQ_EQ) return load<u8>(at) <= O.REQ_PATH && strrefAtOk(at + 1);
  const slot = <u32>load<u8>(at);
  switch (b) {
    case O.B_HAS:
      return slotOk(slot, 0);
    case O.B_EQ_ID:
    case O.B_NE_ID:
      return slotOk(slot, SLOT_MODE_INTERN);
    case O.B_IN_IDS:
      return slotOk(slot, SLOT_MODE_INTERN) && objectOk(load<u32>(at, 1), O.KIND_IDS);
  }
  switch (b) {
    case O.B_INT_CMP:
      return intSlotOk(slot) && load<u8>(at, 1) <= O.CMP_GE;
    case O.B_INT_ARITH_CMP:
      return intSlotOk(slot) && <u32>load<u8>(at, 1) <= O.ARITH_MOD && load<u8>(at, 10) <= O.CMP_GE;
    case O.B_INT_IN:
      return intSlotOk(slot) && objectOk(load<u32>(at, 1), O.KIND_INTS);
    case O.B_INT_ARITH_IN:
      return intSlotOk(slot) && <u32>load<u8>(at, 1) <= O.ARITH_MOD && objectOk(load<u32>(at, 10), O.KIND_INTS);
  }
  if (!slotOk(slot, SLOT_MODE_BYTES)) return false;
  switch (b) {
    case O.B_IN_STRS:
      return objectOk(load<u32>(at, 1), O.KIND_STRS);
    case O.B_CIDR:
      return objectOk(load<u32>(at, 1), O.KIND_CIDR);
    case O.B_MATCHES:
      return objectOk(load<u32>(at, 1), O.KIND_DFA);
    case O.B_EQ_STR: case O.B_NE_STR: case O.B_STARTS: case O.B_ENDS: case O.B_CONTAINS:
      return strrefAtOk(at + 1);
    default:
      // B_BUCKET_CMP
      return load<u8>(at, 1) <= O.CMP_GE;
  }
}
