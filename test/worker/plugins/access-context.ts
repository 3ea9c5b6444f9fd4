/**
 * A real PluginContext for plugin tables: a real Request, the URL as the gateway parses it and a
 * real RequestAttributes (worker/request-attributes.ts) with the trusted-proxy rule, so plugins
 * read headers, query, cookies and `request.ip` exactly as in the gateway. `upstreamHeaders` and
 * `upstreamPath` apply the context's UpstreamEdit as forward() would.
 */
import { parseClientIpRule } from "../../../worker/client-ip.ts";
import type { AccessPlugin, PluginContext } from "../../../worker/plugins/context.ts";
import { RequestAttributes } from "../../../worker/request-attributes.ts";

export interface AccessRequest {
  /** Path and query, e.g. "/hello?apikey=k". */
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  /** The connection's peer (request.cf.clientIp), "ip:port" or a bare address. */
  peer?: string;
  /** TRUSTED_PROXIES for the client-address rule (X-Forwarded-For read from these peers). */
  trustedProxies?: string;
  nowMs?: number;
  routeId?: number;
}

/** The context the pipeline would create for `req`. */
export function accessContext(req: AccessRequest = {}): PluginContext {
  const request = new Request(`http://gw.test${req.path ?? "/hello"}`, { method: req.method ?? "GET", headers: req.headers });
  const url = new URL(request.url);
  const cf = req.peer === undefined ? undefined : { clientIp: req.peer };
  const attributes = new RequestAttributes(url, request.method, request.headers, cf, parseClientIpRule(req.trustedProxies, undefined));
  return {
    request,
    url,
    attributes,
    routeId: req.routeId ?? 1,
    requestId: "req-1",
    nowMs: req.nowMs ?? Date.now(),
    ctx: { waitUntil: () => {} },
    consumer: null,
    groupOverride: -1,
    upstream: null,
    responseEdits: [],
    finishers: [],
  };
}

/** Runs `plugin` on `c`: the answer (status and JSON body) or null when the request goes on. */
export async function runAccess(
  plugin: AccessPlugin,
  c: PluginContext,
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers } | null> {
  const answer = await plugin.access(c);
  if (!answer) return null;
  return { status: answer.status, body: (await answer.json()) as Record<string, unknown>, headers: answer.headers };
}

/** The headers the upstream would receive: the client's, after the context's upstream edits. */
export function upstreamHeaders(c: PluginContext): Headers {
  const headers = new Headers(c.request.headers);
  for (const edit of c.upstream?.headers ?? []) edit(headers, { host: "127.0.0.1", port: 1980 });
  return headers;
}

/** The path and query the upstream would receive. */
export function upstreamPath(c: PluginContext): string {
  return c.upstream?.pathAndQuery ?? `${c.url.pathname}${c.url.search}`;
}
