/**
 * Writes a policy snapshot (docs/snapshot-format.md) from a ConfigModel: resolves names to
 * indices, compiles every condition to bytecode, orders routes for nginx precedence, and lays the
 * sections out. Pure and deterministic: the same model gives the same bytes (but for version and
 * builtAtMs), hence the same content hash. The hash and signature are added by seal.ts.
 */
import { compileCondition } from "../compiler/index.ts";
import type { AttributeRef } from "../compiler/ir.ts";
import { buildHostTable } from "./host-table.ts";
import {
  BALANCER_CODES,
  DIRECTORY_ENTRY_BYTES,
  FORMAT_VERSION,
  HEADER,
  MAGIC,
  MATCH_CODES,
  PASSWAY_CODES,
  POLICY_FLAG_ENABLED,
  SECTION,
  SECTION_COUNT,
  STATUS_CODES,
  STRINGS_OFFSET,
  TRAILER_BYTES,
} from "./layout.ts";
import type { ConfigModel, PolicyConfig, RouteConfig } from "./model.ts";
import { StringPool } from "./string-pool.ts";

/** Raised when the model is inconsistent (the API refuses such writes, so this is a bug guard). */
export class SnapshotModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SnapshotModelError";
  }
}

export interface WriteOptions {
  /** Monotonic snapshot version. */
  version: bigint;
  /** Unix time in ms. */
  builtAtMs: number;
}

type SectionName = keyof typeof SECTION;

/** Little-endian record writer for one section. */
class Records {
  readonly view: DataView;
  readonly bytes: Uint8Array;
  constructor(count: number, recordBytes: number) {
    this.bytes = new Uint8Array(count * recordBytes);
    this.view = new DataView(this.bytes.buffer);
  }
  u8(at: number, v: number) {
    this.view.setUint8(at, v);
  }
  u16(at: number, v: number) {
    this.view.setUint16(at, v, true);
  }
  u32(at: number, v: number) {
    this.view.setUint32(at, v, true);
  }
  str(at: number, ref: { offset: number; length: number }) {
    this.u32(at, ref.offset);
    this.u32(at + 4, ref.length);
  }
}

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

  // Request attributes get frame slots in order of first use.
  const attributes: AttributeRef[] = [];
  const attributeIndex = new Map<string, number>();
  const attributeSlot = (a: AttributeRef) => {
    const k = `${a.passway}\u0000${a.name}`;
    let slot = attributeIndex.get(k);
    if (slot === undefined) {
      slot = attributes.push(a) - 1;
      attributeIndex.set(k, slot);
    }
    return slot;
  };

  // Policies: compiled once each; code offsets are relative to CODE until layout.
  const policies = [...model.policies].sort((a, b) => a.id - b.id);
  const policyIndex = new Map(policies.map((p, i) => [p.name, i]));
  const policyRecords = new Records(policies.length, SECTION.POLICIES.record);
  const programs: Uint8Array[] = [];
  const codeStarts: number[] = [];
  let codeSize = 0;
  const graylist: { offset: number; length: number }[] = [];
  policies.forEach((p, pi) => {
    const key = { passway: p.passway, name: p.passway === "header" ? p.key.toLowerCase() : p.key };
    const program = compileCondition(p.condition, key, { attributeSlot, internString: str });
    const r = pi * SECTION.POLICIES.record;
    policyRecords.u32(r, p.id);
    policyRecords.str(r + 4, str(p.name));
    policyRecords.u16(r + 12, attributeSlot(key));
    policyRecords.u8(r + 14, PASSWAY_CODES[p.passway]);
    policyRecords.u8(r + 15, p.enabled ? POLICY_FLAG_ENABLED : 0);
    policyRecords.u32(r + 20, program.length);
    policyRecords.u32(r + 24, graylist.length);
    policyRecords.u32(r + 28, p.graylist.length);
    for (const v of p.graylist) graylist.push(str(v));
    codeStarts.push(codeSize);
    programs.push(program);
    codeSize += program.length;
  });

  // Routes grouped by host, each host's routes in nginx precedence order.
  const byHost = new Map<string, RouteConfig[]>();
  for (const route of model.routes) {
    const host = route.host.toLowerCase();
    byHost.set(host, [...(byHost.get(host) ?? []), route]);
  }
  const hostNames = [...byHost.keys()].sort();
  const routes = hostNames.flatMap((h) => (byHost.get(h) as RouteConfig[]).sort(comparePrecedence));
  const resolveGroup = (appkey: string, name: string, what: string) => {
    const gi = groupIndex.get(groupKey(appkey, name));
    if (gi === undefined) throw new SnapshotModelError(`${what}: group '${name}' does not exist in service '${appkey}'`);
    return gi;
  };
  const bindingCount = routes.reduce((n, r) => n + r.policies.length, 0);
  const routeRecords = new Records(routes.length, SECTION.ROUTES.record);
  const bindingRecords = new Records(bindingCount, SECTION.ROUTE_POLICIES.record);
  let bindingAt = 0;
  routes.forEach((route, ri) => {
    const r = ri * SECTION.ROUTES.record;
    routeRecords.u32(r, route.id);
    routeRecords.str(r + 4, str(route.path));
    routeRecords.u8(r + 12, MATCH_CODES[route.match]);
    routeRecords.u16(r + 14, route.policies.length);
    routeRecords.u32(r + 16, bindingAt);
    routeRecords.u32(r + 20, resolveGroup(route.appkey, route.defaultGroup, `route ${route.id}`));
    routeRecords.u32(r + 24, route.timeoutMs);
    for (const name of route.policies) {
      const pi = policyIndex.get(name);
      if (pi === undefined) throw new SnapshotModelError(`route ${route.id}: policy '${name}' does not exist`);
      const policy = policies[pi] as PolicyConfig;
      if (policy.category === "private" && policy.appkey !== route.appkey) {
        throw new SnapshotModelError(`route ${route.id}: policy '${name}' is private to '${policy.appkey}'`);
      }
      const b = bindingAt * SECTION.ROUTE_POLICIES.record;
      bindingRecords.u32(b, pi);
      bindingRecords.u32(b + 4, resolveGroup(route.appkey, policy.group, `route ${route.id} policy '${name}'`));
      bindingAt += 1;
    }
  });

  const hostRecords = new Records(hostNames.length, SECTION.HOSTS.record);
  let routeAt = 0;
  hostNames.forEach((h, hi) => {
    const count = (byHost.get(h) as RouteConfig[]).length;
    hostRecords.str(hi * 16, str(h));
    hostRecords.u32(hi * 16 + 8, routeAt);
    hostRecords.u32(hi * 16 + 12, count);
    routeAt += count;
  });
  const hostTable = buildHostTable(hostNames.map((h) => new TextEncoder().encode(h)));

  const attributeRecords = new Records(attributes.length, SECTION.ATTRIBUTES.record);
  attributes.forEach((a, ai) => {
    attributeRecords.u8(ai * 12, PASSWAY_CODES[a.passway]);
    attributeRecords.str(ai * 12 + 4, str(a.name));
  });

  // Layout: STRINGS first at its fixed offset, then every other section 8-byte aligned.
  const strings = pool.bytes();
  const sections: [SectionName, Uint8Array][] = [
    ["STRINGS", strings],
    ["HOST_TABLE", u32Bytes(hostTable)],
    ["HOSTS", hostRecords.bytes],
    ["ROUTES", routeRecords.bytes],
    ["ROUTE_POLICIES", bindingRecords.bytes],
    ["POLICIES", policyRecords.bytes],
    ["GRAYLIST", graylistBytes(graylist)],
    ["GROUPS", groupRecords.bytes],
    ["INSTANCES", instanceRecords.bytes],
    ["ATTRIBUTES", attributeRecords.bytes],
    ["CODE", concat(programs, codeSize)],
  ];
  const offsets: number[] = [];
  let at = STRINGS_OFFSET;
  for (const [, bytes] of sections) {
    offsets.push(at);
    at = align8(at + bytes.length);
  }
  const totalLength = at;
  const codeBase = offsets[sections.length - 1] as number;
  policies.forEach((_, pi) => {
    policyRecords.u32(pi * SECTION.POLICIES.record + 16, codeBase + (codeStarts[pi] as number));
  });

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

/** nginx location precedence within one host: exact first, then prefixes longest first. */
function comparePrecedence(a: RouteConfig, b: RouteConfig): number {
  if (a.match !== b.match) return a.match === "exact" ? -1 : 1;
  if (a.match === "prefix" && a.path.length !== b.path.length) return b.path.length - a.path.length;
  return a.id - b.id;
}

function graylistBytes(refs: { offset: number; length: number }[]): Uint8Array {
  const r = new Records(refs.length, SECTION.GRAYLIST.record);
  for (const [i, ref] of refs.entries()) r.str(i * 8, ref);
  return r.bytes;
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Explicitly little-endian, whatever the platform's byte order. */
function u32Bytes(values: Uint32Array): Uint8Array {
  const r = new Records(values.length, 4);
  for (const [i, v] of values.entries()) r.u32(i * 4, v);
  return r.bytes;
}

const align8 = (n: number) => (n + 7) & ~7;
