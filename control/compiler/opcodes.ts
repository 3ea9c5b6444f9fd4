/**
 * Condition bytecode version 2 (snapshot format 2): opcodes, operand layouts and the data
 * objects programs refer to. docs/bytecode.md is the specification; wasm/assembly/opcodes.ts
 * holds the VM's copy of the numbers.
 */
export const OP = {
  // Route control.
  END: 0x00,
  MATCH: 0x01,
  GRAY_IDS: 0x02,
  GRAY_STRS: 0x03,
  SWITCH_IDS: 0x04,
  // Jumps and logic.
  JUMP: 0x08,
  JF: 0x09,
  JT: 0x0a,
  JFP: 0x0b,
  JTP: 0x0c,
  BR3: 0x0d,
  AND: 0x0e,
  OR: 0x0f,
  NOT: 0x10,
  // Constants.
  PUSH_TRUE: 0x11,
  PUSH_FALSE: 0x12,
  PUSH_ERROR: 0x13,
  PUSH_INT: 0x14,
  PUSH_UINT: 0x15,
  PUSH_DOUBLE: 0x16,
  PUSH_STR: 0x17,
  // Request values.
  LOAD: 0x18,
  HAS: 0x19,
  LOAD_REQ: 0x1a,
  LOAD_INT: 0x1b,
  LOAD_UINT: 0x1c,
  LOAD_DOUBLE: 0x1d,
  // Arithmetic and comparison.
  ADD: 0x20,
  SUB: 0x21,
  MUL: 0x22,
  DIV: 0x23,
  MOD: 0x24,
  NEG: 0x25,
  EQ: 0x28,
  NE: 0x29,
  LT: 0x2a,
  LE: 0x2b,
  GT: 0x2c,
  GE: 0x2d,
  // Conversions.
  TO_INT: 0x30,
  TO_UINT: 0x31,
  TO_DOUBLE: 0x32,
  TO_STRING: 0x33,
  // Functions.
  STARTS: 0x38,
  ENDS: 0x39,
  CONTAINS: 0x3a,
  SIZE: 0x3b,
  IN: 0x3c,
  MATCHES: 0x3d,
  CIDR: 0x3e,
  BUCKET: 0x3f,
  // Root-level chains (docs/bytecode.md, "Chains"): pop a value and test it as a conjunct or disjunct.
  TEST_AND: 0x05,
  TEST_OR: 0x06,
  TEST_OR_LAST: 0x07,
  // Fused tests (mode PUSH); FUSED_MODE selects what follows the test: opcode = 0x40 + base + 32 × mode.
  F_EQ_ID: 0x40,
  F_NE_ID: 0x41,
  F_IN_IDS: 0x42,
  F_EQ_STR: 0x43,
  F_NE_STR: 0x44,
  F_IN_STRS: 0x45,
  F_STARTS: 0x46,
  F_ENDS: 0x47,
  F_CONTAINS: 0x48,
  F_INT_CMP: 0x49,
  F_INT_ARITH_CMP: 0x4a,
  F_INT_IN: 0x4b,
  F_BUCKET_CMP: 0x4c,
  F_CIDR: 0x4d,
  F_MATCHES: 0x4e,
  F_HAS: 0x4f,
  F_INT_ARITH_IN: 0x50,
  F_REQ_EQ: 0x51,
  F_REQ_NE: 0x52,
  F_REQ_STARTS: 0x53,
} as const;

/**
 * What a fused test does with its result (the opcode's bits 5–7, minus 2): PUSH it; MATCH (as
 * the MATCH instruction; trailing u16 binding); AND (a conjunct: false skips the policy, to the
 * trailing u32 target; error sets the pending error); OR (a disjunct: true matches the trailing
 * u16 binding; error sets the pending error); OR_LAST (the last disjunct, u16 binding).
 */
export const FUSED_MODE = { PUSH: 0, MATCH: 1, AND: 2, OR: 3, OR_LAST: 4 } as const;
export type FusedMode = (typeof FUSED_MODE)[keyof typeof FUSED_MODE];

/** The opcode of fused test `op` (its PUSH opcode) in `mode`. */
export const fusedOpcode = (op: number, mode: FusedMode): number => op + 32 * mode;

/** Added to a fused test's opcode: the test, then MATCH with the trailing u16 binding operand. */
export const FUSED_MATCH = 0x20;

/** Arithmetic codes of F_INT_ARITH_CMP and F_INT_ARITH_IN. */
export const ARITH_CODE = { add: 0, sub: 1, mul: 2, div: 3, mod: 4 } as const;

/** Comparison codes of F_INT_CMP, F_INT_ARITH_CMP and F_BUCKET_CMP. */
export const CMP = { eq: 0, ne: 1, lt: 2, le: 3, gt: 4, ge: 5 } as const;

/** LOAD_REQ fields. */
export const REQ_FIELD = { method: 0, host: 1, path: 2 } as const;

/** Data object kinds (the first u32 of each object in DATA). */
export const DATA_KIND = { IDS: 1, STRS: 2, INTS: 3, UINTS: 4, DOUBLES: 5, BOOLS: 6, SWITCH: 7, DFA: 16, CIDR: 32 } as const;

/**
 * Route slot modes (ROUTE_SLOTS.mode bits): what the host writes for the slot — the bytes, an
 * intern id, a parsed double — and INT: int() reads it, so the host writes a short decimal
 * already parsed, and otherwise the bytes, which the VM parses (without BYTES, the bytes of a
 * value the host parsed are not written: only int() reads such a slot).
 */
export const SLOT_MODE = { BYTES: 1, INTERN: 2, DOUBLE: 4, INT: 8 } as const;

/** The VM's fixed stack, in values; the compiler and the loader refuse deeper programs. */
export const MAX_STACK_DEPTH = 64;
/** Most attribute slots one route may read (u8 slot operands). */
export const MAX_ROUTE_SLOTS = 255;
/** Bytes TO_STRING may need per execution (an int's decimal form); see docs/bytecode.md. */
export const TO_STRING_BYTES = 20;
