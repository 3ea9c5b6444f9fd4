/**
 * The path and query sent upstream, as proxy-rewrite edits them (APISIX proxy-rewrite.lua's
 * rewrite phase): prefix stripping, the text of a rewritten path made safe for a request line,
 * the client's query carried over, and query parameters removed or added. Pure string work.
 */

/** Characters a path may hold as they are (RFC 3986 pchar, `/`, and `%` of existing escapes). */
const PATH_SAFE = /[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/gu;
/** Characters a query may hold as they are (the path's, `?`; `#` and controls never). */
const QUERY_SAFE = /[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%]/gu;

/** One code point percent-encoded as UTF-8 (a lone surrogate as U+FFFD, as the URL parser does). */
function encodeCodePoint(ch: string): string {
  try {
    return encodeURIComponent(ch);
  } catch {
    return "%EF%BF%BD";
  }
}

/** Percent-encodes what `unsafe` matches, code point by code point. */
const encodeMatches = (text: string, unsafe: RegExp): string => text.replace(unsafe, encodeCodePoint);

/** A query name or value percent-encoded (RFC 3986 unreserved characters kept; never throws). */
const encodeComponent = (text: string): string => text.replace(/[^A-Za-z0-9\-._~]/gu, encodeCodePoint);

/**
 * `path` without `prefix`, on a segment boundary (APISIX-style stripping): `/api/x` with `/api`
 * → `/x`; `/api` → `/`; `/apix` is left as it is (`/api` is not one of its segments).
 * A prefix ending in `/` strips up to that slash: `/api/x` with `/api/` → `/x`.
 */
export function stripPathPrefix(path: string, prefix: string): string {
  if (prefix === "" || prefix === "/") return path;
  const bare = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  if (path === bare) return "/";
  if (path.startsWith(`${bare}/`)) return path.slice(bare.length);
  return path;
}

/**
 * A rewritten target (a rendered `uri`, or a path with a regex replacement) → `path` and the
 * query it names (`null` when it has no `?`). What a request line cannot carry is
 * percent-encoded: spaces, controls, non-ASCII, and `#` (which would cut the URL); a path that
 * does not start with `/` gets one.
 * @example splitTarget("/v2/a b?x=1#") // → { path: "/v2/a%20b", query: "x=1%23" }
 */
export function splitTarget(text: string): { path: string; query: string | null } {
  const mark = text.indexOf("?");
  const rawPath = mark < 0 ? text : text.slice(0, mark);
  const path = encodeMatches(rawPath.startsWith("/") ? rawPath : `/${rawPath}`, PATH_SAFE);
  return { path, query: mark < 0 ? null : encodeMatches(text.slice(mark + 1), QUERY_SAFE) };
}

/**
 * The query sent upstream when the path is rewritten: the rewrite's own query followed by the
 * client's (`&`-joined), or the client's alone — APISIX appends `$args` to a rewritten uri.
 * @param own the rewritten target's query (null: it had no `?`).
 * @param client the client's query string without `?` ("" when none).
 */
export function mergeQuery(own: string | null, client: string): string {
  if (own === null || own === "") return client;
  return client === "" ? own : `${own}&${client}`;
}

/** A query parameter's name as URLSearchParams reads it (`+` is a space; a bad escape stays as written). */
function decodedName(pair: string): string {
  const eq = pair.indexOf("=");
  const raw = (eq < 0 ? pair : pair.slice(0, eq)).replaceAll("+", " ");
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * `query` (without `?`) with every parameter named in `remove` taken out, then `add`'s
 * parameters appended (`name=value`, percent-encoded): removing and adding one name replaces it.
 * The other parameters are kept byte for byte.
 * @example editQuery("a=1&apikey=s&b=2", ["apikey"], [["v", "x y"]]) // → "a=1&b=2&v=x%20y"
 */
export function editQuery(query: string, remove: readonly string[], add: readonly (readonly [string, string])[]): string {
  let pairs = query === "" ? [] : query.split("&");
  if (remove.length > 0) pairs = pairs.filter((pair) => pair !== "" && !remove.includes(decodedName(pair)));
  for (const [name, value] of add) pairs.push(`${encodeComponent(name)}=${encodeComponent(value)}`);
  return pairs.join("&");
}

/** `path` and `query` as a request target: `/p?q`, or `/p` when the query is empty. */
export function joinTarget(path: string, query: string): string {
  return query === "" ? path : `${path}?${query}`;
}

/** Splits a request target `/p?q` into path and query (without `?`; "" when none). */
export function splitRequestTarget(target: string): { path: string; query: string } {
  const mark = target.indexOf("?");
  return mark < 0 ? { path: target, query: "" } : { path: target.slice(0, mark), query: target.slice(mark + 1) };
}
