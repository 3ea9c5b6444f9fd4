/**
 * Forwards a request to the chosen instance and maps transport failures to gateway errors:
 * connect failure → 502, timeout → 504 (as nginx / Envoy). X-Forwarded-For/-Proto/-Host are set
 * as nginx's usual proxy config does.
 *
 * Hop-by-hop headers (RFC 9110 §7.6.1): the Workers runtime's fetch() itself drops Connection,
 * Keep-Alive, TE, Transfer-Encoding and Upgrade on the way out (workerd 2026-10-23; the e2e test
 * asserts the upstream never sees them), so per request this module removes only what it does
 * not: Proxy-Connection and the fields a Connection header names; on responses it likewise drops
 * Connection and Keep-Alive itself. Responses are passed through untouched unless they carry
 * such fields, because each Headers copy costs µs of CPU per request.
 */
import { errorResponse } from "./responses.ts";

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

export interface UpstreamTarget {
  /** IP literal or DNS name. */
  host: string;
  port: number;
  /** Total time allowed for the upstream to answer with headers, ms. */
  timeoutMs: number;
}

/**
 * Proxies `request` (method, headers, streaming body, path and query unchanged) to `target`.
 * @param url the request URL as parsed by the caller (its pathname is already normalised).
 * @param clientIp the client address when the platform knows it (Cloudflare: CF-Connecting-IP).
 * @param body what to send instead of request.body when part of it was already read for body
 *   attributes (worker/body.ts: the same bytes); undefined forwards request.body.
 * @returns the upstream's response without hop-by-hop fields, or a JSON 502/504.
 */
export async function proxyRequest(
  request: Request,
  url: URL,
  target: UpstreamTarget,
  clientIp: string | null,
  body?: ReadableStream<Uint8Array> | Uint8Array | null,
): Promise<Response> {
  const hostPart = target.host.includes(":") ? `[${target.host}]` : target.host;
  const signal = AbortSignal.timeout(target.timeoutMs);
  // One Request built from the incoming one: its headers are copied once, here, and mutated in
  // place; fetch(Request) sends it without another copy.
  const outgoing = new Request(`http://${hostPart}:${target.port}${url.pathname}${url.search}`, {
    method: request.method,
    headers: request.headers,
    body: request.method === "GET" || request.method === "HEAD" ? null : body === undefined ? request.body : body,
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

  let upstream: Response;
  try {
    upstream = await fetch(outgoing);
  } catch (err) {
    if (signal.aborted) {
      return errorResponse("upstream_timeout", `upstream ${target.host}:${target.port} did not answer within ${target.timeoutMs} ms`);
    }
    return errorResponse("upstream_unreachable", `upstream ${target.host}:${target.port} failed: ${(err as Error).message}`);
  }
  const listed = connectionFields(upstream.headers.get("connection"));
  if (listed.length === 0 && !upstream.headers.has("proxy-connection")) return upstream;
  const response = new Response(upstream.body, upstream);
  for (const name of listed) response.headers.delete(name);
  response.headers.delete("proxy-connection");
  return response;
}
