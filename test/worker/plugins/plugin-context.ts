/**
 * A real PluginContext for the plugins' tables, built as the pipeline builds it
 * (worker/plugins/context.ts newPluginContext): a real Request, the URL as the gateway parses it
 * and a real RequestAttributes with the trusted-proxy rule, so plugins read headers, query,
 * cookies and `request.ip` exactly as in the gateway. The helpers read what the plugins left in
 * it: their answer, the request sent upstream (through worker/proxy.ts upstreamRequest, as
 * forward() builds each attempt) and the answer's header edits.
 */
import type { ConsumerEntry } from "../../../wasm/plugins-section.ts";
import { parseClientIpRule } from "../../../worker/client-ip.ts";
import { type AccessPlugin, type AttemptTarget, newPluginContext, type PluginContext } from "../../../worker/plugins/context.ts";
import { upstreamRequest } from "../../../worker/proxy.ts";
import { RequestAttributes } from "../../../worker/request-attributes.ts";

export interface TestRequest {
  /** Path and query on http://gw.test (e.g. "/hello?apikey=k"), or an absolute URL; default "/". */
  url?: string;
  /** Path and query on http://gw.test (the same as `url`). */
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  /** The connection's peer (request.cf.clientIp), "ip:port" or a bare address; default 192.0.2.1:40000. */
  peer?: string;
  /** The peer's address alone (instead of `peer`). */
  ip?: string;
  /** TRUSTED_PROXIES for the client-address rule (X-Forwarded-For read from these peers). */
  trustedProxies?: string;
  /** An authenticated consumer's name, and its labels. */
  consumer?: string;
  labels?: Record<string, string>;
  /** Default Date.now(). */
  nowMs?: number;
  /** Default 1. */
  routeId?: number;
  /** Default "req-1". */
  requestId?: string;
}

/** The test client's connection (TEST-NET-1, RFC 5737). */
const DEFAULT_PEER = "192.0.2.1:40000";

export function pluginContext(req: TestRequest = {}): PluginContext {
  const target = req.url ?? req.path ?? "/";
  const request = new Request(target.startsWith("http") ? target : `http://gw.test${target}`, {
    method: req.method ?? "GET",
    headers: req.headers,
  });
  const url = new URL(request.url);
  const cf = { clientIp: req.peer ?? (req.ip === undefined ? DEFAULT_PEER : `${req.ip}:40000`) };
  const attributes = new RequestAttributes(url, request.method, request.headers, cf, parseClientIpRule(req.trustedProxies, undefined));
  const c = newPluginContext(request, url, attributes, req.routeId ?? 1, req.requestId ?? "req-1", req.nowMs ?? Date.now(), {
    waitUntil: () => {},
  });
  const consumer: ConsumerEntry | null = req.consumer ? { name: req.consumer, labels: req.labels ?? {}, keyHash: null, jwt: null } : null;
  c.consumer = consumer;
  return c;
}

/** The plugin's answer read whole (status, JSON body, headers), or null when it let the request through. */
export async function runAccess(
  plugin: AccessPlugin,
  c: PluginContext,
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers } | null> {
  const answer = await plugin.access(c);
  if (!answer) return null;
  return { status: answer.status, body: (await answer.json()) as Record<string, unknown>, headers: answer.headers };
}

/** The client's headers with the context's upstream header edits applied (and nothing else forward() adds). */
export function upstreamHeaders(c: PluginContext, target: AttemptTarget = { host: "127.0.0.1", port: 1980 }): Headers {
  const headers = new Headers(c.request.headers);
  for (const edit of c.upstream?.headers ?? []) edit(headers, target);
  return headers;
}

/** The attempt forward() would send to `target` with the context's upstream edit. */
export function upstreamOf(c: PluginContext, target: AttemptTarget = { host: "127.0.0.1", port: 1980 }): Request {
  const propagated = { requestId: c.requestId, traceparent: null, tracestate: null };
  return upstreamRequest(c.request, c.url, { ...target }, null, null, new AbortController().signal, propagated, c.upstream);
}

/** Path and query of that attempt. */
export function upstreamTarget(c: PluginContext): string {
  const url = new URL(upstreamOf(c).url);
  return url.pathname + url.search;
}

/** The answer's headers: `headers` with the context's response edits applied. */
export function answerHeaders(c: PluginContext, headers: Record<string, string> = {}): Headers {
  const out = new Headers(headers);
  for (const edit of c.responseEdits) edit(out);
  return out;
}
