/**
 * Route lookup ("HOST_TABLE and HOSTS" in docs/snapshot-format.md): the request host is looked up
 * in the open-addressing HOST_TABLE, falling back APISIX-style through wildcard hosts to `*`; the
 * first host whose routes match the path wins, and within a host the first route in order
 * (exact routes first, then prefixes longest first: nginx's choice).
 */
import { bytesEqual, FNV_OFFSET, fnvByte, fnvBytes } from "./bytes";
import {
  HOST_BYTES,
  HOST_FIRST_ROUTE,
  HOST_NAME,
  HOST_ROUTE_COUNT,
  MATCH_EXACT,
  ROUTE_BYTES,
  ROUTE_MATCH,
  ROUTE_PATH,
  S_HOST_TABLE,
  S_HOSTS,
  S_ROUTES,
} from "./format";
import { FIELD_HOST, FIELD_PATH, requestField, stringAddr, stringLen } from "./frame";
import { ACTIVE, activeBase, sectionAddr, sectionCount, V_WILDCARD_SUFFIX } from "./view";

const STAR: u32 = 0x2a; // '*'
const DOT: u8 = 0x2e; // '.'

/**
 * HOSTS index of the host named `name` (`len` bytes at `name`), or of `*` + name when
 * `wildcard`; -1 when absent. `hash` is the name's FNV-1a (with the star when `wildcard`).
 * Probes at most every slot once (validation guarantees an empty slot, this guards anyway).
 */
function lookupHost(hash: u32, wildcard: bool, name: usize, len: usize): i32 {
  const table = sectionAddr(ACTIVE, S_HOST_TABLE);
  const slots = sectionCount(ACTIVE, S_HOST_TABLE);
  const hosts = sectionAddr(ACTIVE, S_HOSTS);
  const base = activeBase();
  const mask = slots - 1;
  const want = wildcard ? len + 1 : len;
  let s = hash & mask;
  for (let probes: u32 = 0; probes < slots; probes++) {
    const v = load<u32>(table + ((<usize>s) << 2));
    if (v == 0) return -1;
    const r = hosts + (v - 1) * HOST_BYTES;
    if (<usize>load<u32>(r + HOST_NAME, 4) == want) {
      const stored = base + <usize>load<u32>(r + HOST_NAME);
      if (wildcard ? load<u8>(stored) == STAR && bytesEqual(stored + 1, name, len) : bytesEqual(stored, name, len)) {
        return <i32>(v - 1);
      }
    }
    s = (s + 1) & mask;
  }
  return -1;
}

/** ROUTES index of the first of host `host`'s routes matching the path, or -1. */
function matchRoutes(host: i32, path: usize, pathLen: usize): i32 {
  if (host < 0) return -1;
  const h = sectionAddr(ACTIVE, S_HOSTS) + <usize>host * HOST_BYTES;
  const first = load<u32>(h + HOST_FIRST_ROUTE);
  const count = load<u32>(h + HOST_ROUTE_COUNT);
  const routes = sectionAddr(ACTIVE, S_ROUTES);
  const base = activeBase();
  for (let i: u32 = 0; i < count; i++) {
    const r = routes + (first + i) * ROUTE_BYTES;
    const len = <usize>load<u32>(r + ROUTE_PATH, 4);
    const exact = load<u8>(r + ROUTE_MATCH) == MATCH_EXACT;
    if (exact ? len != pathLen : len > pathLen) continue;
    if (bytesEqual(base + <usize>load<u32>(r + ROUTE_PATH), path, len)) return <i32>(first + i);
  }
  return -1;
}

/**
 * ROUTES index for the request in the frame, or -1. For host `a.b.example.com` tries
 * `a.b.example.com`, `*.b.example.com`, `*.example.com`, `*.com`, then `*`. Suffixes longer
 * than the snapshot's longest wildcard are skipped, so a hostile host of many labels costs
 * O(longest wildcard²), not O(host length²).
 */
export function findRoute(): i32 {
  const host = requestField(FIELD_HOST);
  const path = requestField(FIELD_PATH);
  const hp = stringAddr(host);
  const hl = stringLen(host);
  const pp = stringAddr(path);
  const pl = stringLen(path);

  let route = matchRoutes(lookupHost(fnvBytes(FNV_OFFSET, hp, hl), false, hp, hl), pp, pl);
  if (route >= 0) return route;

  const longest = <usize>load<u32>(ACTIVE + V_WILDCARD_SUFFIX);
  if (longest > 0) {
    const starHash = fnvByte(FNV_OFFSET, STAR);
    for (let i: usize = hl > longest ? hl - longest : 0; i < hl; i++) {
      if (load<u8>(hp + i) != DOT) continue;
      const suffix = hp + i;
      const suffixLen = hl - i;
      route = matchRoutes(lookupHost(fnvBytes(starHash, suffix, suffixLen), true, suffix, suffixLen), pp, pl);
      if (route >= 0) return route;
    }
  }
  return matchRoutes(lookupHost(fnvByte(FNV_OFFSET, STAR), true, 0, 0), pp, pl);
}
