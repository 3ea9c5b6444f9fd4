/**
 * Section 15 of the snapshot, PLUGINS (docs/snapshot-format.md, docs/edge-protection.md): each
 * route's effective edge-protection and transformation plugins (the service's defaults merged
 * under the route's own, as APISIX merges a service's plugins into its routes) and the consumers
 * the auth plugins recognise. UTF-8 JSON inside the signed file; WASM skips it, the gateway's
 * TypeScript reads it. Control writes it with these types; this module is the one description of
 * its shape, and its reader: readPluginsSection finds and checks it in a verified file.
 *
 * Everything here is already checked and compiled by control (regexes to automata, CIDRs to
 * canonical prefixes, JWKS fetched), so the gateway only builds its per-route objects from it.
 */

/** Section id of PLUGINS in the section directory. */
export const PLUGINS_SECTION_ID = 15;

/**
 * The plugin kinds, in the order the gateway runs them on a request (APISIX's priorities:
 * cors 4000, ip-restriction 3000, jwt-auth 2510, key-auth 2500, proxy-rewrite 1008,
 * limit-conn 1003, limit-count 1002, limit-req 1001, response-rewrite 899), with
 * anti-scraping after authentication so its rules may exempt consumers. One list: control's
 * admission schema, the section and the gateway's pipeline derive from it.
 */
export const PLUGIN_KINDS = [
  "cors",
  "ip-restriction",
  "jwt-auth",
  "key-auth",
  "anti-scraping",
  "proxy-rewrite",
  "limit-conn",
  "limit-count",
  "limit-req",
  "response-rewrite",
] as const;
export type PluginKind = (typeof PLUGIN_KINDS)[number];

/**
 * Where a limit reads its key (APISIX `key_type` + `key`). An absent value falls back to the
 * client address, as APISIX does ("if the key is missing, remote_addr is used").
 * `ip` is `request.ip` (worker/client-ip.ts: the trusted-proxy rule).
 */
export type LimitKey = { from: "ip" } | { from: "header" | "query" | "cookie"; name: string } | { from: "consumer" };

/**
 * A DFA for unanchored search (wasm/reference/search-dfa.ts Dfa, typed arrays as JSON arrays), as
 * control/compiler/regex builds for `matches`: linear time. The gateway turns it back into a Dfa
 * (typed arrays) once per snapshot and runs it with runDfa.
 */
export interface SearchDfa {
  stateCount: number;
  classCount: number;
  /** 256 entries: byte → class. */
  classMap: number[];
  /** Per state: DFA_MATCH | DFA_ACCEPT_AT_END | DFA_DEAD. */
  flags: number[];
  /** next[state × classCount + class]. */
  next: number[];
}

/**
 * A byte NFA with capture slots (Thompson's construction plus SAVE states), run by a Pike VM
 * (wasm/reference/pike.ts) in linear time: captures of the leftmost-first match, RE2 semantics.
 * `kind`: 0 BYTE [lo, hi] → next; 1 SPLIT → next (preferred), alt; 2 BOL; 3 EOL; 4 MATCH;
 * 5 SAVE slot `lo` → next. Slots 2k and 2k+1 are group k's start and end (group 0: the match).
 */
export interface CaptureNfa {
  start: number;
  /** [kind, lo, hi, next, alt] per state. */
  states: [number, number, number, number, number][];
  /** Capture groups including group 0. */
  groups: number;
  /** True when the pattern starts with `^` (only the start position is tried). */
  anchored: boolean;
}

/** APISIX cors. Origins `*` means any (never with credentials: control refuses that). */
export interface CorsPlugin {
  /** Exact origins (`https://a.example`), or ["*"]. */
  allowOrigins: string[];
  /** Origins matched by regex (APISIX allow_origins_by_regex), compiled for full-string match. */
  allowOriginsByRegex: SearchDfa[];
  /** Uppercase methods, or ["*"]. */
  allowMethods: string[];
  /** Lowercase header names, or ["*"] (echo the request's Access-Control-Request-Headers). */
  allowHeaders: string[];
  /** Lowercase header names for Access-Control-Expose-Headers. */
  exposeHeaders: string[];
  /** Access-Control-Max-Age, seconds; -1 omits the header. */
  maxAgeSeconds: number;
  allowCredentials: boolean;
}

/** APISIX ip-restriction: 403 when `request.ip` is denied or, with an allow list, not allowed. */
export interface IpRestrictionPlugin {
  /** Canonical CIDR text (`10.0.0.0/8`, `2001:db8::/32`); empty when none. */
  allow: string[];
  deny: string[];
  /** The 403 body's message. */
  message: string;
}

/** APISIX key-auth: the key is read from `header`, else query parameter `query`. */
export interface KeyAuthPlugin {
  /** Lowercase header name (APISIX default `apikey`). */
  header: string;
  /** Query parameter name (APISIX default `apikey`). */
  query: string;
  /** Remove the credential before proxying (APISIX hide_credentials). */
  hideCredentials: boolean;
  /** Let requests without a credential through as anonymous (no consumer) instead of 401. */
  anonymous: boolean;
}

/** APISIX jwt-auth: the token is read from `header` (`Bearer ` optional), else `query`, else `cookie`. */
export interface JwtAuthPlugin {
  header: string;
  query: string;
  cookie: string;
  /** The claim naming the consumer's jwt-auth `key` (APISIX key_claim_name, default `key`). */
  keyClaim: string;
  hideCredentials: boolean;
  /** Allowed clock skew for exp/nbf, seconds (APISIX lifetime_grace_period, default 0). */
  clockSkewSeconds: number;
  anonymous: boolean;
}

/** One anti-scraping rule: every given criterion must hold for it to match. */
export interface AntiScrapingRule {
  /** The rule's name, in the 403/429 body and the metrics. */
  name: string;
  /** User-Agent matches (unanchored search; a missing User-Agent is ""). */
  userAgent: SearchDfa | null;
  /** Lowercase header names: matches when any of them is absent. */
  missingHeaders: string[];
  /** Matches when the client (per `request.ip`) made more than `count` requests in the window. */
  rate: { count: number; windowSeconds: number } | null;
  /** block → 403; challenge → 429 with Retry-After; suspect → route to the plugin's suspect group. */
  action: "block" | "challenge" | "suspect";
}

/** Oceanus anti-scraping: the first matching rule acts; authenticated consumers may be exempt. */
export interface AntiScrapingPlugin {
  rules: AntiScrapingRule[];
  /** GROUPS index of the suspect group (a group of the route's service); -1 when no rule suspects. */
  suspectGroup: number;
  /** Requests with an authenticated consumer skip the rules. */
  exemptConsumers: boolean;
}

/** A header value template: literal text and `$variable`s (docs/edge-protection.md "Variables"). */
export type HeaderTemplate = (string | { variable: string })[];

/** APISIX proxy-rewrite, applied to the request sent upstream (routing policies see the original). */
export interface ProxyRewritePlugin {
  /** The path: `strip` removes a prefix; `regex` replaces the first match ($1…$9 captures); null keeps it. */
  path:
    | { kind: "strip"; prefix: string }
    | { kind: "regex"; nfa: CaptureNfa; replacement: HeaderTemplate }
    | { kind: "set"; path: HeaderTemplate }
    | null;
  /** APISIX pass_host: pass the client's Host, use the instance's `host:port` (node), or `rewrite` to host. */
  passHost: "pass" | "node" | "rewrite";
  /** The Host when passHost is rewrite, else null. */
  host: string | null;
  headers: { set: [string, HeaderTemplate][]; add: [string, HeaderTemplate][]; remove: string[] };
  query: { add: [string, HeaderTemplate][]; remove: string[] };
}

/** APISIX response-rewrite (headers only). */
export interface ResponseRewritePlugin {
  headers: { set: [string, HeaderTemplate][]; add: [string, HeaderTemplate][]; remove: string[] };
}

/** APISIX limit-count. */
export interface LimitCountPlugin {
  count: number;
  windowSeconds: number;
  window: "fixed" | "sliding";
  key: LimitKey;
  /** local: per isolate, no I/O; cluster: exact across gateways through Redis. */
  policy: "local" | "cluster";
  /** When the cluster store is down: let requests through (true) or answer 503 (false). */
  failOpen: boolean;
  rejectedCode: number;
  rejectedMessage: string;
  /** Add RateLimit / RateLimit-Policy to every answer of the route (APISIX show_limit_quota_header). */
  showHeaders: boolean;
  /** Counter scope: routes with the same scope share counters (APISIX `group`); `route:<id>` by default. */
  scope: string;
}

/** APISIX limit-req (nginx limit_req's leaky bucket). */
export interface LimitReqPlugin {
  /** Requests per second (> 0). */
  rate: number;
  /** Requests per second above the rate that are delayed (or let through at once with nodelay). */
  burst: number;
  nodelay: boolean;
  key: LimitKey;
  rejectedCode: number;
  rejectedMessage: string;
  scope: string;
}

/** APISIX limit-conn: concurrent requests per key. */
export interface LimitConnPlugin {
  conn: number;
  burst: number;
  /** Delay of a request above `conn` but within `conn + burst`, ms (APISIX default_conn_delay 0.1 s). */
  delayMs: number;
  key: LimitKey;
  rejectedCode: number;
  rejectedMessage: string;
  scope: string;
}

/** A route's effective plugins: absent kinds do not run. */
export interface RoutePlugins {
  cors?: CorsPlugin;
  "ip-restriction"?: IpRestrictionPlugin;
  "jwt-auth"?: JwtAuthPlugin;
  "key-auth"?: KeyAuthPlugin;
  "anti-scraping"?: AntiScrapingPlugin;
  "proxy-rewrite"?: ProxyRewritePlugin;
  "limit-conn"?: LimitConnPlugin;
  "limit-count"?: LimitCountPlugin;
  "limit-req"?: LimitReqPlugin;
  "response-rewrite"?: ResponseRewritePlugin;
}

/** A consumer's jwt-auth credential (APISIX jwt-auth consumer config). */
export interface JwtCredential {
  /** Matched against the token's key claim. */
  key: string;
  algorithm: "HS256" | "RS256" | "ES256";
  /** HS256: the shared secret (UTF-8 text, as APISIX's `secret`). */
  secret: string | null;
  /** RS256/ES256: the public key as a JWK, from the consumer's PEM or its JWKS (control fetches and refreshes). */
  jwks: JsonWebKeyLike[];
  issuer: string | null;
  audience: string | null;
}

/** A JWK as JSON (RFC 7517); the fields jose needs. */
export interface JsonWebKeyLike {
  kty: string;
  kid?: string;
  alg?: string;
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
}

/** A consumer (APISIX consumer): who a request is, once an auth plugin has recognised it. */
export interface ConsumerEntry {
  name: string;
  labels: Record<string, string>;
  /** key-auth: SHA-256 of the key, lowercase hex (the key itself is never stored). */
  keyHash: string | null;
  jwt: JwtCredential | null;
}

export interface PluginsSection {
  /** Routes (routes.id) with at least one effective plugin. */
  routes: { route: number; plugins: RoutePlugins }[];
  consumers: ConsumerEntry[];
}
