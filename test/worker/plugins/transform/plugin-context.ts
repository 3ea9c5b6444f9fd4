/**
 * A real PluginContext for the transformation plugins' tables: a real Request, the URL as the
 * gateway parses it, a real RequestAttributes (worker/request-attributes.ts, trusted-proxy rule
 * included). `upstreamOf` and `answerHeaders` apply what the plugins recorded the way forward()
 * (through worker/proxy.ts upstreamRequest) and the response phase do.
 */
import type { ConsumerEntry } from "../../../../wasm/plugins-section.ts";
import { parseClientIpRule } from "../../../../worker/client-ip.ts";
import type { AttemptTarget, PluginContext } from "../../../../worker/plugins/context.ts";
import { upstreamRequest } from "../../../../worker/proxy.ts";
import { RequestAttributes } from "../../../../worker/request-attributes.ts";

export interface TestRequest {
  /** Absolute URL, or path and query on http://gw.test. */
  url?: string;
  method?: string;
  headers?: Record<string, string>;
  /** The connection's peer (request.cf.clientIp). */
  peer?: string;
  trustedProxies?: string;
  consumer?: string;
  routeId?: number;
}

/** The context the pipeline would create for `req`. */
export function pluginContext(req: TestRequest = {}): PluginContext {
  const target = req.url ?? "/";
  const request = new Request(target.startsWith("http") ? target : `http://gw.test${target}`, {
    method: req.method ?? "GET",
    headers: req.headers,
  });
  const url = new URL(request.url);
  const cf = req.peer === undefined ? undefined : { clientIp: req.peer };
  const consumer: ConsumerEntry | null = req.consumer ? { name: req.consumer, labels: {}, keyHash: null, jwt: null } : null;
  return {
    request,
    url,
    attributes: new RequestAttributes(url, request.method, request.headers, cf, parseClientIpRule(req.trustedProxies, undefined)),
    routeId: req.routeId ?? 7,
    requestId: "req-16",
    nowMs: 0,
    ctx: { waitUntil: () => {} },
    consumer,
    groupOverride: -1,
    upstream: null,
    responseEdits: [],
    finishers: [],
  };
}

/** The attempt Request forward() would build for `target` after the plugins ran on `c`. */
export function upstreamOf(c: PluginContext, target: AttemptTarget = { host: "127.0.0.1", port: 1980 }): Request {
  const propagated = { requestId: c.requestId, traceparent: null, tracestate: null };
  return upstreamRequest(c.request, c.url, { ...target }, null, null, new AbortController().signal, propagated, c.upstream);
}

/** The upstream path and query, as the attempt's request line would carry them. */
export function upstreamTarget(c: PluginContext): string {
  const url = new URL(upstreamOf(c).url);
  return url.pathname + url.search;
}

/** `headers` (an answer's) after the context's response edits, in order. */
export function answerHeaders(c: PluginContext, headers: Record<string, string> = {}): Headers {
  const out = new Headers(headers);
  for (const edit of c.responseEdits) edit(out);
  return out;
}
