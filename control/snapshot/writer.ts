/**
 * Writes a policy snapshot (docs/snapshot-format.md) from a ConfigModel: groups with their
 * balancing options and instances, hosts and their routes in nginx precedence order,
 * (compile-routes.ts) the policies compiled into one program per route, and (function-groups.ts)
 * the functions routes target as groups plus the FUNCTIONS section, and (plugins.ts) the routes'
 * plugins and the consumers as the PLUGINS section. Pure and deterministic: the same model gives the same
 * bytes (but for version and builtAtMs), hence the same content hash. seal.ts adds the hash and
 * the signature.
 */

import type { AttributeRef } from "../../wasm/cel/ir.ts";
import { encodeFunctionsSection, FUNCTIONS_SECTION_ID } from "../../wasm/functions-section.ts";
import { GROUP_LAYOUT } from "../../wasm/layout/group-record.ts";
import { encodePluginsSection, PLUGINS_SECTION_ID } from "../../wasm/plugins-section.ts";
import { compilePolicies, type LowerFn, SnapshotModelError } from "./compile-routes.ts";
import { functionGroups, functionsSection, withFunctionTargets } from "./function-groups.ts";
import { buildHostTable } from "./host-table.ts";
import {
  BALANCER_CODES,
  DIRECTORY_ENTRY_BYTES,
  FORMAT_VERSION,
  GROUP,
  GROUP_FLAG,
  HASH_KEY_NONE,
  HEADER,
  HEADER_BYTES,
  INSTANCE,
  INSTANCE_FLAG_DRAINED,
  MAGIC,
  NO_ATTRIBUTE,
  ROLE_CODES,
  SECTION,
  SECTION_COUNT,
  SOURCE_CODES,
  STATUS_CODES,
  TRAILER_BYTES,
} from "./layout.ts";
import type { ConfigModel, GroupConfig, RouteConfig } from "./model.ts";
import { GROUP_BALANCING_DEFAULTS, type GroupBalancing, type HashKeySource } from "./options.ts";
import { hasPlugins, pluginsSection } from "./plugins.ts";
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

const groupKey = (appkey: string, name: string) => `${appkey}\u0000${name}`;

/**
 * Serialises `model` to an unsigned snapshot file: header with a zero content hash, sections,
 * and a zero-filled signature trailer (seal.ts fills both).
 * @throws SnapshotModelError on dangling names; ConditionError on a condition the compiler refuses.
 */
export function writeSnapshot(model: ConfigModel, options: WriteOptions): Uint8Array<ArrayBuffer> {
  const functions = model.functions ?? [];
  const consumers = model.consumers ?? [];
  // FUNCTIONS and PLUGINS are written only when there is something in them, so a snapshot
  // without functions or plugins stays as before.
  const withPlugins = hasPlugins(model.routes, consumers);
  const sectionCount = SECTION_COUNT + (functions.length > 0 ? 1 : 0) + (withPlugins ? 1 : 0);
  const stringsOffset = HEADER_BYTES + DIRECTORY_ENTRY_BYTES * sectionCount;
  const pool = new StringPool(stringsOffset);
  const str = (s: string) => pool.intern(s);

  // Groups (the functions' among them) and their instances, in a stable order.
  const groups = [...model.groups, ...functionGroups(functions)].sort((a, b) =>
    a.appkey + "\0" + a.name < b.appkey + "\0" + b.name ? -1 : 1,
  );
  const groupIndex = new Map(groups.map((g, i) => [groupKey(g.appkey, g.name), i]));
  const resolveGroup = (appkey: string, name: string, what: string) => {
    const gi = groupIndex.get(groupKey(appkey, name));
    if (gi === undefined) throw new SnapshotModelError(`${what}: group '${name}' does not exist in service '${appkey}'`);
    return gi;
  };

  // Routes grouped by host, each host's routes in nginx precedence order.
  const byHost = new Map<string, RouteConfig[]>();
  for (const route of withFunctionTargets(model.routes, functions)) {
    const host = route.host.toLowerCase();
    const list = byHost.get(host);
    if (list) list.push(route);
    else byHost.set(host, [route]);
  }
  const hostNames = [...byHost.keys()].sort();
  const routes = hostNames.flatMap((h) => (byHost.get(h) as RouteConfig[]).sort(comparePrecedence));
  const hashKeys = groups.map((g) => hashKeyAttribute((g.balancing ?? GROUP_BALANCING_DEFAULTS).hashKey));
  const policySections = compilePolicies(
    model.policies,
    routes,
    pool,
    resolveGroup,
    options.lower,
    hashKeys.filter((a) => a !== null),
  );
  let nextHashKey = 0;
  const hashKeyIndex = hashKeys.map((a) => (a === null ? NO_ATTRIBUTE : (policySections.extraAttributeIndex[nextHashKey++] as number)));
  const { GROUPS, INSTANCES } = writeGroups(groups, hashKeys, hashKeyIndex, str);

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
  const sections: [number, Uint8Array][] = [
    [SECTION.STRINGS.id, pool.bytes()],
    [SECTION.HOST_TABLE.id, u32Bytes(hostTable)],
    [SECTION.HOSTS.id, hostRecords.bytes],
    [SECTION.ROUTES.id, policySections.ROUTES],
    [SECTION.ROUTE_POLICIES.id, policySections.ROUTE_POLICIES],
    [SECTION.POLICIES.id, policySections.POLICIES],
    [SECTION.ROUTE_SLOTS.id, policySections.ROUTE_SLOTS],
    [SECTION.GROUPS.id, GROUPS],
    [SECTION.INSTANCES.id, INSTANCES],
    [SECTION.ATTRIBUTES.id, policySections.ATTRIBUTES],
    [SECTION.CODE.id, policySections.CODE],
    [SECTION.DATA.id, policySections.DATA],
    [SECTION.INTERN.id, policySections.INTERN],
  ];
  if (functions.length > 0) {
    const indexOf = (appkey: string, name: string) => resolveGroup(appkey, name, `function '${name}'`);
    sections.push([FUNCTIONS_SECTION_ID, encodeFunctionsSection(functionsSection(functions, indexOf))]);
  }
  if (withPlugins) {
    const indexOf = (appkey: string, name: string) => resolveGroup(appkey, name, "anti-scraping suspectGroup");
    sections.push([PLUGINS_SECTION_ID, encodePluginsSection(pluginsSection(model.routes, consumers, indexOf))]);
  }
  const offsets: number[] = [];
  let at = stringsOffset;
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
  view.setUint32(HEADER.sectionCount, sectionCount, true);
  view.setBigUint64(HEADER.builtAtMs, BigInt(Math.floor(options.builtAtMs)), true);
  sections.forEach(([id, bytes], i) => {
    const d = HEADER_BYTES + i * DIRECTORY_ENTRY_BYTES;
    view.setUint32(d, id, true);
    view.setUint32(d + 4, offsets[i] as number, true);
    view.setUint32(d + 8, bytes.length, true);
    file.set(bytes, offsets[i]);
  });
  return file;
}

/** The request attribute a hash key reads (the client address is the `client` attribute `ip`). */
function hashKeyAttribute(key: HashKeySource | null): AttributeRef | null {
  if (key === null) return null;
  if (key.from === "client-ip") return { source: "client", name: "ip" };
  return { source: key.from, name: key.from === "header" ? key.name.toLowerCase() : key.name };
}

/** The GROUPS fields that store an option of `balancing` (each field's `option` says which). */
const OPTION_FIELDS = GROUP_LAYOUT.filter((f) => f.option !== undefined);

/**
 * GROUPS and INSTANCES records; instances by id within their group.
 * @param hashKeys each group's hash key attribute (null: none); hashKeyIndex its ATTRIBUTES index.
 */
function writeGroups(
  groups: GroupConfig[],
  hashKeys: (AttributeRef | null)[],
  hashKeyIndex: number[],
  str: (s: string) => { offset: number; length: number },
) {
  const instanceCount = groups.reduce((n, g) => n + g.instances.length, 0);
  const groupRecords = new Records(groups.length, SECTION.GROUPS.record);
  const instanceRecords = new Records(instanceCount, SECTION.INSTANCES.record);
  let instanceAt = 0;
  groups.forEach((g, gi) => {
    const r = gi * SECTION.GROUPS.record;
    groupRecords.u32(r + GROUP.id, g.id);
    groupRecords.str(r + GROUP.name, str(g.name));
    groupRecords.u8(r + GROUP.balancer, BALANCER_CODES[g.balancer]);
    const key = hashKeys[gi];
    groupRecords.u8(r + GROUP.hashKeySource, key ? SOURCE_CODES[key.source] : HASH_KEY_NONE);
    groupRecords.u16(r + GROUP.hashKeyAttribute, hashKeyIndex[gi] as number);
    groupRecords.u32(r + GROUP.firstInstance, instanceAt);
    groupRecords.u32(r + GROUP.instanceCount, g.instances.length);
    writeBalancing(groupRecords, r, g.balancing ?? GROUP_BALANCING_DEFAULTS);
    for (const inst of [...g.instances].sort((a, b) => a.id - b.id)) {
      const o = instanceAt * SECTION.INSTANCES.record;
      instanceRecords.u32(o + INSTANCE.id, inst.id);
      instanceRecords.str(o + INSTANCE.host, str(inst.host));
      instanceRecords.u16(o + INSTANCE.port, inst.port);
      instanceRecords.u8(o + INSTANCE.status, STATUS_CODES[inst.status]);
      instanceRecords.u8(o + INSTANCE.role, ROLE_CODES[inst.role ?? "primary"]);
      instanceRecords.u32(o + INSTANCE.weight, inst.weight);
      instanceRecords.str(o + INSTANCE.zone, str(inst.zone));
      instanceRecords.str(o + INSTANCE.lane, str(inst.lane));
      instanceRecords.str(o + INSTANCE.version, str(inst.version));
      instanceRecords.u32(o + INSTANCE.warmupMs, inst.warmupMs ?? 0);
      instanceRecords.str(o + INSTANCE.region, str(inst.region ?? ""));
      instanceRecords.str(o + INSTANCE.cell, str(inst.cell ?? ""));
      instanceRecords.view.setBigUint64(o + INSTANCE.aliveSinceMs, BigInt(Math.max(0, Math.floor(inst.aliveSinceMs ?? 0))), true);
      instanceRecords.u8(o + INSTANCE.flags, inst.drained ? INSTANCE_FLAG_DRAINED : 0);
      instanceAt += 1;
    }
  });
  return { GROUPS: groupRecords.bytes, INSTANCES: instanceRecords.bytes };
}

/**
 * The option fields of GROUPS record `r`, as wasm/layout/group-record.ts declares them: each
 * field's option from `b`, times its scale (thousandths: 0.5 → 500; the API allows at most 3
 * decimals), at its offset and width; then the flag bits.
 */
function writeBalancing(out: Records, r: number, b: GroupBalancing): void {
  for (const f of OPTION_FIELDS) {
    const { part, key, scale = 1 } = f.option!;
    const holder = (part === null ? b : b[part]) as unknown as Record<string, number>;
    const value = Math.round((holder[key] as number) * scale);
    if (f.type === "u8") out.u8(r + f.offset, value);
    else if (f.type === "u16") out.u16(r + f.offset, value);
    else out.u32(r + f.offset, value);
  }
  const flags =
    (b.routeRules.cellFallback ? GROUP_FLAG.cellFallback : 0) |
    (b.ringHash.scale === "envoy" ? GROUP_FLAG.ringScaleEnvoy : 0) |
    (b.outlier.alwaysEjectOneHost ? GROUP_FLAG.alwaysEjectOneHost : 0);
  out.u8(r + GROUP.flags, flags);
}

/** nginx location precedence within one host: exact first, then prefixes longest first. */
function comparePrecedence(a: RouteConfig, b: RouteConfig): number {
  if (a.match !== b.match) return a.match === "exact" ? -1 : 1;
  if (a.match === "prefix" && a.path.length !== b.path.length) return b.path.length - a.path.length;
  return a.id - b.id;
}
