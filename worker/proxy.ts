/**
 * What a proxied request and response look like on the wire: the attempt's Request (worker/
 * forward.ts sends it, retrying as the route says) and the response passed back.
 * X-Forwarded-For/-Proto/-Host are set as nginx's usual proxy config does.
 *
 * Hop-by-hop headers (RFC 9110 §7.6.1): the Workers runtime's fetch() itself drops Connection,
 * Keep-Alive, TE, Transfer-Encoding and Upgrade on the way out (workerd 2026-10-23; the e2e test
 * asserts the upstream never sees them), so per request this module removes only what it does
 * not: Proxy-Connection and the fields a Connection header names; on responses it likewise drops
 * Connection and Keep-Alive itself. Responses are passed through untouched unless they carry
 * such fields, because each Headers copy costs µs of CPU per request.
 */
import type { UpstreamEdit } from "./plugins/context.ts";
import { REQUEST_ID_HEADER } from "./telemetry/request-id.ts";

/**
 * The field names a Connection header value lists, lowercase, without `keep-alive` and `close`
 * (the runtime drops Keep-Alive itself, and `close` names no field).
 * Example: `"keep-alive, X-Trace"` → `["x-trace"]`.
 */
export function connectionFields(connection: string | null): string[] {
  if (!connection) return [];
  const fields: string[] = [];
  for (const raw of connection.split(",")) {
    const name = raw.trim().toLowerCase();
    if (name && name !== "keep-alive" && name !== "close") fields.push(name);
  }
  return fields;
}

/** Correlation headers of one attempt (upstreamRequest). */
export interface Propagated {
  requestId: string;
  /** Null when tracing is off: then `traceparent` and `tracestate` pass through as the client sent them. */
  traceparent: string | null;
  tracestate: string | null;
}

/** Where an attempt goes. */
export interface UpstreamTarget {
  /** IP literal or DNS name. */
  host: string;
  port: number;
}

/**
 * The request one attempt sends to `target`: method, headers, path and query of `request`,
 * hop-by-hop fields removed, X-Forwarded-For/-Proto/-Host set, `signal` bounding it. Built per
 * attempt (a retry needs a fresh body and signal); its headers are copied once, here, and
 * mutated in place, and fetch(Request) sends it without another copy.
 * @param url the request URL as parsed by the caller (its pathname is already normalised).
 * @param clientIp the connection's peer address (worker/client-ip.ts connectionPeer), appended to
 *   X-Forwarded-For as nginx's $proxy_add_x_forwarded_for does; null when the runtime does not say.
 * @param body the body to send: null for none, the buffered bytes (body attributes or a body
 *   kept for retries), or the incoming stream (then only one attempt can send it).
 * @param propagated what the request carries for tracing and correlation, set on it: its
 *   X-Request-Id (worker/telemetry/request-id.ts) and, when tracing is on, the attempt's
 *   `traceparent` and the `tracestate` to pass on (null: the incoming one is removed).
 * @param edit the route's plugins' edits (worker/plugins/context.ts UpstreamEdit: proxy-rewrite,
 *   hidden credentials, X-Consumer-Username), or null: its `pathAndQuery` replaces the client's
 *   path and query, and its header edits run last, with `target`. A Host they set stays on the
 *   Request, but fetch() sends the URL's authority (workerd, Node's undici and Sluice's Bun/Deno
 *   fetch all do), so only Host = `target` reaches the upstream.
 */
export function upstreamRequest(
  request: Request,
  url: URL,
  target: UpstreamTarget,
  clientIp: string | null,
  body: ReadableStream<Uint8Array> | Uint8Array | null,
  signal: AbortSignal,
  propagated: Propagated,
  edit: UpstreamEdit | null = null,
): Request {
  const hostPart = target.host.includes(":") ? `[${target.host}]` : target.host;
  const pathAndQuery = edit?.pathAndQuery ?? `${url.pathname}${url.search}`;
  const outgoing = new Request(`http://${hostPart}:${target.port}${pathAndQuery}`, {
    method: request.method,
    headers: request.headers,
    // Workers' and Node's BodyInit typings differ on typed arrays' buffer type; both accept these.
    body: request.method === "GET" || request.method === "HEAD" ? null : (body as BodyInit | null),
    redirect: "manual",
    signal,
  });
  const headers = outgoing.headers;
  for (const name of connectionFields(headers.get("connection"))) headers.delete(name);
  headers.delete("proxy-connection");
  if (clientIp) {
    const priorFor = headers.get("x-forwarded-for");
    headers.set("x-forwarded-for", priorFor ? `${priorFor}, ${clientIp}` : clientIp);
  }
  headers.set("x-forwarded-proto", url.protocol === "https:" ? "https" : "http");
  headers.set("x-forwarded-host", url.host);
  headers.set(REQUEST_ID_HEADER, propagated.requestId);
  if (propagated.traceparent !== null) {
    headers.set("traceparent", propagated.traceparent);
    if (propagated.tracestate !== null) headers.set("tracestate", propagated.tracestate);
    else headers.delete("tracestate");
  }
  if (edit !== null) for (const apply of edit.headers) apply(headers, target);
  return outgoing;
}

/** The upstream's response without hop-by-hop fields; passed through untouched when it has none. */
export function downstreamResponse(upstream: Response): Response {
  const listed = connectionFields(upstream.headers.get("connection"));
  if (listed.length === 0 && !upstream.headers.has("proxy-connection")) return upstream;
  const response = new Response(upstream.body, upstream);
  for (const name of listed) response.headers.delete(name);
  response.headers.delete("proxy-connection");
  return response;
}
