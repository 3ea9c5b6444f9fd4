/**
 * `request.ip`: the client address, with a trusted-proxy rule as nginx's realip module
 * (`set_real_ip_from` + `real_ip_recursive on`). The connection's peer (connectionPeer) is
 * `request.cf.clientIp` under self-hosted workerd (`"127.0.0.1:46916"`), or the
 * `CF-Connecting-IP` header on Cloudflare, which sets it at its edge; anywhere else that header
 * is the client's own text and is never believed. When the peer is one of TRUSTED_PROXIES, the
 * forwarded-for header (default X-Forwarded-For) is read right to left, skipping trusted
 * addresses; the first other one is the client (all trusted: the leftmost). Anything that is not
 * an address ends the walk there. IPv4-mapped IPv6 is reported as IPv4; results are canonical
 * text (wasm/ip-text.ts formatIp). Pure: headers and the peer in, text out.
 *
 * Example: TRUSTED_PROXIES "10.0.0.0/8", peer 10.0.0.5, X-Forwarded-For "203.0.113.7, 10.0.0.9"
 * → "203.0.113.7"; the same from peer 198.51.100.1 → "198.51.100.1" (the header is not trusted).
 */
import { formatIp, type IpAddress, type IpPrefix, isV4Mapped, parseIpText, parsePrefixText, prefixContains } from "../wasm/ip-text.ts";

export interface ClientIpRule {
  /** Prefixes of proxies whose forwarded-for entries are believed. */
  trusted: IpPrefix[];
  /** Lowercase name of the header listing forwarded addresses. */
  header: string;
}

/**
 * Parses TRUSTED_PROXIES (comma-separated addresses or CIDRs) and CLIENT_IP_HEADER.
 * @throws Error naming the entry that is not an address or prefix.
 */
export function parseClientIpRule(trustedProxies: string | undefined, header: string | undefined): ClientIpRule {
  const trusted: IpPrefix[] = [];
  for (const raw of (trustedProxies ?? "").split(",")) {
    const entry = raw.trim();
    if (!entry) continue;
    const prefix = parsePrefixText(entry);
    if (!prefix) throw new Error(`TRUSTED_PROXIES: "${entry}" is not an IP address or CIDR prefix`);
    trusted.push(prefix);
  }
  return { trusted, header: (header || "x-forwarded-for").toLowerCase() };
}

/** The peer text `1.2.3.4:5678`, `[::1]:5678` or a bare address → address. */
function parsePeer(text: string | null | undefined): IpAddress | undefined {
  if (!text) return undefined;
  const direct = parseIpText(text);
  if (direct) return direct;
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracket) return parseIpText(bracket[1] as string);
  const colon = text.lastIndexOf(":");
  return colon > 0 && text.indexOf(":") === colon ? parseIpText(text.slice(0, colon)) : undefined;
}

/** Whether `a` (already unmapped) is in one of the trusted prefixes. */
function isTrusted(rule: ClientIpRule, a: IpAddress): boolean {
  return rule.trusted.some((p) => prefixContains(p, a));
}

/** An IPv4-mapped IPv6 address as the IPv4 address it carries; any other address as it is. */
function unmap(a: IpAddress): IpAddress {
  if (!isV4Mapped(a)) return a;
  const v4 = new Uint8Array(16);
  v4.set(a.bytes.subarray(12, 16));
  return { family: 4, bytes: v4 };
}

/**
 * The address of the connection's peer as canonical text, or undefined when the runtime does not
 * say. Self-hosted workerd puts it in `request.cf.clientIp` ("127.0.0.1:46916"). On Cloudflare,
 * whose edge sets `request.cf.colo` (a client cannot forge `request.cf`), the edge's
 * `CF-Connecting-IP` header is the peer. Elsewhere that header is the client's and is ignored.
 * @param cf the request's `cf` object, if any.
 */
export function connectionPeer(headers: Headers, cf: unknown): string | undefined {
  const fields = (cf ?? {}) as { clientIp?: unknown; colo?: unknown };
  const runtimePeer = typeof fields.clientIp === "string" ? fields.clientIp : undefined;
  const edgePeer = typeof fields.colo === "string" ? headers.get("cf-connecting-ip") : undefined;
  const text = runtimePeer ?? edgePeer;
  // Every request asks (X-Forwarded-For); the usual "a.b.c.d:port" is already canonical text.
  const v4 = text ? CANONICAL_V4_PEER.exec(text) : null;
  if (v4) return v4[1];
  const peer = parsePeer(text);
  return peer ? formatIp(unmap(peer)) : undefined;
}

/** A canonical IPv4 address (no leading zeros) and a port: the address is the canonical text as it stands. */
const CANONICAL_V4_PEER =
  /^((?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3})(?::[0-9]{1,5})?$/;

/**
 * @param peer the connection's peer (connectionPeer) or undefined.
 * @returns the client address as canonical text, or undefined when unknown.
 */
export function clientIp(rule: ClientIpRule, headers: Headers, peer: string | null | undefined): string | undefined {
  const base = parsePeer(peer);
  if (!base) return undefined;
  let client = unmap(base);
  if (rule.trusted.length === 0 || !isTrusted(rule, client)) return formatIp(client);
  const forwarded = headers.get(rule.header);
  if (!forwarded) return formatIp(client);
  const entries = forwarded.split(",");
  for (let i = entries.length - 1; i >= 0; i--) {
    const a = parseIpText((entries[i] as string).trim());
    if (!a) break;
    client = unmap(a);
    if (!isTrusted(rule, client)) break;
  }
  return formatIp(client);
}
