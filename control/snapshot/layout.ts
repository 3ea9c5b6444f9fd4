/**
 * The writer's constants for snapshot format version 2. docs/snapshot-format.md is the
 * specification; wasm/assembly/format.ts holds the reader's copy of the same numbers, and the
 * round-trip test keeps the two equal.
 */
export const MAGIC = 0x31534c53; // "SLS1" little-endian
export const FORMAT_VERSION = 2;
export const HEADER_BYTES = 64;
export const DIRECTORY_ENTRY_BYTES = 12;
export const TRAILER_BYTES = 68;
export const SIGNATURE_ED25519 = 1;
export const SIGNATURE_BYTES = 64;
export const NONE = 0xffffffff;

/** Header field offsets (bytes from the start of the file). */
export const HEADER = {
  magic: 0,
  formatVersion: 4,
  flags: 6,
  snapshotVersion: 8,
  totalLength: 16,
  sectionCount: 20,
  contentHash: 24,
  builtAtMs: 56,
} as const;

/** Section ids and, for record sections, the record size in bytes (1 for byte pools). */
export const SECTION = {
  STRINGS: { id: 1, record: 1 },
  HOST_TABLE: { id: 2, record: 4 },
  HOSTS: { id: 3, record: 16 },
  ROUTES: { id: 4, record: 48 },
  ROUTE_POLICIES: { id: 5, record: 8 },
  POLICIES: { id: 6, record: 16 },
  ROUTE_SLOTS: { id: 7, record: 4 },
  GROUPS: { id: 8, record: 24 },
  INSTANCES: { id: 9, record: 48 },
  ATTRIBUTES: { id: 10, record: 12 },
  CODE: { id: 11, record: 1 },
  DATA: { id: 12, record: 1 },
  INTERN: { id: 13, record: 8 },
} as const;

export const SECTION_COUNT = Object.keys(SECTION).length;

/** STRINGS is written first, right after the directory, so string offsets are known while compiling. */
export const STRINGS_OFFSET = HEADER_BYTES + DIRECTORY_ENTRY_BYTES * SECTION_COUNT;

/** ROUTES record field offsets. */
export const ROUTE = {
  id: 0,
  path: 4,
  match: 12,
  flags: 13,
  policyCount: 14,
  firstPolicy: 16,
  defaultGroup: 20,
  timeoutMs: 24,
  bodyCapBytes: 28,
  codeOffset: 32,
  codeLength: 36,
  firstSlot: 40,
  slotCount: 44,
} as const;
/**
 * ROUTES.flags: bit 0 some slot of the route reads the body; bits 1, 2, 3 its program reads the
 * request's method, host, path (so a host that knows the route writes only those).
 */
export const ROUTE_FLAG_READS_BODY = 1;

export const PASSWAY_CODES = { query: 0, header: 1, cookie: 2, body: 3 } as const;
/** ATTRIBUTES.source: the passways, then the client address and Cloudflare's request fields. */
export const SOURCE_CODES = { query: 0, header: 1, cookie: 2, body: 3, client: 4, cf: 5 } as const;
export const STATUS_CODES = { dead: 0, starting: 1, alive: 2, stopping: 3, stopped: 4, warning: 5 } as const;
export const MATCH_CODES = { exact: 0, prefix: 1 } as const;
export const BALANCER_CODES = { swrr: 0 } as const;
export const POLICY_FLAG_ENABLED = 1;
