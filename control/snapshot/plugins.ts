/**
 * The PLUGINS section's content (section 15, wasm/plugins-section.ts): each route's effective
 * plugins (control/snapshot/plugin-options.ts, defaults filled) compiled into what the gateway runs —
 * regexes to search DFAs (CORS origins anchored to the whole origin, user agents unanchored),
 * regexUri to a capture NFA, CIDRs to canonical text, templates parsed, header names lowercased,
 * limit keys (a CEL expression lowered and folded to IR, in ir-codec.ts's form), limit scopes
 * (`group:<group>` when the plugin sets a group, else `route:<routes.id>`) and the
 * anti-scraping suspect group as a GROUPS index — plus the consumers. Admission already checked
 * all of it; a failure here is a SnapshotModelError (the rebuild fails, the last snapshot serves). Pure.
 */

import { encodeIr } from "../../wasm/cel/ir-codec.ts";
import { formatIp, type IpPrefix, parsePrefixText } from "../../wasm/ip-text.ts";
import type {
  AntiScrapingPlugin,
  ConsumerEntry,
  CorsPlugin,
  HeaderTemplate,
  LimitKey,
  PluginsSection,
  ProxyRewritePlugin,
  RoutePlugins,
  SearchDfa,
} from "../../wasm/plugins-section.ts";
import { parseTemplate } from "../../wasm/template.ts";
import { ConditionError, lowerLimitKey } from "../compiler/index.ts";
import { compileCaptureRegex, compileRegex, type Dfa } from "../compiler/regex/index.ts";
import { SnapshotModelError } from "./compile-routes.ts";
import type { RouteConfig } from "./model.ts";
import type { EffectivePlugins, LimitKeyInput, ResolvedPlugin } from "./plugin-options.ts";

/** A DFA's typed arrays as the JSON arrays the section carries. */
export function searchDfaOf(dfa: Dfa): SearchDfa {
  return {
    stateCount: dfa.stateCount,
    classCount: dfa.classCount,
    classMap: Array.from(dfa.classMap),
    flags: Array.from(dfa.flags),
    next: Array.from(dfa.next),
  };
}

/**
 * Canonical text of an address or CIDR: host bits cleared, `10.1.2.3/8` → `10.0.0.0/8`, a bare
 * address → `/32` or `/128`, IPv6 as RFC 5952, an IPv4-mapped prefix of ≥ 96 bits as IPv4.
 * @returns undefined when `text` is neither.
 */
export function canonicalPrefix(text: string): string | undefined {
  const parsed = parsePrefixText(text);
  if (!parsed) return undefined;
  const masked: IpPrefix = { ...parsed, bytes: parsed.bytes.slice() };
  for (let bit = parsed.prefix; bit < masked.bytes.length * 8; bit++) {
    masked.bytes[bit >> 3] = (masked.bytes[bit >> 3] as number) & ~(0x80 >> (bit & 7));
  }
  const b = masked.bytes;
  const mapped = masked.family === 6 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (mapped && masked.prefix >= 96) return `${formatIp({ family: 4, bytes: b.subarray(12, 16) })}/${masked.prefix - 96}`;
  // formatIp prints any IPv4-mapped address dotted; a shorter mapped prefix has its last 32 bits clear.
  if (mapped) return `::ffff:0:0/${masked.prefix}`;
  return `${formatIp(masked)}/${masked.prefix}`;
}

const lower = (names: readonly string[]) => names.map((n) => n.toLowerCase());
const templates = (record: Record<string, string> | undefined, lowerNames: boolean): [string, HeaderTemplate][] =>
  Object.entries(record ?? {}).map(([name, value]) => [lowerNames ? name.toLowerCase() : name, parseTemplate(value)]);
/**
 * A limit's key as the section carries it: header names lowercased, a CEL expression lowered
 * (a memo hit after admission) and encoded. @throws SnapshotModelError when the expression does
 * not lower (a stored row bypassing the API, or a compiler grown stricter).
 */
function limitKey(key: LimitKeyInput, where: string): LimitKey {
  if (key.from === "header") return { from: "header", name: key.name.toLowerCase() };
  if (key.from !== "cel") return key;
  try {
    return { from: "cel", program: encodeIr(lowerLimitKey(key.expression)) };
  } catch (error) {
    if (error instanceof ConditionError) fail(`${where}.key.expression: ${error.message} (at position ${error.position})`);
    throw error;
  }
}
/** What every resolved limit plugin has in common (limit-conn, limit-count, limit-req). */
interface LimitFieldsInput {
  key: LimitKeyInput;
  rejectedCode: number;
  rejectedMessage: string;
  group?: string | undefined;
}

const scopeOf = (routeId: number, group: string | undefined) => (group === undefined ? `route:${routeId}` : `group:${group}`);

function compileCors(cors: ResolvedPlugin<"cors">): CorsPlugin {
  return {
    allowOrigins: [...cors.allowOrigins],
    // APISIX matches the whole origin: anchor the pattern (admission compiled it unanchored, for its offsets).
    allowOriginsByRegex: cors.allowOriginsByRegex.map((p) => searchDfaOf(compileRegex(`^(?:${p})$`))),
    allowMethods: cors.allowMethods.map((m) => m.toUpperCase()),
    allowHeaders: lower(cors.allowHeaders),
    exposeHeaders: lower(cors.exposeHeaders),
    maxAgeSeconds: cors.maxAgeSeconds,
    allowCredentials: cors.allowCredentials,
  };
}

function compileProxyRewrite(p: ResolvedPlugin<"proxy-rewrite">): ProxyRewritePlugin {
  let path: ProxyRewritePlugin["path"] = null;
  if (p.stripPrefix !== undefined) path = { kind: "strip", prefix: p.stripPrefix };
  else if (p.regexUri !== undefined) {
    path = { kind: "regex", nfa: compileCaptureRegex(p.regexUri[0]), replacement: parseTemplate(p.regexUri[1], true) };
  } else if (p.uri !== undefined) path = { kind: "set", path: parseTemplate(p.uri) };
  return {
    path,
    passHost: p.passHost,
    host: p.passHost === "rewrite" ? (p.host ?? null) : null,
    headers: {
      set: templates(p.headers?.set, true),
      add: templates(p.headers?.add, true),
      remove: lower(p.headers?.remove ?? []),
    },
    query: { add: templates(p.query?.add, false), remove: [...(p.query?.remove ?? [])] },
  };
}

/**
 * Compiles one route's effective plugins.
 * @param groupIndex GROUPS index of group `name` of the route's service. @throws SnapshotModelError
 *   when the suspect group does not exist, a CIDR does not parse (stored rows bypassing the API).
 */
export function compileRoutePlugins(route: RouteConfig, plugins: EffectivePlugins, groupIndex: (name: string) => number): RoutePlugins {
  const out: RoutePlugins = {};
  const where = `route ${route.id}`;
  if (plugins.cors) out.cors = compileCors(plugins.cors);
  const ip = plugins["ip-restriction"];
  if (ip) {
    const canonical = (list: readonly string[]) =>
      list.map((text) => canonicalPrefix(text) ?? fail(`${where}: ip-restriction: "${text}" is not an address or CIDR`));
    out["ip-restriction"] = { allow: canonical(ip.allow), deny: canonical(ip.deny), message: ip.message };
  }
  const jwt = plugins["jwt-auth"];
  if (jwt) out["jwt-auth"] = { ...jwt, header: jwt.header.toLowerCase() };
  const key = plugins["key-auth"];
  if (key) out["key-auth"] = { ...key, header: key.header.toLowerCase() };
  const scraping = plugins["anti-scraping"];
  if (scraping) {
    const suspects = scraping.rules.some((r) => r.action === "suspect");
    const rules: AntiScrapingPlugin["rules"] = scraping.rules.map((r) => ({
      name: r.name,
      userAgent: r.userAgent === undefined ? null : searchDfaOf(compileRegex(r.userAgent)),
      missingHeaders: lower(r.missingHeaders ?? []),
      rate: r.rate ? { count: r.rate.count, windowSeconds: r.rate.windowSeconds } : null,
      action: r.action,
    }));
    const suspectGroup = suspects && scraping.suspectGroup !== undefined ? groupIndex(scraping.suspectGroup) : -1;
    out["anti-scraping"] = { rules, suspectGroup, exemptConsumers: scraping.exemptConsumers };
  }
  if (plugins["proxy-rewrite"]) out["proxy-rewrite"] = compileProxyRewrite(plugins["proxy-rewrite"]);
  // The fields every limit shares: its key, its rejection and its counters' scope.
  const limit = (kind: "limit-conn" | "limit-count" | "limit-req", p: LimitFieldsInput) => ({
    key: limitKey(p.key, `${where}: ${kind}`),
    rejectedCode: p.rejectedCode,
    rejectedMessage: p.rejectedMessage,
    scope: scopeOf(route.id, p.group),
  });
  const conn = plugins["limit-conn"];
  if (conn) out["limit-conn"] = { conn: conn.conn, burst: conn.burst, delayMs: conn.delayMs, ...limit("limit-conn", conn) };
  const count = plugins["limit-count"];
  if (count) {
    out["limit-count"] = {
      count: count.count,
      windowSeconds: count.windowSeconds,
      window: count.window,
      policy: count.policy,
      failOpen: count.failOpen,
      showHeaders: count.showHeaders,
      ...limit("limit-count", count),
    };
  }
  const req = plugins["limit-req"];
  if (req) out["limit-req"] = { rate: req.rate, burst: req.burst, nodelay: req.nodelay, ...limit("limit-req", req) };
  const response = plugins["response-rewrite"];
  if (response) {
    out["response-rewrite"] = {
      headers: {
        set: templates(response.headers?.set, true),
        add: templates(response.headers?.add, true),
        remove: lower(response.headers?.remove ?? []),
      },
    };
  }
  return out;
}

function fail(message: string): never {
  throw new SnapshotModelError(message);
}

/**
 * The section's content: routes (by id) with at least one effective plugin, and the consumers by name.
 * @param groupIndex GROUPS index of group `name` of `appkey` in the file being written (throws when absent).
 */
export function pluginsSection(
  routes: readonly RouteConfig[],
  consumers: readonly ConsumerEntry[],
  groupIndex: (appkey: string, name: string) => number,
): PluginsSection {
  const entries = [...routes]
    .filter((r) => r.plugins !== undefined && Object.keys(r.plugins).length > 0)
    .sort((a, b) => a.id - b.id)
    .map((route) => ({
      route: route.id,
      plugins: compileRoutePlugins(route, route.plugins as EffectivePlugins, (name) => groupIndex(route.appkey, name)),
    }));
  return { routes: entries, consumers: [...consumers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
}

/** Whether a snapshot of these routes and consumers carries section 15. */
export function hasPlugins(routes: readonly RouteConfig[], consumers: readonly ConsumerEntry[]): boolean {
  return consumers.length > 0 || routes.some((r) => r.plugins !== undefined && Object.keys(r.plugins).length > 0);
}
