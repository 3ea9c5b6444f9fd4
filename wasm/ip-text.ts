/**
 * IP address text → bytes with Go net/netip's syntax (no zones): IPv4 as four decimal octets
 * without leading zeros; IPv6 as RFC 4291 text with at most one `::` and an optional trailing
 * dotted quad. The JavaScript twin of the VM's parser (wasm/assembly/ip.ts): control's
 * reference evaluator and the gateway's client-address rule (worker/client-ip.ts) use it, and
 * test/wasm/assembly/functions.test.ts holds all three to node:net.
 */

/** An address: IPv4 in bytes 0–3 of 16. */
export interface IpAddress {
  family: 4 | 6;
  bytes: Uint8Array;
}

const IPV4 = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/**
 * Strict text → address, as netip.ParseAddr without zones.
 * @returns undefined when `s` is not an address. Example: parseIpText("::1")?.family === 6.
 */
export function parseIpText(s: string): IpAddress | undefined {
  const bytes = new Uint8Array(16);
  if (IPV4.test(s)) {
    s.split(".").forEach((octet, i) => {
      bytes[i] = Number(octet);
    });
    return { family: 4, bytes };
  }
  if (!s.includes(":") || s.length > 45) return undefined;
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === "") return [];
    const out: number[] = [];
    const parts = half.split(":");
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as string;
      if (i === parts.length - 1 && part.includes(".")) {
        if (!IPV4.test(part)) return undefined;
        const [a, b, c, d] = part.split(".").map(Number) as [number, number, number, number];
        out.push((a << 8) | b, (c << 8) | d);
      } else if (HEX_GROUP.test(part)) out.push(Number.parseInt(part, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0] as string);
  const tail = halves.length === 2 ? groups(halves[1] as string) : [];
  if (!head || !tail) return undefined;
  // An embedded IPv4 may end only the whole address.
  if (halves.length === 2 && (halves[0] as string).includes(".")) return undefined;
  const total = head.length + tail.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const all = [...head, ...new Array(8 - total).fill(0), ...tail];
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return { family: 6, bytes };
}

/** A prefix: the first `prefix` bits of `bytes` (IPv4 in bytes 0–3). */
export interface IpPrefix {
  family: 4 | 6;
  prefix: number;
  bytes: Uint8Array;
}

/**
 * `10.0.0.0/8`, `fd00::/8`, or a bare address (a /32 or /128).
 * @returns undefined when `text` is not one.
 */
export function parsePrefixText(text: string): IpPrefix | undefined {
  const slash = text.indexOf("/");
  const address = parseIpText(slash < 0 ? text : text.slice(0, slash));
  if (!address) return undefined;
  const max = address.family === 4 ? 32 : 128;
  const lengthText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^(?:0|[1-9][0-9]{0,2})$/.test(lengthText) || Number(lengthText) > max) return undefined;
  return { family: address.family, prefix: Number(lengthText), bytes: address.bytes };
}

/** Whether `address` lies in `prefix` (false across families). Host bits of the prefix are ignored. */
export function prefixContains(prefix: IpPrefix, address: IpAddress): boolean {
  if (prefix.family !== address.family) return false;
  const full = prefix.prefix >> 3;
  for (let i = 0; i < full; i++) if (prefix.bytes[i] !== address.bytes[i]) return false;
  const rest = prefix.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff00 >> rest) & 0xff;
  return ((address.bytes[full] as number) & mask) === ((prefix.bytes[full] as number) & mask);
}

/**
 * Canonical text: dotted quad for IPv4 and for IPv4-mapped IPv6 (`::ffff:10.0.0.1` → `10.0.0.1`),
 * RFC 5952 for IPv6 (lowercase, longest zero run of two or more groups as `::`).
 */
/** Whether `address` is an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2). */
export function isV4Mapped(address: IpAddress): boolean {
  const b = address.bytes;
  return address.family === 6 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
}

export function formatIp(address: IpAddress): string {
  const b = address.bytes;
  const mapped = isV4Mapped(address);
  if (address.family === 4 || mapped) return Array.from(b.subarray(mapped ? 12 : 0, mapped ? 16 : 4)).join(".");
  const groups = Array.from({ length: 8 }, (_, i) => ((b[2 * i] as number) << 8) | (b[2 * i + 1] as number));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  return best < 0 ? hex(groups) : `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}
