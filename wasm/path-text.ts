/**
 * The one definition of the path a request is routed by, shared by the gateway (each request,
 * worker/gateway.ts) and control (route paths at admission, control/api/fields.ts), so a route
 * can only be written in the form requests are matched in. As Envoy's `normalize_path` (RFC 3986
 * §6.2.2) with `path_with_escaped_slashes_action: REJECT_REQUEST`:
 * - dot segments are removed (`/a/../b`, `/%2e%2e/x` → `/b`, `/x`: WHATWG URL parsing does this,
 *   and the forwarded URL is the same one);
 * - percent-encoded unreserved characters (ALPHA, DIGIT, `-` `.` `_` `~`) are decoded, so
 *   `/%61dmin` is routed — and forwarded — as `/admin`, the path most upstreams would read;
 * - other percent-encodings keep their meaning, written with uppercase hex (`%c3%a9` → `%C3%A9`);
 * - an encoded slash or backslash (`%2F`, `%5C`) is refused: routes match segments, and an
 *   upstream that decodes it would see a path no route was written for.
 * Pure: text in, text out.
 */

/** A normalised path, or why the path cannot be routed. */
export type NormalPath = { ok: true; path: string } | { ok: false; reason: string };

const UNRESERVED = /[A-Za-z0-9\-._~]/;
const PERCENT = /%([0-9A-Fa-f]{2})/g;
const ENCODED_SLASH = /%(2f|5c)/i;

/**
 * Normalises a URL's pathname (already parsed by WHATWG URL: dot segments resolved, characters
 * outside the path set percent-encoded).
 * @example normalizePathname("/%61dmin/x%c3%a9") // → { ok: true, path: "/admin/x%C3%A9" }
 *          normalizePathname("/a%2Fb")           // → { ok: false, reason: "…encoded slash…" }
 */
export function normalizePathname(pathname: string): NormalPath {
  if (ENCODED_SLASH.test(pathname)) {
    return { ok: false, reason: "the path contains an encoded slash or backslash (%2F, %5C)" };
  }
  if (!pathname.includes("%")) return { ok: true, path: pathname };
  return {
    ok: true,
    path: pathname.replace(PERCENT, (encoded, hex: string) => {
      const char = String.fromCharCode(Number.parseInt(hex, 16));
      return UNRESERVED.test(char) ? char : encoded.toUpperCase();
    }),
  };
}

/**
 * The form a route path must be written in: `path` parsed as a request's would be, then
 * normalised. @returns null when `path` is already in that form, else the reason it is not
 * (naming the normal form when there is one).
 * @example routePathProblem("/a/../b") // → 'must be written as "/b" (…)'
 *          routePathProblem("/a\\b")   // → 'must be written as "/a/b" (…)'
 */
export function routePathProblem(path: string): string | null {
  // Appended to an origin, as a request line's path is: resolved against a base instead, `//x/a`
  // would be host `x` with path `/a`, and `/\` (read as `//`) a URL without a host, which throws.
  const parsed = new URL(`http://route.invalid${path}`).pathname;
  const normal = normalizePathname(parsed);
  if (!normal.ok) return `must not contain an encoded slash or backslash (%2F, %5C): requests with one are refused`;
  if (normal.path === path) return null;
  return `must be written as "${normal.path}", the form requests are routed in (dot segments removed, %-encoded letters, digits and -._~ decoded, other %-escapes in uppercase hex, non-ASCII %-encoded)`;
}
