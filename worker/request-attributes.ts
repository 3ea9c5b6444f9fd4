/**
 * Reads a request's routing attributes by source (Oceanus' passways query, header, cookie and
 * body, plus the client address, Cloudflare's request fields and the authenticated consumer),
 * parsing the query string, the Cookie header, the client-address rule and the body at most once
 * per request and only when a policy of the matched route reads from them.
 */
import { type DecideRequest, Source } from "../wasm/host.ts";
import { type BodyLookup, bodyLookup } from "./body-attributes.ts";
import { type ClientIpRule, clientIp, connectionPeer } from "./client-ip.ts";

/** The Cloudflare request fields conditions may read (`request.cf.*`). */
interface CfFields {
  country?: string;
  colo?: string;
  asn?: number;
  /** Self-hosted workerd: the connection's peer, `ip:port`. */
  clientIp?: string;
}

/**
 * Who the request is, as conditions read it (`request.consumer.name`, `request.consumer.labels.NAME`):
 * the APISIX consumer an auth plugin recognised (wasm/plugins-section.ts ConsumerEntry fits).
 */
export interface RequestConsumer {
  name: string;
  labels: Record<string, string>;
}

/** Consumer attribute names (Source.CONSUMER) that read a label: `labels.NAME`. */
const LABEL_PREFIX = "labels.";

/** One request as the hot path sees it (wasm/host.ts DecideRequest), attributes parsed lazily. */
export class RequestAttributes implements DecideRequest {
  readonly host: string;
  readonly path: string;
  readonly method: string;
  /**
   * The consumer an auth plugin (key-auth, jwt-auth) recognised, set before the route's policies
   * run; null (the default) when the request is not authenticated: `request.consumer.*` absent.
   */
  consumer: RequestConsumer | null = null;
  private query: URLSearchParams | undefined;
  private cookies: Map<string, string> | undefined;
  private body: BodyLookup | undefined;
  /** Cached: undefined before the first read, null when unknown. */
  private ip: string | null | undefined;
  private peerIp: string | null | undefined;
  private readonly url: URL;
  private readonly headers: Headers;
  private readonly cf: CfFields | undefined;
  private readonly rule: ClientIpRule;
  private readonly laneHeader: string;
  private readonly cellHeader: string;

  /**
   * @param url the parsed request URL: routing uses its hostname and its normalised pathname.
   * @param cf the request's `cf` object (Cloudflare; self-hosted workerd has only clientIp).
   * @param laneHeader, cellHeader lowercase names of the headers carrying the OCTO swimlane tag and
   *   SET cell (read only when the snapshot has lanes / cells: wasm/host.ts).
   */
  constructor(
    url: URL,
    method: string,
    headers: Headers,
    cf: unknown,
    rule: ClientIpRule,
    laneHeader = "sluice-lane",
    cellHeader = "sluice-cell",
  ) {
    this.url = url;
    this.host = url.hostname;
    this.path = url.pathname;
    this.method = method;
    this.headers = headers;
    this.cf = cf as CfFields | undefined;
    this.rule = rule;
    this.laneHeader = laneHeader;
    this.cellHeader = cellHeader;
  }

  /** The swimlane tag the request carries, or undefined (the main lane). */
  get lane(): string | undefined {
    return this.headers.get(this.laneHeader) ?? undefined;
  }

  /** The SET cell the request belongs to, or undefined. */
  get cell(): string | undefined {
    return this.headers.get(this.cellHeader) ?? undefined;
  }

  /** Makes `body` attributes readable: the body (at most the route's cap) and its Content-Type. */
  setBody(bytes: Uint8Array | null): void {
    this.body = bodyLookup(bytes, this.headers.get("content-type"));
  }

  /** The connection's peer address (worker/client-ip.ts connectionPeer), canonical text: what X-Forwarded-For gets appended. */
  peer(): string | undefined {
    if (this.peerIp === undefined) this.peerIp = connectionPeer(this.headers, this.cf) ?? null;
    return this.peerIp ?? undefined;
  }

  /** The client address under the trusted-proxy rule (worker/client-ip.ts), canonical text. */
  clientIp(): string | undefined {
    // No trusted proxy: the client is the peer, already canonical text (parsing and formatting it
    // again, as clientIp does, gives the same text for µs per request).
    if (this.ip === undefined) {
      this.ip = (this.rule.trusted.length === 0 ? this.peer() : clientIp(this.rule, this.headers, this.peer())) ?? null;
    }
    return this.ip ?? undefined;
  }

  /**
   * The value of `name` read from `source`, or undefined when the request has none.
   * Repeated query parameters / headers: the first query value; headers joined by ", " (Fetch).
   * Body: undefined until setBody(), and when the body has no such value.
   */
  attribute(source: number, name: string): string | undefined {
    switch (source) {
      case Source.QUERY:
        this.query ??= this.url.searchParams;
        return this.query.get(name) ?? undefined;
      case Source.HEADER:
        return this.headers.get(name) ?? undefined;
      case Source.COOKIE:
        this.cookies ??= parseCookies(this.headers.get("cookie"));
        return this.cookies.get(name);
      case Source.BODY:
        return this.body?.(name);
      case Source.CLIENT:
        return this.clientIp();
      case Source.CF: {
        const v = this.cf?.[name as "country" | "colo" | "asn"];
        return v === undefined || v === null ? undefined : String(v);
      }
      case Source.CONSUMER:
        return consumerAttribute(this.consumer, name);
      default:
        return undefined;
    }
  }
}

/**
 * Consumer attribute `name` of `consumer`: `name` → its name, `labels.X` → its label X; undefined
 * when there is no consumer, no such label, or the name is neither.
 */
export function consumerAttribute(consumer: RequestConsumer | null, name: string): string | undefined {
  if (consumer === null) return undefined;
  if (name === "name") return consumer.name;
  if (!name.startsWith(LABEL_PREFIX)) return undefined;
  const label = name.slice(LABEL_PREFIX.length);
  return Object.hasOwn(consumer.labels, label) ? consumer.labels[label] : undefined;
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
