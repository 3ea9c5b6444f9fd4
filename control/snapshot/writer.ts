/**
 * Writes a policy snapshot (docs/snapshot-format.md) from a ConfigModel: groups and instances,
 * hosts and their routes in nginx precedence order, and (compile-routes.ts) the policies
 * compiled into one program per route. Pure and deterministic: the same model gives the same
 * bytes (but for version and builtAtMs), hence the same content hash. seal.ts adds the hash and
 * the signature.
 */
import { compilePolicies, type LowerFn, SnapshotModelError } from "./compile-routes.ts";
import { buildHostTable } from "./host-table.ts";
import {
  BALANCER_CODES,
  DIRECTORY_ENTRY_BYTES,
  FORMAT_VERSION,
  HEADER,
  MAGIC,
  SECTION,
  SECTION_COUNT,
  STATUS_CODES,
  STRINGS_OFFSET,
  TRAILER_BYTES,
} from "./layout.ts";
import type { ConfigModel, GroupConfig, RouteConfig } from "./model.ts";
import { align8, Records, u32Bytes } from "./records.ts";
import { StringPool } from "./string-pool.ts";

export { SnapshotModelError } from "./compile-routes.ts";

export interface WriteOptions {
  /** Monotonic snapshot version. */
  version: bigint;
  /** Unix time in ms. */
  builtAtMs: number;
  /**
   * How conditions are lowered to IR (default: control/compiler lowerCondition, cached). The
   * conformance test substitutes one that binds test variables and turns folding off.
   */
  lower?: LowerFn;
}

type SectionName = keyof typeof SECTION;
const groupKey = (appkey: string, name: string) => `${appkey}\u0000${name}`;

/**
 * Serialises `model` to an unsigned snapshot file: header with a zero content hash, sections,
 * and a zero-filled signature trailer (seal.ts fills both).
 * @throws SnapshotModelError on dangling names; ConditionError on a condition the compiler refuses.
 */
export function writeSnapshot(model: ConfigModel, options: WriteOptions): Uint8Array<ArrayBuffer> {
  const pool = new StringPool(STRINGS_OFFSET);
  const str = (s: string) => pool.intern(s);

  // Groups and their instances, in a stable order.
  const groups = [...model.groups].sort((a, b) => (a.appkey + "\0" + a.name < b.appkey + "\0" + b.name ? -1 : 1));
  const groupIndex = new Map(groups.map((g, i) => [groupKey(g.appkey, g.name), i]));
  const { GROUPS, INSTANCES } = writeGroups(groups, str);
  const resolveGroup = (appkey: string, name: string, what: string) => {
    const gi = groupIndex.get(groupKey(appkey, name));
    if (gi === undefined) throw new SnapshotModelError(`${what}: group '${name}' does not exist in service '${appkey}'`);
    return gi;
  };

  // Routes grouped by host, each host's routes in nginx precedence order.
  const byHost = new Map<string, RouteConfig[]>();
  for (const route of model.routes) {
    const host = route.host.toLowerCase();
    const list = byHost.get(host);
    if (list) list.push(route);
    else byHost.set(host, [route]);
  }
  const hostNames = [...byHost.keys()].sort();
  const routes = hostNames.flatMap((h) => (byHost.get(h) as RouteConfig[]).sort(comparePrecedence));
  const policySections = compilePolicies(model.policies, routes, pool, resolveGroup, options.lower);

  const hostRecords = new Records(hostNames.length, SECTION.HOSTS.record);
  let routeAt = 0;
  hostNames.forEach((h, hi) => {
    const count = (byHost.get(h) as RouteConfig[]).length;
    hostRecords.str(hi * 16, str(h));
    hostRecords.u32(hi * 16 + 8, routeAt);
    hostRecords.u32(hi * 16 + 12, count);
    routeAt += count;
  });
  const encoder = new TextEncoder();
  const hostTable = buildHostTable(hostNames.map((h) => encoder.encode(h)));

  // Layout: STRINGS first at its fixed offset (every string is interned by now), then every
  // other section 8-byte aligned.
  const sections: [SectionName, Uint8Array][] = [
    ["STRINGS", pool.bytes()],
    ["HOST_TABLE", u32Bytes(hostTable)],
    ["HOSTS", hostRecords.bytes],
    ["ROUTES", policySections.ROUTES],
    ["ROUTE_POLICIES", policySections.ROUTE_POLICIES],
    ["POLICIES", policySections.POLICIES],
    ["ROUTE_SLOTS", policySections.ROUTE_SLOTS],
    ["GROUPS", GROUPS],
    ["INSTANCES", INSTANCES],
    ["ATTRIBUTES", policySections.ATTRIBUTES],
    ["CODE", policySections.CODE],
    ["DATA", policySections.DATA],
    ["INTERN", policySections.INTERN],
  ];
  const offsets: number[] = [];
  let at = STRINGS_OFFSET;
  for (const [, bytes] of sections) {
    offsets.push(at);
    at = align8(at + bytes.length);
  }
  const totalLength = at;

  const file = new Uint8Array(totalLength + TRAILER_BYTES);
  const view = new DataView(file.buffer);
  view.setUint32(HEADER.magic, MAGIC, true);
  view.setUint16(HEADER.formatVersion, FORMAT_VERSION, true);
  view.setUint16(HEADER.flags, 0, true);
  view.setBigUint64(HEADER.snapshotVersion, options.version, true);
  view.setUint32(HEADER.totalLength, totalLength, true);
  view.setUint32(HEADER.sectionCount, SECTION_COUNT, true);
  view.setBigUint64(HEADER.builtAtMs, BigInt(Math.floor(options.builtAtMs)), true);
  sections.forEach(([name, bytes], i) => {
    const d = 64 + i * DIRECTORY_ENTRY_BYTES;
    view.setUint32(d, SECTION[name].id, true);
    view.setUint32(d + 4, offsets[i] as number, true);
    view.setUint32(d + 8, bytes.length, true);
    file.set(bytes, offsets[i]);
  });
  return file;
}

/** GROUPS and INSTANCES records; instances by id within their group. */
function writeGroups(groups: GroupConfig[], str: (s: string) => { offset: number; length: number }) {
  const instanceCount = groups.reduce((n, g) => n + g.instances.length, 0);
  const groupRecords = new Records(groups.length, SECTION.GROUPS.record);
  const instanceRecords = new Records(instanceCount, SECTION.INSTANCES.record);
  let instanceAt = 0;
  groups.forEach((g, gi) => {
    const r = gi * SECTION.GROUPS.record;
    groupRecords.u32(r, g.id);
    groupRecords.str(r + 4, str(g.name));
    groupRecords.u8(r + 12, BALANCER_CODES[g.balancer]);
    groupRecords.u32(r + 16, instanceAt);
    groupRecords.u32(r + 20, g.instances.length);
    for (const inst of [...g.instances].sort((a, b) => a.id - b.id)) {
      const o = instanceAt * SECTION.INSTANCES.record;
      instanceRecords.u32(o, inst.id);
      instanceRecords.str(o + 4, str(inst.host));
      instanceRecords.u16(o + 12, inst.port);
      instanceRecords.u8(o + 14, STATUS_CODES[inst.status]);
      instanceRecords.u32(o + 16, inst.weight);
      instanceRecords.str(o + 20, str(inst.zone));
      instanceRecords.str(o + 28, str(inst.lane));
      instanceRecords.str(o + 36, str(inst.version));
      instanceAt += 1;
    }
  });
  return { GROUPS: groupRecords.bytes, INSTANCES: instanceRecords.bytes };
}

/** nginx location precedence within one host: exact first, then prefixes longest first. */
function comparePrecedence(a: RouteConfig, b: RouteConfig): number {
  if (a.match !== b.match) return a.match === "exact" ? -1 : 1;
  if (a.match === "prefix" && a.path.length !== b.path.length) return b.path.length - a.path.length;
  return a.id - b.id;
}
