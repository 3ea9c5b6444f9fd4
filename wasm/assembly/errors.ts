/**
 * Why `commitLoad()` refused a snapshot: one code per reason. wasm/host.ts holds the same numbers
 * with messages (LOAD_ERROR); keep the two lists in the same order.
 */

export const LOAD_OK: i32 = 0;
/** commitLoad() without a prepareLoad() since the last commit. */
export const E_NOTHING_STAGED: i32 = 1;
/** Shorter than the header, or than the header's totalLength. */
export const E_TRUNCATED: i32 = 2;
export const E_BAD_MAGIC: i32 = 3;
export const E_BAD_FORMAT_VERSION: i32 = 4;
/** Unknown header flag bits. */
export const E_BAD_FLAGS: i32 = 5;
/** snapshotVersion ≤ the active snapshot's. */
export const E_STALE_VERSION: i32 = 6;
/** The section directory does not fit before totalLength. */
export const E_BAD_DIRECTORY: i32 = 7;
export const E_DUPLICATE_SECTION: i32 = 8;
export const E_MISSING_SECTION: i32 = 9;
/** A section lies outside [end of directory, totalLength). */
export const E_SECTION_OUT_OF_BOUNDS: i32 = 10;
/** A record section's length is not a multiple of its record size. */
export const E_BAD_RECORD_SIZE: i32 = 11;
/** A strref outside STRINGS. */
export const E_BAD_STRING: i32 = 12;
/** HOST_TABLE: not a power of two ≥ max(8, 2 × hosts), bad slot, or a host not findable. */
export const E_BAD_HOST_TABLE: i32 = 13;
/** An index or a slice (first, count) outside its section. */
export const E_BAD_INDEX: i32 = 14;
/** A route's program range outside CODE. */
export const E_BAD_CODE_RANGE: i32 = 15;
/** A route program failed verification (code-check.ts): opcode, operand, data object, jump, stack depth. */
export const E_BAD_CODE: i32 = 16;
/** An enumerated field out of range: match, passway, status, balancer, policy flags, weight. */
export const E_BAD_VALUE: i32 = 17;
/** A host's routes are not exact routes first, then prefix routes. */
export const E_BAD_ROUTE_ORDER: i32 = 18;
/** A route reads more attributes than the frame has slots (255). */
export const E_TOO_MANY_ATTRIBUTES: i32 = 19;
/** The balancers refused the groups or instances (lb/generation.ts: config, sizes, strings). */
export const E_BALANCING: i32 = 20;
