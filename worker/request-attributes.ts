/**
 * Reads a request's routing attributes by passway (Oceanus: query, header, cookie, body), parsing
 * the query string and the Cookie header at most once per request and only when a policy of the
 * snapshot reads from them.
 */
import type { DecideRequest } from "../wasm/host.ts";

/** Passway codes as in docs/snapshot-format.md (ATTRIBUTES.passway). */
export const PASSWAY = { query: 0, header: 1, cookie: 2, body: 3 } as const;

/** One request as the hot path sees it (wasm/host.ts DecideRequest), attributes parsed lazily. */
export class RequestAttributes implements DecideRequest {
  readonly host: string;
  readonly path: string;
  readonly method: string;
  private query: URLSearchParams | undefined;
  private cookies: Map<string, string> | undefined;
  private readonly url: URL;
  private readonly headers: Headers;

  /** @param url the parsed request URL: routing uses its hostname and its normalised pathname. */
  constructor(url: URL, method: string, headers: Headers) {
    this.url = url;
    this.host = url.hostname;
    this.path = url.pathname;
    this.method = method;
    this.headers = headers;
  }

  /**
   * The value of `name` read from `passway`, or undefined when the request has none.
   * Repeated query parameters / headers: the first query value; headers joined by ", " (Fetch).
   * Body (passway 3) is not read by this version of the gateway: the key is absent.
   */
  attribute(passway: number, name: string): string | undefined {
    switch (passway) {
      case PASSWAY.query:
        this.query ??= this.url.searchParams;
        return this.query.get(name) ?? undefined;
      case PASSWAY.header:
        return this.headers.get(name) ?? undefined;
      case PASSWAY.cookie:
        this.cookies ??= parseCookies(this.headers.get("cookie"));
        return this.cookies.get(name);
      default:
        return undefined;
    }
  }
}

/** RFC 6265 §5.4 `Cookie` header → first value per name; quoted values are unquoted. */
export function parseCookies(header: string | null): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const pair of header.split(";")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (name && !out.has(name)) out.set(name, value);
  }
  return out;
}
