/**
 * Where ring hash and maglev take the request's hash key from: a header, a cookie, a query
 * parameter (Oceanus' passways, read through the same request attributes policies use) or the
 * client IP — sticky sessions, Oceanus' "session-id reuse". The key is hashed with xxHash64
 * (seed 0) over its UTF-8 bytes, as Envoy's hash policies do for one header or cookie. An absent
 * or empty key gives no hash, and the balancer picks at random (Envoy: no hash → random).
 */
import { xxHash64Text } from "./xxhash64.ts";

export type HashKeySource = { from: "header" | "cookie" | "query"; name: string } | { from: "client-ip" };

/** The request as the gateway presents it: attribute lookup as in wasm/host.ts, plus the peer. */
export interface HashKeyRequest {
  /** Value of a query parameter, header (name lowercase) or cookie; undefined when absent. */
  attribute(passway: "query" | "header" | "cookie", name: string): string | undefined;
  /** Client IP as text (`203.0.113.7`, `2001:db8::1`): from the connection, or a trusted proxy header. */
  clientIp: string;
}

/** The hash key's text, or null when absent or empty. */
export function hashKeyValue(source: HashKeySource, request: HashKeyRequest): string | null {
  const value =
    source.from === "client-ip"
      ? request.clientIp
      : request.attribute(source.from, source.from === "header" ? source.name.toLowerCase() : source.name);
  return value === undefined || value === "" ? null : value;
}

/** xxHash64 of the hash key, or null when the request has none. */
export function requestHash(source: HashKeySource, request: HashKeyRequest): bigint | null {
  const value = hashKeyValue(source, request);
  return value === null ? null : xxHash64Text(value);
}
