/**
 * Snapshot format version 4, the reader's copy of the numbers in docs/snapshot-format.md (the
 * writer's copy is control/snapshot/layout.ts; the round-trip tests hold the two together):
 * header and record field offsets in bytes, section ids, record sizes, enum values. The GROUPS
 * record's numbers are generated from wasm/layout/group-record.ts, which both sides read.
 */

export const MAGIC: u32 = 0x31534c53; // "SLS1" read little-endian
export const FORMAT_VERSION: u32 = 4;
export const HEADER_BYTES: u32 = 64;
export const DIRECTORY_ENTRY_BYTES: u32 = 12;

// Header fields.
export const H_MAGIC: usize = 0;
export const H_FORMAT_VERSION: usize = 4;
export const H_FLAGS: usize = 6;
export const H_SNAPSHOT_VERSION: usize = 8;
export const H_TOTAL_LENGTH: usize = 16;
export const H_SECTION_COUNT: usize = 20;
export const H_BUILT_AT_MS: usize = 56;

// Section ids; every id from 1 to SECTION_ID_MAX must be present exactly once.
export const S_STRINGS: u32 = 1;
export const S_HOST_TABLE: u32 = 2;
export const S_HOSTS: u32 = 3;
export const S_ROUTES: u32 = 4;
export const S_ROUTE_POLICIES: u32 = 5;
export const S_POLICIES: u32 = 6;
export const S_ROUTE_SLOTS: u32 = 7;
export const S_GROUPS: u32 = 8;
export const S_INSTANCES: u32 = 9;
export const S_ATTRIBUTES: u32 = 10;
export const S_CODE: u32 = 11;
export const S_DATA: u32 = 12;
export const S_INTERN: u32 = 13;
export const SECTION_ID_MAX: u32 = 13;

/** Record size in bytes of section `id` (1 for the byte pools STRINGS, CODE and DATA). */
export function recordBytes(id: u32): u32 {
  switch (id) {
    case S_HOST_TABLE: return 4;
    case S_HOSTS: return HOST_BYTES;
    case S_ROUTES: return ROUTE_BYTES;
    case S_ROUTE_POLICIES: return BINDING_BYTES;
    case S_POLICIES: return POLICY_BYTES;
    case S_ROUTE_SLOTS: return ROUTE_SLOT_BYTES;
    case S_GROUPS: return GROUP_BYTES;
    case S_INSTANCES: return INSTANCE_BYTES;
    case S_ATTRIBUTES: return ATTRIBUTE_BYTES;
    case S_INTERN: return STRREF_BYTES;
    default: return 1;
  }
}

/** strref: u32 offset (absolute, in the file), u32 length. */
export const STRREF_BYTES: u32 = 8;

// HOSTS record.
export const HOST_BYTES: u32 = 16;
export const HOST_NAME: usize = 0;
export const HOST_FIRST_ROUTE: usize = 8;
export const HOST_ROUTE_COUNT: usize = 12;

// ROUTES record.
export const ROUTE_BYTES: u32 = 72;
export const ROUTE_ID: usize = 0;
export const ROUTE_PATH: usize = 4;
export const ROUTE_MATCH: usize = 12; // u8
export const ROUTE_FLAGS: usize = 13; // u8
export const ROUTE_POLICY_COUNT: usize = 14; // u16
export const ROUTE_FIRST_POLICY: usize = 16;
export const ROUTE_DEFAULT_GROUP: usize = 20;
export const ROUTE_TIMEOUT_MS: usize = 24;
export const ROUTE_BODY_CAP: usize = 28;
export const ROUTE_CODE_OFFSET: usize = 32; // from the start of CODE
export const ROUTE_CODE_LENGTH: usize = 36;
export const ROUTE_FIRST_SLOT: usize = 40;
export const ROUTE_SLOT_COUNT: usize = 44; // u16
export const ROUTE_PER_TRY_TIMEOUT_MS: usize = 48;
export const ROUTE_RETRY_ON: usize = 52; // u8 bitmask
export const ROUTE_NUM_RETRIES: usize = 53; // u8
export const ROUTE_RETRY_FLAGS: usize = 54; // u8
export const ROUTE_RETRY_BUDGET_PCT: usize = 55; // u8
export const ROUTE_RETRY_MIN_CONCURRENCY: usize = 56;
export const ROUTE_BACKOFF_BASE_MS: usize = 60;
export const ROUTE_BACKOFF_MAX_MS: usize = 64;
export const MATCH_EXACT: u8 = 0;
export const MATCH_PREFIX: u8 = 1;
export const ROUTE_FLAG_READS_BODY: u8 = 1;
/** Bit 4: a route traffic cut forces the route to its defaultGroup (it lists no policy). */
export const ROUTE_FLAG_FORCED: u8 = 16;
/** Bits 1–3: the program reads the method, host, path; bit 4 forced. */
export const ROUTE_FLAGS_ALL: u8 = 31;
/** retryOn bits 0–4: connect-failure, reset, timeout, gateway-error, 5xx. */
export const RETRY_ON_ALL: u8 = 31;
export const RETRY_FLAG_NON_IDEMPOTENT: u8 = 1;
export const NUM_RETRIES_MAX: u8 = 10;
export const PER_TRY_TIMEOUT_MAX_MS: u32 = 300000;

// ROUTE_POLICIES record (a route's binding of a policy to a group).
export const BINDING_BYTES: u32 = 8;
export const BINDING_POLICY: usize = 0;
export const BINDING_GROUP: usize = 4;

// POLICIES record.
export const POLICY_BYTES: u32 = 16;
export const POLICY_ID: usize = 0;
export const POLICY_NAME: usize = 4;
export const POLICY_PASSWAY: usize = 12; // u8
export const POLICY_FLAGS: usize = 13; // u8
export const POLICY_FLAG_ENABLED: u8 = 1;
export const PASSWAY_MAX: u8 = 3; // query header cookie body

// ROUTE_SLOTS record.
export const ROUTE_SLOT_BYTES: u32 = 4;
export const ROUTE_SLOT_ATTRIBUTE: usize = 0; // u16
export const ROUTE_SLOT_MODE: usize = 2; // u8
export const SLOT_MODE_BYTES: u8 = 1;
export const SLOT_MODE_INTERN: u8 = 2;
export const SLOT_MODE_DOUBLE: u8 = 4;
export const SLOT_MODE_INT: u8 = 8; // int() reads it: the host writes the parse, or the bytes when it cannot parse
export const SLOT_MODE_ALL: u8 = 15;

// GROUPS record: offsets, flag bits, balancer codes and the range check are generated from the
// one declaration, wasm/layout/group-record.ts.
export * from "./generated/group-record";
export const HASH_KEY_NONE: u8 = 255;
export const NO_ATTRIBUTE: u32 = 0xffff;

// INSTANCES record.
export const INSTANCE_BYTES: u32 = 80;
export const INSTANCE_ID: usize = 0;
export const INSTANCE_HOST: usize = 4;
export const INSTANCE_PORT: usize = 12; // u16
export const INSTANCE_STATUS: usize = 14; // u8
export const INSTANCE_WEIGHT: usize = 16;
export const INSTANCE_ZONE: usize = 20;
export const INSTANCE_LANE: usize = 28;
export const INSTANCE_VERSION: usize = 36;
export const INSTANCE_ROLE: usize = 15; // u8
export const INSTANCE_WARMUP_MS: usize = 44;
export const INSTANCE_REGION: usize = 48;
export const INSTANCE_CELL: usize = 56;
export const INSTANCE_ALIVE_SINCE_MS: usize = 64; // u64 Unix ms
export const INSTANCE_FLAGS: usize = 72; // u8
export const INSTANCE_FLAG_DRAINED: u8 = 1;
export const ROLE_MAX: u8 = 1; // primary backup
export const WARMUP_MAX_MS: u32 = 3600000;
export const STATUS_ALIVE: u8 = 2;
export const STATUS_MAX: u8 = 5; // OCTO: dead starting alive stopping stopped warning
export const WEIGHT_MAX: u32 = 10000;

// ATTRIBUTES record.
export const ATTRIBUTE_BYTES: u32 = 12;
export const ATTRIBUTE_SOURCE: usize = 0; // u8
export const ATTRIBUTE_NAME: usize = 4;
export const SOURCE_MAX: u8 = 6; // query header cookie body client cf consumer
export const SOURCE_BODY: u8 = 3;
export const SOURCE_CLIENT: u8 = 4;
