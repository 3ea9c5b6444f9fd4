/**
 * Why a snapshot load was refused: wasm/assembly/errors.ts' numbers (TRAPPED is JS-only), with
 * a sentence each for logs and the control plane's status page.
 */
export const LoadError = {
  NOTHING_STAGED: 1,
  TRUNCATED: 2,
  BAD_MAGIC: 3,
  BAD_FORMAT_VERSION: 4,
  BAD_FLAGS: 5,
  STALE_VERSION: 6,
  BAD_DIRECTORY: 7,
  DUPLICATE_SECTION: 8,
  MISSING_SECTION: 9,
  SECTION_OUT_OF_BOUNDS: 10,
  BAD_RECORD_SIZE: 11,
  BAD_STRING: 12,
  BAD_HOST_TABLE: 13,
  BAD_INDEX: 14,
  BAD_CODE_RANGE: 15,
  BAD_CODE: 16,
  BAD_VALUE: 17,
  BAD_ROUTE_ORDER: 18,
  TOO_MANY_ATTRIBUTES: 19,
  BALANCING: 20,
  TRAPPED: 100,
} as const;
export type LoadErrorCode = (typeof LoadError)[keyof typeof LoadError];

export const LOAD_ERROR_MESSAGES: Readonly<Record<LoadErrorCode, string>> = {
  1: "commitLoad() was called without prepareLoad()",
  2: "the file is shorter than its header or than the header's totalLength",
  3: "bad magic: not a Sluice snapshot",
  4: "unsupported formatVersion",
  5: "unknown header flag bits",
  6: "snapshotVersion is not newer than the active snapshot's",
  7: "the section directory does not fit before totalLength",
  8: "a section id appears twice in the directory",
  9: "a required section is missing",
  10: "a section lies outside the file body",
  11: "a record section's length is not a multiple of its record size",
  12: "a string reference lies outside STRINGS",
  13: "HOST_TABLE is malformed (size, slots, or a host not reachable by probing)",
  14: "an index or slice lies outside its section",
  15: "a route's program range lies outside CODE",
  16: "a route program failed verification (opcode, operand, data object, jump target or stack depth)",
  17: "an enumerated field is out of range (match, passway, source, status, balancer, flags, weight, slot mode)",
  18: "a host's routes are not ordered exact first, then prefix",
  19: "a route reads more attributes than the frame has slots",
  20: "the balancers refused the groups or instances (balancer config, group size or strings)",
  100: "the WASM module trapped while loading (out of memory?)",
};
