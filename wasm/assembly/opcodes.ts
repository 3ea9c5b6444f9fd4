/**
 * Condition bytecode version 2 opcodes (docs/bytecode.md; the compiler's copy is
 * control/compiler/opcodes.ts), data object kinds and the VM's value tags.
 */

// Route control.
export const OP_END: u8 = 0x00;
export const OP_MATCH: u8 = 0x01;
export const OP_GRAY_IDS: u8 = 0x02;
export const OP_GRAY_STRS: u8 = 0x03;
export const OP_SWITCH_IDS: u8 = 0x04;
// Jumps and logic.
export const OP_JUMP: u8 = 0x08;
export const OP_JF: u8 = 0x09;
export const OP_JT: u8 = 0x0a;
export const OP_JFP: u8 = 0x0b;
export const OP_JTP: u8 = 0x0c;
export const OP_BR3: u8 = 0x0d;
export const OP_AND: u8 = 0x0e;
export const OP_OR: u8 = 0x0f;
export const OP_NOT: u8 = 0x10;
// Constants.
export const OP_PUSH_TRUE: u8 = 0x11;
export const OP_PUSH_FALSE: u8 = 0x12;
export const OP_PUSH_ERROR: u8 = 0x13;
export const OP_PUSH_INT: u8 = 0x14;
export const OP_PUSH_UINT: u8 = 0x15;
export const OP_PUSH_DOUBLE: u8 = 0x16;
export const OP_PUSH_STR: u8 = 0x17;
// Request values.
export const OP_LOAD: u8 = 0x18;
export const OP_HAS: u8 = 0x19;
export const OP_LOAD_REQ: u8 = 0x1a;
export const OP_LOAD_INT: u8 = 0x1b;
export const OP_LOAD_UINT: u8 = 0x1c;
export const OP_LOAD_DOUBLE: u8 = 0x1d;
// Arithmetic and comparison.
export const OP_ADD: u8 = 0x20;
export const OP_SUB: u8 = 0x21;
export const OP_MUL: u8 = 0x22;
export const OP_DIV: u8 = 0x23;
export const OP_MOD: u8 = 0x24;
export const OP_NEG: u8 = 0x25;
export const OP_EQ: u8 = 0x28;
export const OP_NE: u8 = 0x29;
export const OP_LT: u8 = 0x2a;
export const OP_LE: u8 = 0x2b;
export const OP_GT: u8 = 0x2c;
export const OP_GE: u8 = 0x2d;
// Conversions.
export const OP_TO_INT: u8 = 0x30;
export const OP_TO_UINT: u8 = 0x31;
export const OP_TO_DOUBLE: u8 = 0x32;
export const OP_TO_STRING: u8 = 0x33;
// Functions.
export const OP_STARTS: u8 = 0x38;
export const OP_ENDS: u8 = 0x39;
export const OP_CONTAINS: u8 = 0x3a;
export const OP_SIZE: u8 = 0x3b;
export const OP_IN: u8 = 0x3c;
export const OP_MATCHES: u8 = 0x3d;
export const OP_CIDR: u8 = 0x3e;
export const OP_BUCKET: u8 = 0x3f;
// Root-level chains: pop a value and test it as a conjunct / disjunct (MATCH is the last conjunct).
export const OP_TEST_AND: u8 = 0x05;
export const OP_TEST_OR: u8 = 0x06;
export const OP_TEST_OR_LAST: u8 = 0x07;
// Fused tests: opcode = 0x40 + base + 32 × mode. Bases:
export const FUSED_FIRST: u32 = 0x40;
export const B_EQ_ID: u32 = 0;
export const B_NE_ID: u32 = 1;
export const B_IN_IDS: u32 = 2;
export const B_EQ_STR: u32 = 3;
export const B_NE_STR: u32 = 4;
export const B_IN_STRS: u32 = 5;
export const B_STARTS: u32 = 6;
export const B_ENDS: u32 = 7;
export const B_CONTAINS: u32 = 8;
export const B_INT_CMP: u32 = 9;
export const B_INT_ARITH_CMP: u32 = 10;
export const B_INT_IN: u32 = 11;
export const B_BUCKET_CMP: u32 = 12;
export const B_CIDR: u32 = 13;
export const B_MATCHES: u32 = 14;
export const B_HAS: u32 = 15;
export const B_INT_ARITH_IN: u32 = 16;
export const B_REQ_EQ: u32 = 17;
export const B_REQ_NE: u32 = 18;
export const B_REQ_STARTS: u32 = 19;
export const B_LAST: u32 = 19;
// Modes: what follows the test.
export const MODE_PUSH: u32 = 0;
export const MODE_MATCH: u32 = 1; // u16 binding
export const MODE_AND: u32 = 2; // u32 skip target
export const MODE_OR: u32 = 3; // u16 binding
export const MODE_OR_LAST: u32 = 4; // u16 binding
export const MODE_LAST: u32 = 4;

/** Arithmetic codes of F_INT_ARITH_CMP / F_INT_ARITH_IN. */
export const ARITH_ADD: u32 = 0;
export const ARITH_MOD: u32 = 4;

/** F_*_CMP comparison codes. */
export const CMP_EQ: u8 = 0;
export const CMP_NE: u8 = 1;
export const CMP_LT: u8 = 2;
export const CMP_LE: u8 = 3;
export const CMP_GT: u8 = 4;
export const CMP_GE: u8 = 5;

/** LOAD_REQ operands. */
export const REQ_METHOD: u8 = 0;
export const REQ_HOST: u8 = 1;
export const REQ_PATH: u8 = 2;

/** Data object kinds. */
export const KIND_IDS: u32 = 1;
export const KIND_STRS: u32 = 2;
export const KIND_INTS: u32 = 3;
export const KIND_UINTS: u32 = 4;
export const KIND_DOUBLES: u32 = 5;
export const KIND_BOOLS: u32 = 6;
export const KIND_SWITCH: u32 = 7;
export const KIND_DFA: u32 = 16;
export const KIND_CIDR: u32 = 32;

/** Value tags. */
export const TAG_ERROR: u32 = 0;
export const TAG_BOOL: u32 = 1;
export const TAG_INT: u32 = 2;
export const TAG_UINT: u32 = 3;
export const TAG_DOUBLE: u32 = 4;
export const TAG_STRING: u32 = 5;

/** Tri-state results of fused tests. */
export const R_FALSE: i32 = 0;
export const R_TRUE: i32 = 1;
export const R_ERROR: i32 = 2;
