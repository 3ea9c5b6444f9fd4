/**
 * What the auth plugins change in the request sent upstream (worker/plugins/context.ts
 * UpstreamEdit): APISIX's `X-Consumer-Username` (a client-sent one is always removed, so it cannot
 * be spoofed on an authenticated route) and hide_credentials (the credential's header, query
 * parameter or cookie removed). Pure helpers plus the edits they register on the context.
 */
import type { PluginContext, UpstreamEdit } from "../context.ts";

/** The header naming the authenticated consumer to the upstream (APISIX). */
export const CONSUMER_HEADER = "x-consumer-username";

/** The context's upstream edit, created on first use. */
export function upstreamEdit(c: PluginContext): UpstreamEdit {
  c.upstream ??= { pathAndQuery: null, headers: [] };
  return c.upstream;
}

/**
 * Registers the X-Consumer-Username edit: the client's is removed and, when a plugin has set
 * `c.consumer` by the time the request is sent, the consumer's name is set (read at send time, so
 * two auth plugins on one route agree, and a later proxy-rewrite `remove` still wins).
 */
export function forwardConsumerName(c: PluginContext): void {
  upstreamEdit(c).headers.push((headers) => {
    headers.delete(CONSUMER_HEADER);
    if (c.consumer) headers.set(CONSUMER_HEADER, c.consumer.name);
  });
}

/** An upstream header edit removing `name` (built once per plugin; hide_credentials). */
export function headerRemover(name: string): (headers: Headers) => void {
  return (headers) => headers.delete(name);
}

/** Removes query parameter `name` from what is sent upstream (after any earlier plugin's path edit). */
export function hideQueryParameter(c: PluginContext, name: string): void {
  const edit = upstreamEdit(c);
  edit.pathAndQuery = withoutQueryParameter(edit.pathAndQuery ?? `${c.url.pathname}${c.url.search}`, name);
}

/**
 * `pathAndQuery` without every `name=…` pair (names compared decoded, as URLSearchParams reads
 * them); the other pairs are kept byte for byte, and `?` goes when no pair is left.
 * Example: ("/a?apikey=k&x=%20", "apikey") → "/a?x=%20".
 */
export function withoutQueryParameter(pathAndQuery: string, name: string): string {
  const q = pathAndQuery.indexOf("?");
  if (q < 0) return pathAndQuery;
  const kept = pathAndQuery
    .slice(q + 1)
    .split("&")
    .filter((pair) => {
      const eq = pair.indexOf("=");
      return decodeComponent(eq < 0 ? pair : pair.slice(0, eq)) !== name;
    });
  const path = pathAndQuery.slice(0, q);
  return kept.length === 0 ? path : `${path}?${kept.join("&")}`;
}

/** Form-urlencoded component → text; malformed escapes are kept as they are. */
function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll("+", " "));
  } catch {
    return text;
  }
}

/**
 * A Cookie header without cookie `name` (other cookies kept as sent, joined by "; "), or null
 * when none is left. Example: ("a=1; jwt=x; b=2", "jwt") → "a=1; b=2".
 */
export function withoutCookie(cookieHeader: string, name: string): string | null {
  const kept = cookieHeader
    .split(";")
    .map((pair) => pair.trim())
    .filter((pair) => pair !== "" && pair.slice(0, pair.indexOf("=") < 0 ? pair.length : pair.indexOf("=")).trim() !== name);
  return kept.length === 0 ? null : kept.join("; ");
}

/** An upstream header edit removing cookie `name` from the Cookie header (hide_credentials). */
export function cookieRemover(name: string): (headers: Headers) => void {
  return (headers) => {
    const cookie = headers.get("cookie");
    if (cookie === null) return;
    const rest = withoutCookie(cookie, name);
    if (rest === null) headers.delete("cookie");
    else headers.set("cookie", rest);
  };
}
