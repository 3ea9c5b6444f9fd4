/**
 * The run-time half of Sluice's `cidr("10.0.0.0/8").contains(ip)`: the prefix constant as the IR
 * carries it, and whether an address lies in it. control/compiler/cidr.ts parses and validates the
 * constant at admission; the address is a request value parsed at run time by the VM
 * (wasm/assembly/ip.ts) and, in the reference evaluator (evaluate.ts), by parseIpText
 * (wasm/ip-text.ts, shared with the gateway's client-address rule).
 *
 * Semantics are Go's net/netip (as Kubernetes' CEL `cidr().containsIP()`): an IPv4 address never
 * matches an IPv6 prefix and an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) never matches an
 * IPv4 prefix; host bits of the prefix are ignored. Pure.
 */
import { type IpAddress, prefixContains } from "../ip-text.ts";

/** A prefix: the first `prefix` bits of `bytes` (4 bytes used for IPv4, 16 for IPv6), the rest zero. */
export interface Cidr {
  family: 4 | 6;
  prefix: number;
  /** 16 bytes; IPv4 in bytes 0–3. */
  bytes: Uint8Array;
  /** The source text, for error messages and the bytecode listing. */
  text: string;
}

/** Whether `address` lies in `cidr` (false across families). */
export function cidrContainsAddress(cidr: Cidr, address: IpAddress): boolean {
  return prefixContains(cidr, address);
}
