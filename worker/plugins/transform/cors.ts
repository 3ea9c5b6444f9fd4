/**
 * APISIX cors (apisix/plugins/cors.lua): a preflight — `OPTIONS` with `Origin` and
 * `Access-Control-Request-Method` — is answered 200 by the gateway; every other answer of the
 * route gets the CORS fields at the response phase (c.responseEdits), replacing the upstream's.
 *
 * As APISIX's header_filter: the fields are Access-Control-Allow-Origin (the origin echoed, or
 * `*` when any origin is allowed without credentials — also for a request without Origin),
 * -Allow-Methods, -Allow-Headers (`*` echoes the request's Access-Control-Request-Headers, APISIX
 * `**`), -Expose-Headers, -Max-Age (−1 omits it), -Allow-Credentials; an origin that is not
 * allowed gets none of them (a preflight is still answered 200, without them). `Vary: Origin` is
 * added whenever the answer depends on the origin. Origin regexes (allowOriginsByRegex) are
 * automata compiled by control and run here in linear time (runDfa); when allowOrigins is `*`,
 * the regexes alone decide, as APISIX's allow_origins_by_regex does; otherwise an origin passes
 * when it is listed or matches a regex.
 */
import type { CorsPlugin } from "../../../wasm/plugins-section.ts";
import { type Dfa, runDfa } from "../../../wasm/reference/search-dfa.ts";
import type { AccessPlugin, PluginContext } from "../context.ts";
import { dfaFromSection } from "../search-dfa.ts";

/** Whether `request` is a CORS preflight (Fetch standard): OPTIONS with Origin and Access-Control-Request-Method. */
export function isPreflight(request: Request): boolean {
  return request.method === "OPTIONS" && request.headers.has("origin") && request.headers.has("access-control-request-method");
}

/**
 * Builds the plugin for one route from its PLUGINS entry (once per snapshot).
 * @throws Error when an origin automaton is corrupt (control never writes one).
 */
export function createCors(config: CorsPlugin): AccessPlugin {
  const regexes: Dfa[] = config.allowOriginsByRegex.map(dfaFromSection);
  const anyOrigin = config.allowOrigins.includes("*") && regexes.length === 0;
  const listed = new Set(config.allowOrigins.filter((o) => o !== "*"));
  // `*` in Allow-Origin only when any origin is allowed without credentials; otherwise the
  // origin is echoed and the answer varies with it.
  const wildcard = anyOrigin && !config.allowCredentials;
  const echoHeaders = config.allowHeaders.includes("*");

  /** The fields that do not depend on the request, in APISIX's order after Allow-Origin. */
  const fixed: [string, string][] = [["access-control-allow-methods", config.allowMethods.join(",")]];
  const allowHeaders = echoHeaders ? null : config.allowHeaders.join(",");
  const tail: [string, string][] = [];
  if (config.exposeHeaders.length > 0) tail.push(["access-control-expose-headers", config.exposeHeaders.join(",")]);
  if (config.maxAgeSeconds >= 0) tail.push(["access-control-max-age", String(config.maxAgeSeconds)]);
  if (config.allowCredentials) tail.push(["access-control-allow-credentials", "true"]);

  /** The Allow-Origin value for `origin`, or null when it is not allowed. */
  const allowedOrigin = (origin: string | null): string | null => {
    if (wildcard) return "*";
    if (origin === null) return null;
    if (anyOrigin || listed.has(origin)) return origin;
    for (const dfa of regexes) if (runDfa(dfa, origin)) return origin;
    return null;
  };

  /** Writes the CORS fields for an allowed origin (`allow`) into `headers`, replacing any. */
  const write = (headers: Headers, allow: string | null, requestHeaders: string | null): void => {
    if (!wildcard) headers.append("vary", "Origin");
    if (allow === null) return;
    headers.set("access-control-allow-origin", allow);
    for (const [name, value] of fixed) headers.set(name, value);
    const allowed = allowHeaders ?? requestHeaders;
    if (allowed !== null) headers.set("access-control-allow-headers", allowed);
    else headers.delete("access-control-allow-headers");
    for (const [name, value] of tail) headers.set(name, value);
  };

  return {
    access(c: PluginContext): Response | null {
      const request = c.request;
      const origin = request.headers.get("origin");
      const allow = allowedOrigin(origin);
      const requestHeaders = echoHeaders ? request.headers.get("access-control-request-headers") : null;
      if (isPreflight(request)) {
        const headers = new Headers();
        write(headers, allow, requestHeaders);
        return new Response(null, { status: 200, headers });
      }
      c.responseEdits.push((headers) => write(headers, allow, requestHeaders));
      return null;
    },
  };
}
