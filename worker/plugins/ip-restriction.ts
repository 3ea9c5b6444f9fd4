/**
 * APISIX ip-restriction (apisix/plugins/ip-restriction/init.lua) on `request.ip` (the
 * trusted-proxy client address, c.attributes.clientIp()): an address in `deny` → 403; otherwise,
 * when `allow` is non-empty, an address outside it → 403 `{"error":"forbidden","message":
 * config.message}`. APISIX takes one list or the other; Sluice allows both, deny first. A client
 * address that is unknown or not an address passes a deny-only list (nothing to deny) and is
 * refused by an allow list (it is not in it). Prefixes are parsed once per snapshot
 * (wasm/ip-text.ts); an IPv4 prefix never matches an IPv6 address and vice versa
 * (IPv4-mapped clients are reported as IPv4 by worker/client-ip.ts).
 */
import { type IpAddress, type IpPrefix, parseIpText, parsePrefixText, prefixContains } from "../../wasm/ip-text.ts";
import type { IpRestrictionPlugin } from "../../wasm/plugins-section.ts";
import { type AccessPlugin, pluginResponse } from "./context.ts";

/**
 * Canonical CIDR texts → prefixes.
 * @throws Error naming the entry that is not an address or CIDR (control checks them at admission).
 */
export function parsePrefixList(texts: readonly string[]): IpPrefix[] {
  return texts.map((text) => {
    const prefix = parsePrefixText(text);
    if (!prefix) throw new Error(`ip-restriction: "${text}" is not an IP address or CIDR`);
    return prefix;
  });
}

/** Whether `address` lies in one of `prefixes`. */
function inAny(prefixes: readonly IpPrefix[], address: IpAddress): boolean {
  for (const prefix of prefixes) if (prefixContains(prefix, address)) return true;
  return false;
}

/** Whether the client address `ip` (text, or undefined when unknown) may pass. */
export function ipAllowed(allow: readonly IpPrefix[], deny: readonly IpPrefix[], ip: string | undefined): boolean {
  const address = ip === undefined ? undefined : parseIpText(ip);
  if (address && inAny(deny, address)) return false;
  if (allow.length === 0) return true;
  return address !== undefined && inAny(allow, address);
}

/** Builds a route's ip-restriction. @throws Error when a list entry is not a CIDR (see parsePrefixList). */
export function createIpRestriction(config: IpRestrictionPlugin): AccessPlugin {
  const allow = parsePrefixList(config.allow);
  const deny = parsePrefixList(config.deny);
  return {
    access(c) {
      return ipAllowed(allow, deny, c.attributes.clientIp()) ? null : pluginResponse(403, "forbidden", config.message);
    },
  };
}
