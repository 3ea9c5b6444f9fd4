/**
 * Sluice's `cidr("10.0.0.0/8").contains(ip)`: IP prefixes for conditions. The prefix is a
 * constant parsed here in control (validated by ipaddr.js and by parseIpText's stricter rules)
 * into the IR's Cidr (wasm/cel/cidr.ts, which also holds the run-time containment test); the
 * address is a request value parsed at run time by the VM (wasm/assembly/ip.ts) and, in the
 * reference evaluator, by parseIpText (wasm/ip-text.ts, shared with the gateway's client-address
 * rule), which the VM's parser must agree with.
 *
 * Semantics are Go's net/netip (as Kubernetes' CEL `cidr().containsIP()`): IPv4 is four decimal
 * octets without leading zeros; IPv6 is RFC 4291 text (`::` at most once, an optional trailing
 * dotted quad), no zone; an IPv4 address never matches an IPv6 prefix and an IPv4-mapped IPv6
 * address (`::ffff:10.0.0.1`) never matches an IPv4 prefix. Host bits of the prefix are ignored
 * (`10.1.2.3/8` is `10.0.0.0/8`). A value that is not an address makes `contains` an error.
 */
import ipaddr from "ipaddr.js";
import type { Cidr } from "../../wasm/cel/cidr.ts";
import { parseIpText } from "../../wasm/ip-text.ts";

const PREFIX_LENGTH = /^(?:0|[1-9][0-9]{0,2})$/;

/**
 * Parses a cidr() constant.
 * @returns the prefix, or the reason it is refused (for the admission error).
 */
export function parseCidrConstant(text: string): Cidr | string {
  const slash = text.indexOf("/");
  if (slash < 0) return `cidr("${text}") needs a prefix length, e.g. "10.0.0.0/8"`;
  const address = parseIpText(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (!address) return `cidr("${text}") is not an IPv4 or IPv6 prefix`;
  const prefix = Number(lengthText);
  if (!PREFIX_LENGTH.test(lengthText) || prefix > (address.family === 4 ? 32 : 128)) {
    return `cidr("${text}") has a prefix length outside 0–${address.family === 4 ? 32 : 128}`;
  }
  if (!ipaddr.isValidCIDR(text)) return `cidr("${text}") is not an IPv4 or IPv6 prefix`;
  // The bytes come from parseIpText: ipaddr.js reads `::1.2.3.4` as IPv4-mapped (::ffff:1.2.3.4).
  const raw = address.bytes;
  const bytes = new Uint8Array(16);
  for (let bit = 0; bit < prefix; bit++) {
    const byte = bit >> 3;
    bytes[byte] = (bytes[byte] as number) | ((raw[byte] as number) & (0x80 >> (bit & 7)));
  }
  return { family: address.family, prefix, bytes, text };
}
