/**
 * What every gateway plugin sees of one request and what it may change (docs/edge-protection.md
 * "In the gateway"). A route's plugins are built once per snapshot from its PLUGINS entry
 * (wasm/plugins-section.ts) and run per request in PLUGIN_KINDS order by worker/plugins/pipeline.ts.
 */
import type { ConsumerEntry } from "../../wasm/plugins-section.ts";
import type { RequestAttributes } from "../request-attributes.ts";
import type { WaitUntil } from "../snapshot-source.ts";

/** One request going through a route's plugins. Created by the pipeline, mutated by the plugins. */
export interface PluginContext {
  readonly request: Request;
  /** The request URL as parsed for routing (pathname normalised). */
  readonly url: URL;
  /** Routing attributes; `attributes.clientIp()` is `request.ip` (the trusted-proxy rule). */
  readonly attributes: RequestAttributes;
  /** routes.id of the matched route. */
  readonly routeId: number;
  /** The request's X-Request-Id. */
  readonly requestId: string;
  /** When the request was routed, Unix ms. */
  readonly nowMs: number;
  readonly ctx: WaitUntil;
  /** Set by jwt-auth / key-auth; read by anti-scraping, the limits' `consumer` key, templates and policies. */
  consumer: ConsumerEntry | null;
  /** GROUPS index that replaces the policies' decision (anti-scraping `suspect`); -1 when none. */
  groupOverride: number;
  /**
   * Edits of the request sent upstream, applied by forward() to every attempt (proxy-rewrite,
   * hide_credentials, X-Consumer-Username). Null while no plugin edits it.
   */
  upstream: UpstreamEdit | null;
  /** Header edits of the answer (response-rewrite, CORS, RateLimit), applied in order. */
  readonly responseEdits: ((headers: Headers) => void)[];
  /** Run once when the answer is complete or the request ends without one (limit-conn's release). */
  readonly finishers: (() => void)[];
}

/** Where one attempt goes, for `pass_host: node`. */
export interface AttemptTarget {
  host: string;
  port: number;
}

/** How the request sent upstream differs from the client's. */
export interface UpstreamEdit {
  /** Path and query (`/v2/x?a=1`) sent upstream instead of the client's; null keeps them. */
  pathAndQuery: string | null;
  /** Edits the attempt's headers (already a copy), once per attempt, after Sluice's own X-Forwarded-* fields. */
  headers: ((headers: Headers, target: AttemptTarget) => void)[];
}

/**
 * One plugin of one route, built once per snapshot. `access` runs per request in PLUGIN_KINDS
 * order: it returns the answer when the plugin answers the request itself (401, 403, 429, a CORS
 * preflight…), otherwise null after recording what it changes in the context. May be async (JWT
 * verification, a cluster limit's Redis round trip); a synchronous plugin returns synchronously,
 * so a route of synchronous plugins costs no promise.
 */
export interface AccessPlugin {
  access(c: PluginContext): Response | null | Promise<Response | null>;
}

/** The gateway's own JSON answer from a plugin: `{"error": code, "message": …, …extra}` with `status`. */
export function pluginResponse(
  status: number,
  code: string,
  message: string,
  headers?: Record<string, string>,
  extra?: Record<string, unknown>,
): Response {
  return Response.json(
    { error: code, message, ...extra },
    { status, headers: headers ? { "cache-control": "no-store", ...headers } : { "cache-control": "no-store" } },
  );
}

/** A fresh context for a request on route `routeId` (no consumer, no edits yet). */
export function newPluginContext(
  request: Request,
  url: URL,
  attributes: RequestAttributes,
  routeId: number,
  requestId: string,
  nowMs: number,
  ctx: WaitUntil,
): PluginContext {
  return {
    request,
    url,
    attributes,
    routeId,
    requestId,
    nowMs,
    ctx,
    consumer: null,
    groupOverride: -1,
    upstream: null,
    responseEdits: [],
    finishers: [],
  };
}
