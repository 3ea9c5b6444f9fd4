/**
 * W3C Trace Context level 1 (https://www.w3.org/TR/trace-context/): the `traceparent` and
 * `tracestate` request headers, parsed, validated and formatted, and fresh ids. Pure apart from
 * the random ids (crypto.getRandomValues, on every Worker runtime). Nothing here throws.
 */

/** A parsed `traceparent` (§3.2). Ids are lowercase hex, as on the wire. */
export interface TraceParent {
  /** The header's version (§3.2.2.1): 0 for `00`; a higher one only when a future version was received. */
  version: number;
  /** 16 bytes as 32 lowercase hex digits, never all zero (§3.2.2.3). */
  traceId: string;
  /** The caller's span: 8 bytes as 16 lowercase hex digits, never all zero (§3.2.2.4). */
  parentId: string;
  /** trace-flags (§3.2.2.5), 0…255; bit 0 (SAMPLED_FLAG) is the caller's sampling decision. */
  flags: number;
}

/** trace-flags bit 0 (§3.2.2.5.1): the caller may have recorded the trace. */
export const SAMPLED_FLAG = 0x01;

/** Length of a version-00 `traceparent`: 2 + 1 + 32 + 1 + 16 + 1 + 2. */
const TRACEPARENT_00_LENGTH = 55;
/** §3.3.1.1: at most 32 list-members … */
export const TRACESTATE_MAX_MEMBERS = 32;
/** … and, as this gateway propagates it, at most 512 characters (§3.3.1.5 lets a vendor truncate; we drop instead). */
export const TRACESTATE_MAX_CHARS = 512;

const ZERO_TRACE_ID = "0".repeat(32);
const ZERO_SPAN_ID = "0".repeat(16);

/** Whether `s[from, from + length)` is lowercase hex (HEXDIGLC, §3.2.2). */
function isLowerHex(s: string, from: number, length: number): boolean {
  for (let i = from; i < from + length; i += 1) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/**
 * Parses a `traceparent` header value (§3.2, §4.3 for versions above 00).
 * - version 00: exactly `00-<32 hex>-<16 hex>-<2 hex>`, lowercase;
 * - version `ff` is invalid (§3.2.2.1);
 * - a higher version is read for its first four fields when the value is at least 55 characters
 *   and, if longer, the 56th is `-` (§4.3: later fields are ignored);
 * - an all-zero trace-id or parent-id is invalid (§3.2.2.3, §3.2.2.4).
 * @param value the header value (Headers.get: surrounding whitespace already trimmed), or null.
 * @returns the parsed fields, or null when absent or invalid: the receiver then starts a new
 *   trace and ignores `tracestate` (§3.3.2 / §4.2).
 */
export function parseTraceparent(value: string | null): TraceParent | null {
  if (value === null || value.length < TRACEPARENT_00_LENGTH) return null;
  if (!isLowerHex(value, 0, 2) || value[2] !== "-" || value[35] !== "-" || value[52] !== "-") return null;
  const version = Number.parseInt(value.slice(0, 2), 16);
  if (version === 0xff) return null;
  if (version === 0 ? value.length !== TRACEPARENT_00_LENGTH : value.length > TRACEPARENT_00_LENGTH && value[55] !== "-") return null;
  if (!isLowerHex(value, 3, 32) || !isLowerHex(value, 36, 16) || !isLowerHex(value, 53, 2)) return null;
  const traceId = value.slice(3, 35);
  const parentId = value.slice(36, 52);
  if (traceId === ZERO_TRACE_ID || parentId === ZERO_SPAN_ID) return null;
  return { version, traceId, parentId, flags: Number.parseInt(value.slice(53, 55), 16) };
}

/**
 * Formats a version-00 `traceparent` (§3.2): `00-<traceId>-<parentId>-<flags as 2 hex>`. A
 * context parsed from a higher version is sent on as version 00, the only one this gateway
 * knows (§4.3). The caller passes valid ids (parseTraceparent's, or randomTraceId/randomSpanId).
 */
export function formatTraceparent(traceId: string, parentId: string, flags: number): string {
  return `00-${traceId}-${parentId}-${(flags & 0xff).toString(16).padStart(2, "0")}`;
}

/** Whether trace-flags carry SAMPLED_FLAG (§3.2.2.5.1). */
export function isSampled(flags: number): boolean {
  return (flags & SAMPLED_FLAG) !== 0;
}

// §3.3.1.3: key = simple-key / multi-tenant-key; value = 0*255(chr) nblk-chr.
const SIMPLE_KEY = "[a-z][a-z0-9_\\-*/]{0,255}";
const MULTI_TENANT_KEY = "[a-z0-9][a-z0-9_\\-*/]{0,240}@[a-z][a-z0-9_\\-*/]{0,13}";
const VALUE = "[\\x20-\\x2b\\x2d-\\x3c\\x3e-\\x7e]{0,255}[\\x21-\\x2b\\x2d-\\x3c\\x3e-\\x7e]";
const LIST_MEMBER = new RegExp(`^(?:${SIMPLE_KEY}|${MULTI_TENANT_KEY})=${VALUE}$`);

/**
 * The `tracestate` to carry on with the request (§3.3), or null to drop it. It is kept as
 * received (the gateway adds no entry of its own) when every list-member is well formed
 * (§3.3.1.3; empty members and optional whitespace around commas are allowed, §3.3.1.1), it has
 * at most TRACESTATE_MAX_MEMBERS members and TRACESTATE_MAX_CHARS characters; otherwise it is
 * dropped whole, as §3.3.1.1 and §3.3.1.5 allow. Several `tracestate` fields are one value joined
 * by commas, as Headers.get returns them.
 */
export function acceptTracestate(value: string | null): string | null {
  if (value === null || value.length > TRACESTATE_MAX_CHARS) return null;
  let members = 0;
  for (const raw of value.split(",")) {
    const member = raw.trim();
    if (member === "") continue;
    members += 1;
    if (members > TRACESTATE_MAX_MEMBERS || !LIST_MEMBER.test(member)) return null;
  }
  return members === 0 ? null : value;
}

/** `bytes` random bytes as lowercase hex (crypto.getRandomValues). */
function randomHex(bytes: number): string {
  const buffer = crypto.getRandomValues(new Uint8Array(bytes));
  let hex = "";
  for (const b of buffer) hex += (b < 16 ? "0" : "") + b.toString(16);
  return hex;
}

/**
 * A new trace-id: 16 random bytes, 32 lowercase hex digits, never all zero (§3.2.2.3). All of it
 * is random, so its rightmost 7 bytes can serve the OTel TraceIdRatioBased sampler (W3C Trace
 * Context level 2 §3.2.2.5.2 "random" trace-ids).
 */
export function randomTraceId(): string {
  for (;;) {
    const id = randomHex(16);
    if (id !== ZERO_TRACE_ID) return id;
  }
}

/** A new span id (parent-id on the wire): 8 random bytes, 16 lowercase hex digits, never all zero (§3.2.2.4). */
export function randomSpanId(): string {
  for (;;) {
    const id = randomHex(8);
    if (id !== ZERO_SPAN_ID) return id;
  }
}
