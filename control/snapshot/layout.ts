/**
 * The writer's constants for snapshot format version 4. docs/snapshot-format.md is the
 * specification; wasm/assembly/format.ts holds the reader's copy of the same numbers, and the
 * round-trip test keeps the two equal. The GROUPS record is declared once, in
 * wasm/layout/group-record.ts, which both sides derive from.
 */

import { GROUP_FLAG_BITS, GROUP_LAYOUT, GROUP_RECORD_BYTES } from "../../wasm/layout/group-record.ts";
import { BALANCER_KINDS, type BalancerKind } from "../../wasm/reference/balancer-kinds.ts";

export const MAGIC = 0x31534c53; // "SLS1" little-endian
export const FORMAT_VERSION = 4;
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
  ROUTES: { id: 4, record: 72 },
  ROUTE_POLICIES: { id: 5, record: 8 },
  POLICIES: { id: 6, record: 16 },
  ROUTE_SLOTS: { id: 7, record: 4 },
  GROUPS: { id: 8, record: GROUP_RECORD_BYTES },
  INSTANCES: { id: 9, record: 80 },
  ATTRIBUTES: { id: 10, record: 12 },
  CODE: { id: 11, record: 1 },
  DATA: { id: 12, record: 1 },
  INTERN: { id: 13, record: 8 },
} as const;

/**
 * The sections every snapshot has. FUNCTIONS (14, wasm/functions-section.ts) is added when routes
 * target functions; STRINGS is written first, right after the directory, at
 * HEADER_BYTES + DIRECTORY_ENTRY_BYTES × the section count, so string offsets are known while compiling.
 */
export const SECTION_COUNT = Object.keys(SECTION).length;

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
  perTryTimeoutMs: 48,
  retryOn: 52,
  numRetries: 53,
  retryFlags: 54,
  retryBudgetPercent: 55,
  retryMinConcurrency: 56,
  retryBackoffBaseMs: 60,
  retryBackoffMaxMs: 64,
} as const;
/**
 * ROUTES.flags: bit 0 some slot of the route reads the body; bits 1, 2, 3 its program reads the
 * request's method, host, path (so a host that knows the route writes only those).
 */
export const ROUTE_FLAG_READS_BODY = 1;
/** ROUTES.flags bit 4: a route traffic cut forces the route to defaultGroup; it lists no policy. */
export const ROUTE_FLAG_FORCED = 16;
/** ROUTES.retryFlags bit 0: re-send non-idempotent requests too (RetryPolicy.retryNonIdempotent). */
export const RETRY_FLAG_NON_IDEMPOTENT = 1;

/**
 * GROUPS record field offsets by field name, from the one declaration of the record
 * (wasm/layout/group-record.ts, which also gives each option's type, unit and range).
 * @example GROUP.minRingSize // → 28
 */
export const GROUP: Readonly<Record<string, number>> = Object.fromEntries(
  GROUP_LAYOUT.filter((f) => f.name !== "reserved").map((f) => [f.name, f.offset]),
);
/** GROUPS.flags bits by name: `{ cellFallback: 1, ringScaleEnvoy: 2, alwaysEjectOneHost: 4 }`. */
export const GROUP_FLAG = Object.fromEntries(GROUP_FLAG_BITS.map((bit, i) => [bit.name, 1 << i])) as Record<
  (typeof GROUP_FLAG_BITS)[number]["name"],
  number
>;
/** GROUPS.hashKeySource when the group has no hash key; hashKeyAttribute is then NO_ATTRIBUTE. */
export const HASH_KEY_NONE = 255;
export const NO_ATTRIBUTE = 0xffff;

/** INSTANCES record field offsets. */
export const INSTANCE = {
  id: 0,
  host: 4,
  port: 12,
  status: 14,
  role: 15,
  weight: 16,
  zone: 20,
  lane: 28,
  version: 36,
  warmupMs: 44,
  region: 48,
  cell: 56,
  aliveSinceMs: 64,
  flags: 72,
} as const;
/** INSTANCES.flags bit 0: drained by a traffic cut. */
export const INSTANCE_FLAG_DRAINED = 1;

export const PASSWAY_CODES = { query: 0, header: 1, cookie: 2, body: 3 } as const;
/** ATTRIBUTES.source: the passways, then the client address, Cloudflare's request fields and the consumer. */
export const SOURCE_CODES = { query: 0, header: 1, cookie: 2, body: 3, client: 4, cf: 5, consumer: 6 } as const;
export const STATUS_CODES = { dead: 0, starting: 1, alive: 2, stopping: 3, stopped: 4, warning: 5 } as const;
export const MATCH_CODES = { exact: 0, prefix: 1 } as const;
/** GROUPS.balancer: the index in BALANCER_KINDS (wasm/reference/balancer-kinds.ts). @example BALANCER_CODES["ring-hash"] // → 4 */
export const BALANCER_CODES = Object.fromEntries(BALANCER_KINDS.map((kind, i) => [kind, i])) as Record<BalancerKind, number>;
export const ROLE_CODES = { primary: 0, backup: 1 } as const;
export const POLICY_FLAG_ENABLED = 1;
