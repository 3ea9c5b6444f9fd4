/**
 * IP address text → 16 bytes, for `cidr(…).contains(ip)`, with Go net/netip's syntax (no
 * zones): IPv4 as four decimal octets without leading zeros; IPv6 as RFC 4291 text with at most
 * one `::` and an optional trailing dotted quad. The reference is wasm/ip-text.ts parseIpText;
 * the two must agree on every string (test/wasm/assembly/functions.test.ts).
 */

@inline function isDigit(c: u32): bool {
  return c - 0x30 < 10;
}

@inline function hexValue(c: u32): i32 {
  if (c - 0x30 < 10) return <i32>(c - 0x30);
  const l = c | 0x20;
  if (l - 0x61 < 6) return <i32>(l - 0x61 + 10);
  return -1;
}

/** Parses exactly the `n` bytes at `p` as a dotted quad into 4 bytes at `out`. */
function parseIpv4(p: usize, n: usize, out: usize): bool {
  let i: usize = 0;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (i >= n || load<u8>(p + i) != 0x2e) return false;
      i++;
    }
    const start = i;
    let v: u32 = 0;
    while (i < n && isDigit(load<u8>(p + i)) && i - start < 3) {
      v = v * 10 + (<u32>load<u8>(p + i) - 0x30);
      i++;
    }
    const digits = i - start;
    if (digits == 0 || v > 255 || (digits > 1 && load<u8>(p + start) == 0x30)) return false;
    if (i < n && isDigit(load<u8>(p + i))) return false; // a fourth digit
    store<u8>(out + part, <u8>v);
  }
  return i == n;
}

/**
 * Parses `n` bytes at `p`; writes 16 bytes at `out` (IPv4 in the first 4).
 * @returns 4 or 6, or 0 when the text is not an address.
 */
export function parseIp(p: usize, n: usize, out: usize): u32 {
  memory.fill(out, 0, 16);
  let colon = false;
  for (let i: usize = 0; i < n; i++) {
    if (load<u8>(p + i) == 0x3a) {
      colon = true;
      break;
    }
  }
  if (!colon) return parseIpv4(p, n, out) ? 4 : 0;

  // Groups as big-endian u16 at out + 2k; the part after `::` is moved to the end afterwards.
  let groups: u32 = 0;
  let ellipsis: i32 = -1;
  let i: usize = 0;
  if (n >= 2 && load<u8>(p) == 0x3a && load<u8>(p + 1) == 0x3a) {
    ellipsis = 0;
    i = 2;
  }
  while (i < n) {
    const start = i;
    let v: u32 = 0;
    let digits: u32 = 0;
    while (i < n) {
      const h = hexValue(load<u8>(p + i));
      if (h < 0) break;
      v = (v << 4) | <u32>h;
      digits++;
      i++;
      if (digits > 4) return 0;
    }
    if (digits == 0) return 0;
    if (i < n && load<u8>(p + i) == 0x2e) {
      // A trailing dotted quad: two groups, and the end of the text.
      if (groups > 6 || !parseIpv4(p + start, n - start, out + (groups << 1))) return 0;
      groups += 2;
      i = n;
      break;
    }
    store<u8>(out + (groups << 1), <u8>(v >> 8));
    store<u8>(out + (groups << 1) + 1, <u8>v);
    groups++;
    if (i == n) break;
    if (load<u8>(p + i) != 0x3a) return 0;
    i++;
    if (i < n && load<u8>(p + i) == 0x3a) {
      if (ellipsis >= 0) return 0;
      ellipsis = <i32>groups;
      i++;
    } else if (i == n) return 0; // a trailing single ':'
    if (groups == 8 && i < n) return 0;
  }
  if (ellipsis < 0) return groups == 8 ? 6 : 0;
  if (groups > 7) return 0;
  // Move groups [ellipsis, groups) to the end and zero the gap.
  const tail = (groups - <u32>ellipsis) << 1;
  const from = out + (<usize>ellipsis << 1);
  const to = out + 16 - tail;
  memory.copy(to, from, tail);
  memory.fill(from, 0, to - from);
  return 6;
}

/** Whether the address (`family`, 16 bytes at `ip`) lies in the CIDR data object at `cidr`. */
export function cidrContains(cidr: usize, family: u32, ip: usize): bool {
  if (<u32>load<u8>(cidr, 4) != family) return false;
  const prefix = <u32>load<u8>(cidr, 5);
  const net = cidr + 8;
  const full = prefix >> 3;
  for (let k: u32 = 0; k < full; k++) if (load<u8>(net + k) != load<u8>(ip + k)) return false;
  const rest = prefix & 7;
  if (rest == 0) return true;
  const mask = <u32>(0xff00 >> rest) & 0xff;
  return (<u32>load<u8>(ip + full) & mask) == <u32>load<u8>(net + full);
}
