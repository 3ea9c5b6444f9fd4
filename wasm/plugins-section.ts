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

import { decodeIr, type EncodedIr } from "./cel/ir-codec.ts";
import { IrShapeError } from "./cel/ir-shape.ts";
import { groupRecordCount, sectionBytes } from "./section-directory.ts";
import { readSectionJson } from "./section-json.ts";

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
 * `ip` is `request.ip` (worker/client-ip.ts: the trusted-proxy rule). `cel`: a CEL expression
 * over the request attributes, lowered and folded by control (control/compiler lowerLimitKey) to
 * IR of type string, int or uint, carried in ir-codec.ts's form (encodeIr) and run by the
 * reference evaluator (wasm/cel/evaluate.ts); an error or absent attribute falls back too.
 */
export type LimitKey =
  | { from: "ip" }
  | { from: "header" | "query" | "cookie"; name: string }
  | { from: "consumer" }
  | { from: "cel"; program: EncodedIr };

/** The result types of a `cel` limit key's program (a string as it is, an integer in decimal). */
export const LIMIT_KEY_PROGRAM_TYPES = ["string", "int", "uint"] as const;

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
  /** [kind, lo, hi, next, alt] per state; next / alt -1 where the kind has none. */
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

/** A PLUGINS section that is not what control writes: the gateway refuses the whole snapshot. */
export class PluginsSectionError extends Error {
  override name = "PluginsSectionError";
}

/** The section's bytes: UTF-8 JSON of `section`, as control writes it (control/snapshot/plugins.ts). */
export function encodePluginsSection(section: PluginsSection): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(section));
}

/** Largest DFA / NFA the decoder accepts (control refuses larger automata at admission). */
const MAX_AUTOMATON_STATES = 65536;

/**
 * Decodes and checks a PLUGINS section's bytes: UTF-8 JSON of the shape above — every field of
 * every plugin present with its type and range, plugin names from PLUGIN_KINDS, DFA tables of
 * consistent sizes with targets below stateCount, NFA states in range, suspect group indices below
 * `groupCount` (or -1), route ids unique, consumer names unique. O(size).
 * @param groupCount the GROUPS record count of the same snapshot.
 * @throws PluginsSectionError naming the first bad field, e.g.
 *   `PLUGINS section: routes[0].plugins.limit-count.count: 0 is not an integer in [1, 1000000000]`.
 */
export function decodePluginsSection(bytes: Uint8Array, groupCount: number): PluginsSection {
  const { json, read } = readSectionJson(bytes, "PLUGINS", (message) => new PluginsSectionError(message));
  const { fail, object, array, int, num, bool, str, text, textOrNull, texts, oneOf } = read;

  const dfa = (v: unknown, at: string): SearchDfa => {
    const d = object(v, at);
    const stateCount = int(d.stateCount, `${at}.stateCount`, 1, MAX_AUTOMATON_STATES);
    const classCount = int(d.classCount, `${at}.classCount`, 1, 256);
    const classMap = array(d.classMap, `${at}.classMap`).map((x, i) => int(x, `${at}.classMap[${i}]`, 0, classCount - 1));
    if (classMap.length !== 256) fail(`${at}.classMap`, `has ${classMap.length} entries, not 256`);
    const flags = array(d.flags, `${at}.flags`).map((x, i) => int(x, `${at}.flags[${i}]`, 0, 7));
    if (flags.length !== stateCount) fail(`${at}.flags`, `has ${flags.length} entries, not stateCount ${stateCount}`);
    const next = array(d.next, `${at}.next`).map((x, i) => int(x, `${at}.next[${i}]`, 0, stateCount - 1));
    if (next.length !== stateCount * classCount) fail(`${at}.next`, `has ${next.length} entries, not ${stateCount * classCount}`);
    return { stateCount, classCount, classMap, flags, next };
  };
  const nfa = (v: unknown, at: string): CaptureNfa => {
    const n = object(v, at);
    const states = array(n.states, `${at}.states`);
    if (states.length === 0 || states.length > MAX_AUTOMATON_STATES) fail(`${at}.states`, `${states.length} states`);
    const groups = int(n.groups, `${at}.groups`, 1, 1000);
    const last = states.length - 1;
    const checked = states.map((raw, i): [number, number, number, number, number] => {
      const sat = `${at}.states[${i}]`;
      const s = array(raw, sat);
      if (s.length !== 5) fail(sat, "not [kind, lo, hi, next, alt]");
      return [
        int(s[0], `${sat}[0]`, 0, 5),
        int(s[1], `${sat}[1]`, 0, Math.max(255, 2 * groups - 1)),
        int(s[2], `${sat}[2]`, 0, 255),
        // -1: no successor (MATCH's next, every non-SPLIT's alt); the Pike VM checks each kind's use.
        int(s[3], `${sat}[3]`, -1, last),
        int(s[4], `${sat}[4]`, -1, last),
      ];
    });
    return { start: int(n.start, `${at}.start`, 0, last), states: checked, groups, anchored: bool(n.anchored, `${at}.anchored`) };
  };
  const template = (v: unknown, at: string): HeaderTemplate =>
    array(v, at).map((part, i) => {
      if (typeof part === "string") return part;
      return { variable: text(object(part, `${at}[${i}]`).variable, `${at}[${i}].variable`) };
    });
  const pairs = (v: unknown, at: string): [string, HeaderTemplate][] =>
    array(v, at).map((raw, i) => {
      const p = array(raw, `${at}[${i}]`);
      if (p.length !== 2) fail(`${at}[${i}]`, "not [name, template]");
      return [text(p[0], `${at}[${i}][0]`), template(p[1], `${at}[${i}][1]`)];
    });
  const headerEdits = (v: unknown, at: string): ResponseRewritePlugin["headers"] => {
    const h = object(v, at);
    return { set: pairs(h.set, `${at}.set`), add: pairs(h.add, `${at}.add`), remove: texts(h.remove, `${at}.remove`) };
  };
  const limitKey = (v: unknown, at: string): LimitKey => {
    const k = object(v, at);
    const from = oneOf(k.from, `${at}.from`, ["ip", "header", "query", "cookie", "consumer", "cel"] as const);
    if (from === "ip" || from === "consumer") return { from };
    if (from === "cel") {
      const program = object(k.program, `${at}.program`);
      try {
        oneOf(decodeIr(program, `${at}.program`).type, `${at}.program.type`, LIMIT_KEY_PROGRAM_TYPES);
      } catch (error) {
        if (error instanceof IrShapeError) throw new PluginsSectionError(`PLUGINS section: ${error.message}`);
        throw error;
      }
      return { from, program };
    }
    return { from, name: text(k.name, `${at}.name`) };
  };
  const rejection = (p: Record<string, unknown>, at: string) => ({
    key: limitKey(p.key, `${at}.key`),
    rejectedCode: int(p.rejectedCode, `${at}.rejectedCode`, 200, 599),
    rejectedMessage: str(p.rejectedMessage, `${at}.rejectedMessage`),
    scope: text(p.scope, `${at}.scope`),
  });

  const decoders: { [K in PluginKind]: (p: Record<string, unknown>, at: string) => NonNullable<RoutePlugins[K]> } = {
    cors: (p, at) => ({
      allowOrigins: texts(p.allowOrigins, `${at}.allowOrigins`),
      allowOriginsByRegex: array(p.allowOriginsByRegex, `${at}.allowOriginsByRegex`).map((d, i) =>
        dfa(d, `${at}.allowOriginsByRegex[${i}]`),
      ),
      allowMethods: texts(p.allowMethods, `${at}.allowMethods`),
      allowHeaders: texts(p.allowHeaders, `${at}.allowHeaders`),
      exposeHeaders: texts(p.exposeHeaders, `${at}.exposeHeaders`),
      maxAgeSeconds: int(p.maxAgeSeconds, `${at}.maxAgeSeconds`, -1, 2 ** 31 - 1),
      allowCredentials: bool(p.allowCredentials, `${at}.allowCredentials`),
    }),
    "ip-restriction": (p, at) => ({
      allow: texts(p.allow, `${at}.allow`),
      deny: texts(p.deny, `${at}.deny`),
      message: str(p.message, `${at}.message`),
    }),
    "jwt-auth": (p, at) => ({
      header: text(p.header, `${at}.header`),
      query: text(p.query, `${at}.query`),
      cookie: text(p.cookie, `${at}.cookie`),
      keyClaim: text(p.keyClaim, `${at}.keyClaim`),
      hideCredentials: bool(p.hideCredentials, `${at}.hideCredentials`),
      clockSkewSeconds: int(p.clockSkewSeconds, `${at}.clockSkewSeconds`, 0, 86_400),
      anonymous: bool(p.anonymous, `${at}.anonymous`),
    }),
    "key-auth": (p, at) => ({
      header: text(p.header, `${at}.header`),
      query: text(p.query, `${at}.query`),
      hideCredentials: bool(p.hideCredentials, `${at}.hideCredentials`),
      anonymous: bool(p.anonymous, `${at}.anonymous`),
    }),
    "anti-scraping": (p, at) => {
      const rules = array(p.rules, `${at}.rules`).map((raw, i): AntiScrapingRule => {
        const rat = `${at}.rules[${i}]`;
        const r = object(raw, rat);
        let rate: AntiScrapingRule["rate"] = null;
        if (r.rate !== null) {
          const q = object(r.rate, `${rat}.rate`);
          rate = {
            count: int(q.count, `${rat}.rate.count`, 1, 2 ** 31 - 1),
            windowSeconds: int(q.windowSeconds, `${rat}.rate.windowSeconds`, 1, 86_400),
          };
        }
        return {
          name: text(r.name, `${rat}.name`),
          userAgent: r.userAgent === null ? null : dfa(r.userAgent, `${rat}.userAgent`),
          missingHeaders: texts(r.missingHeaders, `${rat}.missingHeaders`),
          rate,
          action: oneOf(r.action, `${rat}.action`, ["block", "challenge", "suspect"] as const),
        };
      });
      const suspectGroup = int(p.suspectGroup, `${at}.suspectGroup`, -1, groupCount - 1);
      if (suspectGroup < 0 && rules.some((r) => r.action === "suspect"))
        fail(`${at}.suspectGroup`, "a rule suspects but there is no group");
      return { rules, suspectGroup, exemptConsumers: bool(p.exemptConsumers, `${at}.exemptConsumers`) };
    },
    "proxy-rewrite": (p, at) => {
      let path: ProxyRewritePlugin["path"] = null;
      if (p.path !== null) {
        const pat = `${at}.path`;
        const q = object(p.path, pat);
        const kind = oneOf(q.kind, `${pat}.kind`, ["strip", "regex", "set"] as const);
        if (kind === "strip") path = { kind, prefix: text(q.prefix, `${pat}.prefix`) };
        else if (kind === "regex")
          path = { kind, nfa: nfa(q.nfa, `${pat}.nfa`), replacement: template(q.replacement, `${pat}.replacement`) };
        else path = { kind, path: template(q.path, `${pat}.path`) };
      }
      const passHost = oneOf(p.passHost, `${at}.passHost`, ["pass", "node", "rewrite"] as const);
      const host = textOrNull(p.host, `${at}.host`);
      if ((passHost === "rewrite") !== (host !== null)) fail(`${at}.host`, "set exactly when passHost is rewrite");
      const query = object(p.query, `${at}.query`);
      return {
        path,
        passHost,
        host,
        headers: headerEdits(p.headers, `${at}.headers`),
        query: { add: pairs(query.add, `${at}.query.add`), remove: texts(query.remove, `${at}.query.remove`) },
      };
    },
    "limit-conn": (p, at) => ({
      conn: int(p.conn, `${at}.conn`, 1, 2 ** 31 - 1),
      burst: int(p.burst, `${at}.burst`, 0, 2 ** 31 - 1),
      delayMs: int(p.delayMs, `${at}.delayMs`, 0, 2 ** 31 - 1),
      ...rejection(p, at),
    }),
    "limit-count": (p, at) => ({
      count: int(p.count, `${at}.count`, 1, 1_000_000_000),
      windowSeconds: int(p.windowSeconds, `${at}.windowSeconds`, 1, 86_400),
      window: oneOf(p.window, `${at}.window`, ["fixed", "sliding"] as const),
      policy: oneOf(p.policy, `${at}.policy`, ["local", "cluster"] as const),
      failOpen: bool(p.failOpen, `${at}.failOpen`),
      showHeaders: bool(p.showHeaders, `${at}.showHeaders`),
      ...rejection(p, at),
    }),
    "limit-req": (p, at) => {
      const rate = num(p.rate, `${at}.rate`, 0);
      if (rate === 0) fail(`${at}.rate`, "must be > 0");
      return { rate, burst: num(p.burst, `${at}.burst`, 0), nodelay: bool(p.nodelay, `${at}.nodelay`), ...rejection(p, at) };
    },
    "response-rewrite": (p, at) => ({ headers: headerEdits(p.headers, `${at}.headers`) }),
  };

  const root = object(json, "root");
  const seenRoutes = new Set<number>();
  const routes = array(root.routes, "routes").map((raw, i) => {
    const at = `routes[${i}]`;
    const entry = object(raw, at);
    const route = int(entry.route, `${at}.route`, 1, 2 ** 31 - 1);
    if (seenRoutes.has(route)) fail(`${at}.route`, `route ${route} is listed twice`);
    seenRoutes.add(route);
    const given = object(entry.plugins, `${at}.plugins`);
    const plugins: RoutePlugins = {};
    for (const name of Object.keys(given)) {
      if (!(PLUGIN_KINDS as readonly string[]).includes(name)) fail(`${at}.plugins.${name}`, "not a plugin kind");
    }
    for (const kind of PLUGIN_KINDS) {
      if (given[kind] === undefined) continue;
      const pat = `${at}.plugins.${kind}`;
      (plugins as Record<string, unknown>)[kind] = decoders[kind](object(given[kind], pat), pat);
    }
    return { route, plugins };
  });
  const seenConsumers = new Set<string>();
  const consumers = array(root.consumers, "consumers").map((raw, i): ConsumerEntry => {
    const at = `consumers[${i}]`;
    const c = object(raw, at);
    const name = text(c.name, `${at}.name`);
    if (seenConsumers.has(name)) fail(`${at}.name`, `"${name}" is listed twice`);
    seenConsumers.add(name);
    const labels = object(c.labels, `${at}.labels`);
    for (const [key, value] of Object.entries(labels)) str(value, `${at}.labels.${key}`);
    const keyHash = c.keyHash === null ? null : str(c.keyHash, `${at}.keyHash`);
    if (keyHash !== null && !/^[0-9a-f]{64}$/.test(keyHash)) fail(`${at}.keyHash`, "not a lowercase hex SHA-256");
    let jwt: JwtCredential | null = null;
    if (c.jwt !== null) {
      const jat = `${at}.jwt`;
      const j = object(c.jwt, jat);
      const algorithm = oneOf(j.algorithm, `${jat}.algorithm`, ["HS256", "RS256", "ES256"] as const);
      const secret = textOrNull(j.secret, `${jat}.secret`);
      const jwks = array(j.jwks, `${jat}.jwks`).map((k, n): JsonWebKeyLike => {
        const key = object(k, `${jat}.jwks[${n}]`);
        text(key.kty, `${jat}.jwks[${n}].kty`);
        return key as unknown as JsonWebKeyLike;
      });
      if ((algorithm === "HS256") !== (secret !== null)) fail(`${jat}.secret`, "set exactly when the algorithm is HS256");
      jwt = {
        key: text(j.key, `${jat}.key`),
        algorithm,
        secret,
        jwks,
        issuer: textOrNull(j.issuer, `${jat}.issuer`),
        audience: textOrNull(j.audience, `${jat}.audience`),
      };
    }
    return { name, labels: labels as Record<string, string>, keyHash, jwt };
  });
  return { routes, consumers };
}

const sectionError = (message: string) => new PluginsSectionError(message);

/**
 * The PLUGINS section of a verified snapshot file, or null when it has none (no route has a
 * plugin and there is no consumer). The gateway reads it at each load and refuses the snapshot
 * when this throws (the last good one keeps serving). O(file directory + section size).
 * @param file the whole snapshot file (header at byte 0).
 * @param groupCount the snapshot's GROUPS record count (default: counted from the file's directory).
 * @throws PluginsSectionError when the directory or the section's entry lies outside the file,
 *   the section appears twice, or its content is malformed (decodePluginsSection).
 * @example readPluginsSection(file)?.routes[0]?.plugins["limit-count"]?.count // → 100
 */
export function readPluginsSection(file: Uint8Array, groupCount: number = groupRecordCount(file, sectionError)): PluginsSection | null {
  const bytes = sectionBytes(file, PLUGINS_SECTION_ID, "PLUGINS", sectionError);
  return bytes ? decodePluginsSection(bytes, groupCount) : null;
}
