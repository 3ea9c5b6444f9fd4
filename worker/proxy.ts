/**
 * Forwards a request to the chosen instance and maps transport failures to gateway errors:
 * connect failure → 502, timeout → 504 (as nginx / Envoy). Hop-by-hop headers (RFC 9110 §7.6.1)
 * are stripped both ways; X-Forwarded-For/-Proto/-Host are set as nginx's usual proxy config does.
 */
import { errorResponse } from "./responses.ts";

const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
];

/** Removes hop-by-hop headers, including any named by `Connection`. Mutates and returns `headers`. */
export function stripHopByHop(headers: Headers): Headers {
  const listed = headers.get("connection");
  if (listed) for (const name of listed.split(",")) headers.delete(name.trim());
  for (const name of HOP_BY_HOP) headers.delete(name);
  return headers;
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
 * @param clientIp the client address when the platform knows it (Cloudflare: CF-Connecting-IP).
 * @returns the upstream's response with hop-by-hop headers removed, or a JSON 502/504.
 */
export async function proxyRequest(request: Request, url: URL, target: UpstreamTarget, clientIp: string | null): Promise<Response> {
  const headers = stripHopByHop(new Headers(request.headers));
  const priorFor = headers.get("x-forwarded-for");
  if (clientIp) headers.set("x-forwarded-for", priorFor ? `${priorFor}, ${clientIp}` : clientIp);
  headers.set("x-forwarded-proto", url.protocol.replace(":", ""));
  headers.set("x-forwarded-host", url.host);
  headers.delete("host");

  const hostPart = target.host.includes(":") ? `[${target.host}]` : target.host;
  const upstreamUrl = `http://${hostPart}:${target.port}${url.pathname}${url.search}`;
  const signal = AbortSignal.timeout(target.timeoutMs);
  const hasBody = request.method !== "GET" && request.method !== "HEAD";
  let upstream: Response;
  try {
    upstream = await fetch(upstreamUrl, {
      method: request.method,
      headers,
      body: hasBody ? request.body : null,
      redirect: "manual",
      signal,
    });
  } catch (err) {
    if (signal.aborted) {
      return errorResponse("upstream_timeout", `upstream ${target.host}:${target.port} did not answer within ${target.timeoutMs} ms`);
    }
    return errorResponse("upstream_unreachable", `upstream ${target.host}:${target.port} failed: ${(err as Error).message}`);
  }
  const responseHeaders = stripHopByHop(new Headers(upstream.headers));
  return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers: responseHeaders });
}
