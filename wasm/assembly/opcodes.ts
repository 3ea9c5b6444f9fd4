/**
 * Condition bytecode version 1 opcodes (docs/bytecode.md; the compiler's copy is
 * control/compiler/opcodes.ts) and the VM's value tags.
 */

export const OP_RET: u8 = 0x00;
export const OP_PUSH_BOOL: u8 = 0x01;
export const OP_PUSH_INT: u8 = 0x02;
export const OP_PUSH_STR: u8 = 0x03;
export const OP_LOAD_ATTR: u8 = 0x04;
export const OP_HAS_ATTR: u8 = 0x05;
export const OP_LOAD_REQ: u8 = 0x06;
export const OP_INT: u8 = 0x10;
export const OP_ADD: u8 = 0x20;
export const OP_SUB: u8 = 0x21;
export const OP_MUL: u8 = 0x22;
export const OP_DIV: u8 = 0x23;
export const OP_MOD: u8 = 0x24;
export const OP_NEG: u8 = 0x25;
export const OP_EQ: u8 = 0x30;
export const OP_NE: u8 = 0x31;
export const OP_LT: u8 = 0x32;
export const OP_LE: u8 = 0x33;
export const OP_GT: u8 = 0x34;
export const OP_GE: u8 = 0x35;
export const OP_NOT: u8 = 0x40;
export const OP_AND: u8 = 0x41;
export const OP_OR: u8 = 0x42;
export const OP_JUMP_IF_FALSE: u8 = 0x43;
export const OP_JUMP_IF_TRUE: u8 = 0x44;
export const OP_JUMP: u8 = 0x45;
export const OP_SELECT: u8 = 0x46;
export const OP_IN_STRS: u8 = 0x50;
export const OP_IN_INTS: u8 = 0x51;
export const OP_STARTS_WITH: u8 = 0x60;
export const OP_ENDS_WITH: u8 = 0x61;
export const OP_CONTAINS: u8 = 0x62;
export const OP_SIZE: u8 = 0x63;

/** LOAD_REQ operands. */
export const REQ_METHOD: u8 = 0;
export const REQ_HOST: u8 = 1;
export const REQ_PATH: u8 = 2;

/** Value tags. */
export const TAG_ERROR: u32 = 0;
export const TAG_BOOL: u32 = 1;
export const TAG_INT: u32 = 2;
export const TAG_STRING: u32 = 3;

/**
 * Bytes of inline operands of `op`, not counting IN_STRS/IN_INTS' count × 8 tail; -1 for an
 * unknown opcode.
 */
export function operandBytes(op: u32): i32 {
  switch (op) {
    case OP_RET:
    case OP_INT:
    case OP_ADD:
    case OP_SUB:
    case OP_MUL:
    case OP_DIV:
    case OP_MOD:
    case OP_NEG:
    case OP_EQ:
    case OP_NE:
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE:
    case OP_NOT:
    case OP_AND:
    case OP_OR:
    case OP_SELECT:
    case OP_STARTS_WITH:
    case OP_ENDS_WITH:
    case OP_CONTAINS:
    case OP_SIZE:
      return 0;
    case OP_PUSH_BOOL:
    case OP_LOAD_REQ:
      return 1;
    case OP_LOAD_ATTR:
    case OP_HAS_ATTR:
      return 2;
    case OP_JUMP_IF_FALSE:
    case OP_JUMP_IF_TRUE:
    case OP_JUMP:
    case OP_IN_STRS:
    case OP_IN_INTS:
      return 4;
    case OP_PUSH_INT:
    case OP_PUSH_STR:
      return 8;
    default:
      return -1;
  }
}
