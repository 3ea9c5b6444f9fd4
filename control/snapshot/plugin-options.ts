/**
 * Plugin shapes, defaults and merging (docs/edge-protection.md "Configuring plugins"), as
 * options.ts is for balancing: the stored form of each plugin (as the admin gave it; the API's
 * zod schemas, control/api/plugin-fields.ts, are checked against these types), that form with its
 * defaults filled in, and a
 * route's effective plugins — its service's, each plugin the route names replacing the service's
 * whole, null turning it off (APISIX: "the route's plugin configuration takes precedence over the
 * service's"). Pure.
 */

import type { LimitKey } from "../../wasm/plugins-section.ts";
import { PLUGIN_KINDS, type PluginKind } from "../../wasm/plugins-section.ts";

/**
 * A limit's key as the admin gives it: the section's kinds (wasm/plugins-section.ts LimitKey),
 * with a CEL key as its source, which plugins.ts lowers to the section's program.
 */
export type LimitKeyInput = Exclude<LimitKey, { from: "cel" }> | { from: "cel"; expression: string };

/** Fields every limit plugin shares (APISIX key_type/key, rejected_code, rejected_msg, group). */
interface LimitCommon {
  key?: LimitKeyInput;
  /** 200–599. */
  rejectedCode?: number;
  rejectedMessage?: string;
  /** Routes with the same group share counters. */
  group?: string;
}

/** Header edits: values are templates (wasm/template.ts). */
export interface HeaderEdits {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}

/** One anti-scraping rule as given. */
export interface AntiScrapingRuleInput {
  name: string;
  /** RE2 pattern, unanchored search. */
  userAgent?: string;
  missingHeaders?: string[];
  rate?: { count: number; windowSeconds: number };
  action: "block" | "challenge" | "suspect";
}

/** Each plugin's configuration as the admin gives it: fields with a default are optional. */
export interface PluginInputs {
  "limit-count": LimitCommon & {
    count: number;
    windowSeconds: number;
    window?: "fixed" | "sliding";
    policy?: "local" | "cluster";
    failOpen?: boolean;
    showHeaders?: boolean;
  };
  /** rate and burst in req/s. */
  "limit-req": LimitCommon & { rate: number; burst?: number; nodelay?: boolean };
  "limit-conn": LimitCommon & { conn: number; burst?: number; delayMs?: number };
  "key-auth": { header?: string; query?: string; hideCredentials?: boolean; anonymous?: boolean };
  "jwt-auth": {
    header?: string;
    query?: string;
    cookie?: string;
    keyClaim?: string;
    clockSkewSeconds?: number;
    hideCredentials?: boolean;
    anonymous?: boolean;
  };
  /** Addresses or CIDRs. */
  "ip-restriction": { allow?: string[]; deny?: string[]; message?: string };
  "anti-scraping": { rules: AntiScrapingRuleInput[]; suspectGroup?: string; exemptConsumers?: boolean };
  "proxy-rewrite": {
    uri?: string;
    stripPrefix?: string;
    /** [RE2 pattern, replacement template]. */
    regexUri?: [string, string];
    host?: string;
    passHost?: "pass" | "node" | "rewrite";
    headers?: HeaderEdits;
    query?: { add?: Record<string, string>; remove?: string[] };
  };
  "response-rewrite": { headers?: HeaderEdits };
  cors: {
    allowOrigins?: string[];
    allowOriginsByRegex?: string[];
    allowMethods?: string[];
    allowHeaders?: string[];
    exposeHeaders?: string[];
    maxAgeSeconds?: number;
    allowCredentials?: boolean;
  };
}

/** One plugin's configuration as the admin gives it. */
export type PluginInput<K extends PluginKind> = PluginInputs[K];

/** A service's `plugins`: the defaults of its routes. */
export type ServicePluginsInput = { [K in PluginKind]?: PluginInput<K> };

/** A route's `plugins`: each replaces the service's plugin of that name; null turns it off. */
export type RoutePluginsInput = { [K in PluginKind]?: PluginInput<K> | null };

/** Every default of the fields table, by plugin (APISIX's defaults, with Sluice's field names). */
export const PLUGIN_DEFAULTS = {
  "limit-count": {
    window: "fixed",
    key: { from: "ip" },
    policy: "local",
    failOpen: false,
    rejectedCode: 429,
    rejectedMessage: "too many requests",
    showHeaders: true,
  },
  "limit-req": { burst: 0, nodelay: false, key: { from: "ip" }, rejectedCode: 429, rejectedMessage: "too many requests" },
  "limit-conn": { burst: 0, delayMs: 100, key: { from: "ip" }, rejectedCode: 429, rejectedMessage: "too many requests" },
  "key-auth": { header: "apikey", query: "apikey", hideCredentials: false, anonymous: false },
  "jwt-auth": {
    header: "authorization",
    query: "jwt",
    cookie: "jwt",
    keyClaim: "key",
    clockSkewSeconds: 0,
    hideCredentials: false,
    anonymous: false,
  },
  "ip-restriction": { allow: [], deny: [], message: "Your IP address is not allowed" },
  "anti-scraping": { exemptConsumers: true },
  "proxy-rewrite": { passHost: "pass" },
  "response-rewrite": {},
  cors: {
    allowOrigins: ["*"],
    allowOriginsByRegex: [],
    allowMethods: ["*"],
    allowHeaders: ["*"],
    exposeHeaders: [],
    maxAgeSeconds: 5,
    allowCredentials: false,
  },
} as const satisfies { [K in PluginKind]: Partial<PluginInput<K>> };

/** The fields of plugin K that have a default. */
type Defaulted<K extends PluginKind> = keyof (typeof PLUGIN_DEFAULTS)[K] & keyof PluginInput<K>;

/** A plugin's configuration with every default filled in (fields without a default stay optional). */
export type ResolvedPlugin<K extends PluginKind> = Omit<PluginInput<K>, Defaulted<K>> & Required<Pick<PluginInput<K>, Defaulted<K>>>;

/** A route's effective plugins, defaults filled; absent kinds do not run. */
export type EffectivePlugins = { [K in PluginKind]?: ResolvedPlugin<K> };

/**
 * `input` with the defaults of plugin `kind` filled in (a deep copy of the defaults, so callers may
 * keep the result). proxy-rewrite: a `host` without passHost means passHost `rewrite`.
 */
export function resolvePlugin<K extends PluginKind>(kind: K, input: PluginInput<K>): ResolvedPlugin<K> {
  const defaults = structuredClone(PLUGIN_DEFAULTS[kind]) as Record<string, unknown>;
  const resolved = { ...defaults, ...(input as Record<string, unknown>) };
  if (kind === "proxy-rewrite" && resolved.host !== undefined && (input as { passHost?: string }).passHost === undefined) {
    resolved.passHost = "rewrite";
  }
  return resolved as ResolvedPlugin<K>;
}

/** A stored service `plugins` object with each plugin's defaults filled in, in PLUGIN_KINDS order. */
export function resolveServicePlugins(stored: Record<string, unknown>): ServicePluginsInput {
  const out: Record<string, unknown> = {};
  for (const kind of PLUGIN_KINDS) {
    const value = stored[kind];
    if (value !== undefined && value !== null) out[kind] = resolvePlugin(kind, value as PluginInput<typeof kind>);
  }
  return out as ServicePluginsInput;
}

/** A stored route `plugins` object with each plugin's defaults filled in; null values kept (they turn the service's off). */
export function resolveRoutePlugins(stored: Record<string, unknown>): RoutePluginsInput {
  const out: Record<string, unknown> = {};
  for (const kind of PLUGIN_KINDS) {
    const value = stored[kind];
    if (value === null) out[kind] = null;
    else if (value !== undefined) out[kind] = resolvePlugin(kind, value as PluginInput<typeof kind>);
  }
  return out as RoutePluginsInput;
}

/**
 * A route's effective plugins: the service's, with each plugin the route names (a config or null)
 * replacing the service's whole; defaults filled.
 * @example effectivePlugins({"key-auth": {}, cors: {}}, {cors: null}) // → {"key-auth": {header: "apikey", …}}
 */
export function effectivePlugins(service: Record<string, unknown>, route: Record<string, unknown>): EffectivePlugins {
  const out: Record<string, unknown> = {};
  for (const kind of PLUGIN_KINDS) {
    const value = kind in route ? route[kind] : service[kind];
    if (value !== undefined && value !== null) out[kind] = resolvePlugin(kind, value as PluginInput<typeof kind>);
  }
  return out as EffectivePlugins;
}

/** The groups a plugins object names that must exist in the owning service: `[field, group]` pairs. */
export function pluginGroupReferences(plugins: Record<string, unknown>): [string, string][] {
  const scraping = plugins["anti-scraping"] as { suspectGroup?: string } | null | undefined;
  const group = scraping?.suspectGroup;
  return group === undefined ? [] : [["plugins.anti-scraping.suspectGroup", group]];
}
