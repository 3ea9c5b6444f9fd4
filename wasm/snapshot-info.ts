/**
 * The active snapshot's metadata as the host sees it, decoded once per load from the module's
 * accessor exports (wasm/assembly/meta.ts): what decide() results index into, and each route's
 * attribute slots — which request values the host writes for that route, and how.
 */

/**
 * Attribute sources as stored in the snapshot (ATTRIBUTES.source). CONSUMER: the authenticated
 * consumer, name `name` or `labels.LABEL` (docs/conditions.md, "Variables").
 */
export const Source = { QUERY: 0, HEADER: 1, COOKIE: 2, BODY: 3, CLIENT: 4, CF: 5, CONSUMER: 6 } as const;
/** Passways (policy key sources): the first four sources. */
export const Passway = { QUERY: 0, HEADER: 1, COOKIE: 2, BODY: 3 } as const;
/** Slot mode bits: what the host writes for a slot. */
export const SlotMode = { BYTES: 1, INTERN: 2, DOUBLE: 4, INT: 8 } as const;
/** OCTO instance status names by code. */
export const INSTANCE_STATUS = ["dead", "starting", "alive", "stopping", "stopped", "warning"] as const;
/** Balancer kind names by GROUPS.balancer code (docs/balancing.md; declared in reference/balancer-kinds.ts). */
export { BALANCER_KINDS as BALANCER_KIND } from "./reference/balancer-kinds.ts";
/** ROUTES.flags bit 4: a route traffic cut forces the route to its defaultGroup. */
export const ROUTE_FLAG_FORCED = 16;
/** INSTANCES.flags bit 0: drained by a traffic cut. */
export const INSTANCE_FLAG_DRAINED = 1;

export interface RouteInfo {
  readonly id: number;
  readonly timeoutMs: number;
  /** Most body bytes to read for body attributes. */
  readonly bodyCapBytes: number;
  /** Whether the route's policies read the body (then the gateway reads at most bodyCapBytes). */
  readonly readsBody: boolean;
  /** ROUTES.flags: bit 0 body; bits 1, 2, 3 the program reads the method, host, path; bit 4 forced. */
  readonly flags: number;
  /** One attempt's timeout, ms (0: only timeoutMs, the total). */
  readonly perTryTimeoutMs: number;
  /** Retries per request (Envoy num_retries; 0: none). */
  readonly numRetries: number;
  /** Index into `groups` of the group taking the traffic no policy matches (the forced group when forced). */
  readonly defaultGroup: number;
  /** Whether a route traffic cut forces all of the route's traffic to defaultGroup. */
  readonly forced: boolean;
  /** The route's slots are `slots[firstSlot .. firstSlot + slotCount)`. */
  readonly firstSlot: number;
  readonly slotCount: number;
}
export interface GroupInfo {
  readonly id: number;
  readonly name: string;
  /** Balancer kind code; BALANCER_KIND[balancer] is its name. */
  readonly balancer: number;
  /** Its instances are `instances[firstInstance .. firstInstance + instanceCount)`. */
  readonly firstInstance: number;
  readonly instanceCount: number;
}
export interface InstanceInfo {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  /** 0–10000. */
  readonly weight: number;
  /** OCTO status code; INSTANCE_STATUS[status] is its name. */
  readonly status: number;
  /** Index into `groups` of the group it belongs to (-1 if none). */
  readonly group: number;
  /** OCTO role: 0 primary, 1 backup. */
  readonly role: number;
  /** Drained by a traffic cut: receives no new requests (its configured weight is kept). */
  readonly drained: boolean;
  /** Slow-start duration, ms (0 = none). */
  readonly warmupMs: number;
  /** Unix ms when control last saw it become routable. */
  readonly aliveSinceMs: number;
}
export interface PolicyInfo {
  readonly id: number;
  readonly name: string;
}
export interface AttributeInfo {
  /** Source (query 0, header 1, cookie 2, body 3, client 4, cf 5, consumer 6). */
  readonly source: number;
  readonly name: string;
}
/** One route slot: the attribute and what to write (SlotMode bits). */
export interface SlotInfo extends AttributeInfo {
  readonly mode: number;
}

/** The active snapshot's metadata; decide() results index these arrays. */
export interface SnapshotInfo {
  readonly version: bigint;
  /** Unix ms when control built the snapshot. */
  readonly builtAtMs: number;
  readonly routes: readonly RouteInfo[];
  readonly groups: readonly GroupInfo[];
  readonly instances: readonly InstanceInfo[];
  readonly policies: readonly PolicyInfo[];
  readonly attributes: readonly AttributeInfo[];
  /** ROUTE_SLOTS records, in order. */
  readonly slots: readonly SlotInfo[];
  /** String constants compared by ==/in: value → intern id (≥ 1). */
  readonly intern: ReadonlyMap<string, number>;
  /** Whether any route reads the body. */
  readonly readsBody: boolean;
  /** Whether any instance is in a lane, or in a cell (OCTO route rules): the gateway reads the request's lane / cell only then. */
  readonly usesLanes: boolean;
  readonly usesCells: boolean;
}

/** The accessor exports this module reads. */
export interface MetaExports {
  memory: WebAssembly.Memory;
  activeVersion(): bigint;
  activeBuiltAtMs(): bigint;
  routeCount(): number;
  routeId(i: number): number;
  routeTimeoutMs(i: number): number;
  routeBodyCap(i: number): number;
  routeFlags(i: number): number;
  routePerTryTimeoutMs(i: number): number;
  routeNumRetries(i: number): number;
  instanceLaneLen(i: number): number;
  instanceCellLen(i: number): number;
  routeDefaultGroup(i: number): number;
  routeFirstSlot(i: number): number;
  routeSlotCount(i: number): number;
  routeSlotRecords(): number;
  slotAttribute(j: number): number;
  slotMode(j: number): number;
  groupCount(): number;
  groupId(i: number): number;
  groupNamePtr(i: number): number;
  groupNameLen(i: number): number;
  groupBalancer(i: number): number;
  groupFirstInstance(i: number): number;
  groupInstanceCount(i: number): number;
  instanceCount(): number;
  instanceId(i: number): number;
  instanceHostPtr(i: number): number;
  instanceHostLen(i: number): number;
  instancePort(i: number): number;
  instanceWeight(i: number): number;
  instanceStatus(i: number): number;
  instanceRole(i: number): number;
  instanceFlags(i: number): number;
  instanceWarmupMs(i: number): number;
  instanceAliveSinceMs(i: number): bigint;
  policyCount(): number;
  policyId(i: number): number;
  policyNamePtr(i: number): number;
  policyNameLen(i: number): number;
  attributeCount(): number;
  attributeSource(i: number): number;
  attributeNamePtr(i: number): number;
  attributeNameLen(i: number): number;
  internCount(): number;
  internPtr(i: number): number;
  internLen(i: number): number;
}

export const EMPTY_SNAPSHOT: SnapshotInfo = Object.freeze({
  version: 0n,
  builtAtMs: 0,
  routes: [],
  groups: [],
  instances: [],
  policies: [],
  attributes: [],
  slots: [],
  intern: new Map(),
  readsBody: false,
  usesLanes: false,
  usesCells: false,
});

/** Decodes the active snapshot's metadata (u32 exports arrive as signed: `>>> 0`). */
export function readSnapshotInfo(w: MetaExports): SnapshotInfo {
  const decoder = new TextDecoder();
  const text = (ptr: number, len: number) => (len === 0 ? "" : decoder.decode(new Uint8Array(w.memory.buffer, ptr >>> 0, len >>> 0)));
  const list = <T>(n: number, at: (i: number) => T): T[] => Array.from({ length: n >>> 0 }, (_, i) => at(i));
  const routes = list(w.routeCount(), (i) => ({
    id: w.routeId(i) >>> 0,
    timeoutMs: w.routeTimeoutMs(i) >>> 0,
    bodyCapBytes: w.routeBodyCap(i) >>> 0,
    readsBody: (w.routeFlags(i) & 1) !== 0,
    flags: w.routeFlags(i),
    perTryTimeoutMs: w.routePerTryTimeoutMs(i) >>> 0,
    numRetries: w.routeNumRetries(i),
    defaultGroup: w.routeDefaultGroup(i) >>> 0,
    forced: (w.routeFlags(i) & ROUTE_FLAG_FORCED) !== 0,
    firstSlot: w.routeFirstSlot(i) >>> 0,
    slotCount: w.routeSlotCount(i),
  }));
  const groups = list(w.groupCount(), (i) => ({
    id: w.groupId(i) >>> 0,
    name: text(w.groupNamePtr(i), w.groupNameLen(i)),
    balancer: w.groupBalancer(i),
    firstInstance: w.groupFirstInstance(i) >>> 0,
    instanceCount: w.groupInstanceCount(i) >>> 0,
  }));
  const groupOf = new Int32Array(w.instanceCount() >>> 0).fill(-1);
  groups.forEach((g, gi) => {
    for (let k = g.firstInstance; k < g.firstInstance + g.instanceCount; k++) if (groupOf[k] === -1) groupOf[k] = gi;
  });
  const instances = list(groupOf.length, (i) => ({
    id: w.instanceId(i) >>> 0,
    host: text(w.instanceHostPtr(i), w.instanceHostLen(i)),
    port: w.instancePort(i),
    weight: w.instanceWeight(i),
    status: w.instanceStatus(i),
    group: groupOf[i] as number,
    role: w.instanceRole(i),
    drained: (w.instanceFlags(i) & INSTANCE_FLAG_DRAINED) !== 0,
    warmupMs: w.instanceWarmupMs(i) >>> 0,
    aliveSinceMs: Number(BigInt.asUintN(64, w.instanceAliveSinceMs(i))),
  }));
  const policies = list(w.policyCount(), (i) => ({ id: w.policyId(i) >>> 0, name: text(w.policyNamePtr(i), w.policyNameLen(i)) }));
  const attributes = list(w.attributeCount(), (i) => ({
    source: w.attributeSource(i),
    name: text(w.attributeNamePtr(i), w.attributeNameLen(i)),
  }));
  const slots = list(w.routeSlotRecords(), (j) => ({ ...(attributes[w.slotAttribute(j)] as AttributeInfo), mode: w.slotMode(j) }));
  const intern = new Map<string, number>();
  for (let i = 0, n = w.internCount() >>> 0; i < n; i++) intern.set(text(w.internPtr(i), w.internLen(i)), i + 1);
  return Object.freeze({
    version: BigInt.asUintN(64, w.activeVersion()),
    builtAtMs: Number(BigInt.asUintN(64, w.activeBuiltAtMs())),
    routes: Object.freeze(routes),
    groups: Object.freeze(groups),
    instances: Object.freeze(instances),
    policies: Object.freeze(policies),
    attributes: Object.freeze(attributes),
    slots: Object.freeze(slots),
    intern,
    readsBody: routes.some((r) => r.readsBody),
    usesLanes: instances.some((_, i) => w.instanceLaneLen(i) !== 0),
    usesCells: instances.some((_, i) => w.instanceCellLen(i) !== 0),
  });
}
