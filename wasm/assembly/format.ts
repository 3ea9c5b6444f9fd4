/**
 * Snapshot format version 2, the reader's copy of the numbers in docs/snapshot-format.md (the
 * writer's copy is control/snapshot/layout.ts; the round-trip tests hold the two together):
 * header and record field offsets in bytes, section ids, record sizes, enum values.
 */

export const MAGIC: u32 = 0x31534c53; // "SLS1" read little-endian
export const FORMAT_VERSION: u32 = 2;
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
export const ROUTE_BYTES: u32 = 48;
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
export const MATCH_EXACT: u8 = 0;
export const MATCH_PREFIX: u8 = 1;
export const ROUTE_FLAG_READS_BODY: u8 = 1;
/** Bits 1–3: the program reads the method, host, path. */
export const ROUTE_FLAGS_ALL: u8 = 15;

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
export const SLOT_MODE_INT: u8 = 8; // a hint: the host may write the int() parse
export const SLOT_MODE_ALL: u8 = 15;

// GROUPS record.
export const GROUP_BYTES: u32 = 24;
export const GROUP_ID: usize = 0;
export const GROUP_NAME: usize = 4;
export const GROUP_BALANCER: usize = 12; // u8
export const GROUP_FIRST_INSTANCE: usize = 16;
export const GROUP_INSTANCE_COUNT: usize = 20;
export const BALANCER_SWRR: u8 = 0;

// INSTANCES record.
export const INSTANCE_BYTES: u32 = 48;
export const INSTANCE_ID: usize = 0;
export const INSTANCE_HOST: usize = 4;
export const INSTANCE_PORT: usize = 12; // u16
export const INSTANCE_STATUS: usize = 14; // u8
export const INSTANCE_WEIGHT: usize = 16;
export const INSTANCE_ZONE: usize = 20;
export const INSTANCE_LANE: usize = 28;
export const INSTANCE_VERSION: usize = 36;
export const STATUS_ALIVE: u8 = 2;
export const STATUS_MAX: u8 = 5; // OCTO: dead starting alive stopping stopped warning
export const WEIGHT_MAX: u32 = 10000;

// ATTRIBUTES record.
export const ATTRIBUTE_BYTES: u32 = 12;
export const ATTRIBUTE_SOURCE: usize = 0; // u8
export const ATTRIBUTE_NAME: usize = 4;
export const SOURCE_MAX: u8 = 5; // query header cookie body client cf

/**
 * Whether the strref (off, len) is valid: a non-empty string lies inside the STRINGS section
 * [poolStart, poolEnd); an empty one only needs its offset within the file (≤ totalLength).
 * All values are file offsets in bytes.
 */
@inline export function strrefInBounds(off: u32, len: u32, poolStart: u32, poolEnd: u32, totalLength: u32): bool {
  return len == 0 ? off <= totalLength : off >= poolStart && off <= poolEnd && len <= poolEnd - off;
}
