/**
 * Where the hash key comes from (header, cookie, query parameter, client IP), and sticky
 * sessions end to end: the same session key reaches the same instance whatever else the request
 * carries. Attributes are what the gateway extracted (as for policies): header names lowercase.
 */

export type CaseHashKeySource = { from: "header" | "cookie" | "query"; name: string } | { from: "client-ip" };

export interface CaseRequest {
  headers?: Record<string, string>;
  cookies?: Record<string, string>;
  query?: Record<string, string>;
  clientIp?: string;
}

export interface HashKeyAdapter {
  /** The key text, or null when absent or empty. */
  keyOf(source: CaseHashKeySource, request: CaseRequest): string | null;
  /** Instance picked by a `kind` balancer over 10 instances keyed from `source`. */
  stickyPicker(kind: "ring-hash" | "maglev", source: CaseHashKeySource): (request: CaseRequest) => number | null;
}

export const HASH_KEY_CASES: { name: string; source: CaseHashKeySource; request: CaseRequest; want: string | null }[] = [
  {
    name: "header (name matched lowercase)",
    source: { from: "header", name: "X-Session-Id" },
    request: { headers: { "x-session-id": "s-1" } },
    want: "s-1",
  },
  { name: "cookie", source: { from: "cookie", name: "sid" }, request: { cookies: { sid: "abc", other: "x" } }, want: "abc" },
  { name: "query parameter", source: { from: "query", name: "uid" }, request: { query: { uid: "42" } }, want: "42" },
  { name: "client IP", source: { from: "client-ip" }, request: { clientIp: "203.0.113.7" }, want: "203.0.113.7" },
  { name: "absent header: no key (random pick)", source: { from: "header", name: "x-session-id" }, request: { headers: {} }, want: null },
  { name: "empty cookie: no key", source: { from: "cookie", name: "sid" }, request: { cookies: { sid: "" } }, want: null },
  {
    name: "a header does not stand in for a cookie",
    source: { from: "cookie", name: "sid" },
    request: { headers: { sid: "abc" } },
    want: null,
  },
];

export interface StickyCase {
  name: string;
  kind: "ring-hash" | "maglev";
  source: CaseHashKeySource;
  /** Requests that must all land on one instance. */
  same: CaseRequest[];
}

export const STICKY_CASES: StickyCase[] = (["ring-hash", "maglev"] as const).flatMap((kind) => [
  {
    name: `${kind}: one session cookie, different paths, IPs and other cookies → one instance`,
    kind,
    source: { from: "cookie" as const, name: "sid" },
    same: [
      { cookies: { sid: "user-7" }, clientIp: "198.51.100.1" },
      { cookies: { sid: "user-7", theme: "dark" }, clientIp: "198.51.100.2" },
      { cookies: { sid: "user-7" }, headers: { "x-session-id": "other" }, query: { uid: "9" } },
    ] as CaseRequest[],
  },
  {
    name: `${kind}: one client IP → one instance`,
    kind,
    source: { from: "client-ip" as const },
    same: [
      { clientIp: "2001:db8::1" },
      { clientIp: "2001:db8::1", cookies: { sid: "a" } },
      { clientIp: "2001:db8::1", headers: { "x-a": "b" } },
    ] as CaseRequest[],
  },
]);

/** Distinct instances the case's requests reached (want 1), after 3 rounds. */
export function runSticky(adapter: HashKeyAdapter, c: StickyCase): number {
  const pick = adapter.stickyPicker(c.kind, c.source);
  const seen = new Set<number | null>();
  for (let round = 0; round < 3; round++) for (const r of c.same) seen.add(pick(r));
  return seen.has(null) ? -1 : seen.size;
}

/** Share of 1,000 distinct session keys on the most loaded of the 10 instances (keys do spread). */
export function runStickySpread(adapter: HashKeyAdapter, kind: "ring-hash" | "maglev"): number {
  const pick = adapter.stickyPicker(kind, { from: "cookie", name: "sid" });
  const counts = new Map<number | null, number>();
  for (let i = 0; i < 1_000; i++) {
    const id = pick({ cookies: { sid: `user-${i}` } });
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return Math.max(...counts.values()) / 1_000;
}
