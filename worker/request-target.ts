/**
 * What the gateway accepts as a request target before anything is routed (issue 12, items 4 and
 * 11): a method it proxies, a Host field that is an authority (RFC 9110 §7.2: host and optional
 * port, RFC 3986 §3.2.2 — no userinfo, path, query, fragment, space or second value), and a path
 * normalised as routes are written (wasm/path-text.ts). The URL is built only from a validated
 * Host, so a Host field cannot change the routed or forwarded path. Pure: request in, URL or
 * a 4xx JSON answer out.
 */
import { normalizePathname } from "../wasm/path-text.ts";
import { errorResponse } from "./responses.ts";

/** Methods the gateway does not proxy: CONNECT opens a tunnel, TRACE echoes credentials (nginx and Envoy refuse both by default). */
const REFUSED_METHODS = new Set(["CONNECT", "TRACE"]);
/**
 * A method nginx accepts: uppercase letters, `_` and `-` (ngx_http_parse_request_line). Methods
 * are case-sensitive (RFC 9110 §9.1) and none is lowercase, so `get` is not GET: refused with 400
 * rather than sent upstream, where it would fail and count against an instance for a client's fault.
 */
const METHOD = /^[A-Z_-]+$/;
/** What the gateway does proxy, for the Allow field of a 405. */
const ALLOWED_METHODS = "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS";

// A DNS name (labels of letters, digits, `-`, `_`; an optional trailing dot), an IPv4 literal, or a bracketed IPv6 literal; then an optional port.
const AUTHORITY = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?$/;

/** Whether a Host field value is `host[:port]` with a port of 1–65535. */
export function isAuthority(host: string): boolean {
  const match = AUTHORITY.exec(host);
  if (!match) return false;
  const port = match[1];
  return port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
}

/** The request's routing URL, or the answer that refuses it. */
export type Target = { ok: true; url: URL } | { ok: false; response: Response };

/**
 * Checks `request`'s method, Host and path.
 * @returns the URL to route and forward (path normalised), or a 405 (CONNECT, TRACE) or 400
 *   (`bad_request`: a method that is not uppercase, a Host that is not an authority, an
 *   unparsable URL, an encoded slash).
 */
export function requestTarget(request: Request): Target {
  if (!METHOD.test(request.method)) {
    return {
      ok: false,
      response: errorResponse("bad_request", "the method must be uppercase letters, `_` or `-` (methods are case-sensitive)"),
    };
  }
  if (REFUSED_METHODS.has(request.method)) {
    const response = errorResponse("method_not_allowed", `the gateway does not proxy ${request.method}`);
    response.headers.set("allow", ALLOWED_METHODS);
    return { ok: false, response };
  }
  const host = request.headers.get("host");
  if (host !== null && !isAuthority(host)) {
    return { ok: false, response: errorResponse("bad_request", "the Host field must be host[:port] (RFC 9110 §7.2)") };
  }
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return { ok: false, response: errorResponse("bad_request", "the request target is not a valid URL") };
  }
  const normal = normalizePathname(url.pathname);
  if (!normal.ok) return { ok: false, response: errorResponse("bad_request", normal.reason) };
  if (normal.path !== url.pathname) url.pathname = normal.path;
  return { ok: true, url };
}
