/**
 * zod validators for the fields the API shares across resources: names, hosts, paths, ports.
 * Pure: the rules, their error messages and their OpenAPI patterns live here, I/O elsewhere.
 */
import { isIP } from "node:net";
import { z } from "@hono/zod-openapi";
import { routePathProblem } from "../../wasm/path-text.ts";

/** OCTO appkey: lowercase, 2–64 chars, e.g. `com.example.orders`. */
export const APPKEY_PATTERN = /^[a-z][a-z0-9._-]{1,63}$/;
/** Group and policy names: 1–64 chars, e.g. `canary-v2`. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Largest route path, in characters. */
export const MAX_PATH_LENGTH = 1024;
/** Largest CEL condition, in UTF-8 bytes (16 KiB). */
export const MAX_CONDITION_BYTES = 16 * 1024;
/** Most graylist entries per policy. */
export const MAX_GRAYLIST_ENTRIES = 10_000;
/** Longest graylist entry, in characters. */
export const MAX_GRAYLIST_ENTRY_LENGTH = 256;

export const appkeyField = z
  .string()
  .regex(APPKEY_PATTERN, `must match ${APPKEY_PATTERN.source}`)
  .openapi({ example: "com.example.orders" });

export const nameField = z.string().regex(NAME_PATTERN, `must match ${NAME_PATTERN.source}`).openapi({ example: "canary" });

/** A DNS label: 1–63 of [a-z0-9-], not starting or ending with `-`. */
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** True for a lowercase DNS name (≤ 253 chars, no trailing dot, last label not all digits). */
export function isDnsName(value: string): boolean {
  if (value.length === 0 || value.length > 253) return false;
  const labels = value.split(".");
  if (!labels.every((label) => DNS_LABEL.test(label))) return false;
  // `1.2.3` or `10.0.0.256` are mistyped addresses, not names.
  return !/^[0-9]+$/.test(labels[labels.length - 1]);
}

/** True for an IPv4 or IPv6 literal without zone id or brackets (`10.0.0.1`, `fd00::1`). */
export function isIpLiteral(value: string): boolean {
  return !value.includes("%") && isIP(value) !== 0;
}

/**
 * True for a route host: `*` (any host), a lowercase DNS name, one with a single leading `*.`
 * label (`*.example.com`), or an IP literal (IPv6 lowercase, unbracketed).
 */
export function isRouteHost(value: string): boolean {
  if (value === "*") return true;
  if (isIpLiteral(value)) return value === value.toLowerCase();
  return isDnsName(value.startsWith("*.") ? value.slice(2) : value);
}

export const routeHostField = z
  .string()
  .refine(isRouteHost, "must be *, a lowercase DNS name optionally starting with *., or an IP literal")
  .openapi({ example: "api.example.com" });

/** Instance host: an IP literal or a DNS name (any case), what the gateway connects to. */
export const instanceHostField = z
  .string()
  .refine((value) => isIpLiteral(value) || isDnsName(value.toLowerCase()), "must be an IP literal or a DNS name")
  .openapi({ example: "10.0.0.7" });

/**
 * Location path: starts with `/`, ≤ 1024 chars, no whitespace or control characters, no `?` or
 * `#` (a request path never contains them, so such a route could never match), and written in
 * the normal form requests are routed in (wasm/path-text.ts: no dot segments, no %-encoded
 * unreserved characters, no encoded slash), so that it can match at all.
 */
export const pathField = z
  .string()
  .max(MAX_PATH_LENGTH)
  .regex(/^\//, "must start with /")
  .refine((value) => !/[\s\p{Cc}?#]/u.test(value), "must not contain whitespace, control characters, ? or #")
  .superRefine((value, ctx) => {
    if (!value.startsWith("/") || /[\s\p{Cc}?#]/u.test(value)) return; // reported above
    const problem = routePathProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .openapi({ example: "/api/orders" });

export const portField = z.number().int().min(1).max(65535).openapi({ example: 8080 });

export const weightField = z.number().int().min(0).max(10000).openapi({ example: 10 });

/** Total upstream timeout in ms, 1–300000. */
export const timeoutMsField = z.number().int().min(1).max(300_000).openapi({ example: 15000 });

/** Largest body cap a route may set: 1 MiB (the gateway's WASM frame holds the values read). */
export const MAX_BODY_CAP_BYTES = 1_048_576;
/** Most request-body bytes the gateway reads for `body` attributes, 0–1 MiB (default 64 KiB). */
export const bodyCapBytesField = z
  .number()
  .int()
  .min(0)
  .max(MAX_BODY_CAP_BYTES)
  .openapi({ example: 65536, description: "Most request-body bytes read for body attributes; a longer body leaves them absent" });

/** Short printable-ASCII label (zone, lane, version): 0–64 chars, no spaces. */
export const labelField = z.string().regex(/^[\x21-\x7e]{0,64}$/, "must be at most 64 printable ASCII characters without spaces");

/** Largest database id (PostgreSQL `integer`). */
export const MAX_DB_ID = 2_147_483_647;

/** Database ids in JSON bodies: a positive integer up to MAX_DB_ID. */
export const idField = z.number().int().min(1).max(MAX_DB_ID);

/** Database ids in paths: a positive decimal integer. */
export const idParam = z
  .string()
  .regex(/^[1-9][0-9]{0,9}$/, "must be a positive integer")
  .transform(Number)
  .refine((id) => id <= MAX_DB_ID, "out of range");

/** ISO 8601 timestamp as the API returns it. */
export const timestampField = z.string().openapi({ format: "date-time" });

/** Longest blocking query, ms (Consul caps `wait` at 10 min; Sluice at 5). */
export const MAX_WAIT_MS = 300_000;

/**
 * Parses a Consul-style duration: a decimal number with a unit `ms`, `s` or `m`
 * (`"500ms"`, `"30s"`, `"1.5m"`), or a bare number of seconds (`"30"`).
 * @returns milliseconds, rounded; null when `text` is not such a duration.
 */
export function parseDurationMs(text: string): number | null {
  const match = /^([0-9]{1,9}(?:\.[0-9]{1,3})?)(ms|s|m)?$/.exec(text);
  if (!match) return null;
  const scale = match[2] === "ms" ? 1 : match[2] === "m" ? 60_000 : 1000;
  return Math.round(Number(match[1]) * scale);
}

/** `wait` of a blocking query: a duration (parseDurationMs) up to MAX_WAIT_MS, as ms. */
export const waitField = z
  .string()
  .transform((text, ctx) => {
    const ms = parseDurationMs(text);
    if (ms === null || ms > MAX_WAIT_MS) {
      ctx.addIssue({ code: "custom", message: `must be a duration like 30s, 500ms or 5m, at most ${MAX_WAIT_MS / 1000}s` });
      return z.NEVER;
    }
    return ms;
  })
  .openapi({ type: "string", example: "30s" });

/** `index` of a blocking query: a non-negative integer (a version or revision id). */
export const indexField = z
  .string()
  .regex(/^[0-9]{1,15}$/, "must be a non-negative integer")
  .transform(Number)
  .openapi({ type: "integer", example: 42 });
