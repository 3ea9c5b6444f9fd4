/**
 * The JS side of the WASM hot path (wasm/assembly/, docs/wasm.md). `HotPath` stages snapshot
 * files into the module, decodes the active snapshot's metadata once per load, and turns each
 * request into one argument-less `decide()` call: the host, path, method and only the attributes
 * the snapshot's policies read are written at fixed addresses, and six i32 are read back.
 *
 * Runs unchanged in Node 24 (type stripping), vitest and a workerd Worker: no Node or Workers
 * imports, and the module is compiled by the caller (Workers forbid compiling WASM at run time).
 * Never uses AssemblyScript's generated string bindings (≈1 µs per string, WASM-HOTPATH.md).
 */

/** Why a load was refused; the numbers are wasm/assembly/errors.ts' (TRAPPED is JS-only). */
export const LoadError = {
  NOTHING_STAGED: 1,
  TRUNCATED: 2,
  BAD_MAGIC: 3,
  BAD_FORMAT_VERSION: 4,
  BAD_FLAGS: 5,
  STALE_VERSION: 6,
  BAD_DIRECTORY: 7,
  DUPLICATE_SECTION: 8,
  MISSING_SECTION: 9,
  SECTION_OUT_OF_BOUNDS: 10,
  BAD_RECORD_SIZE: 11,
  BAD_STRING: 12,
  BAD_HOST_TABLE: 13,
  BAD_INDEX: 14,
  BAD_CODE_RANGE: 15,
  BAD_CODE: 16,
  BAD_VALUE: 17,
  BAD_ROUTE_ORDER: 18,
  TOO_MANY_ATTRIBUTES: 19,
  TRAPPED: 100,
} as const;
export type LoadErrorCode = (typeof LoadError)[keyof typeof LoadError];

/** A sentence per LoadError code, for logs and the control plane's status page. */
export const LOAD_ERROR_MESSAGES: Readonly<Record<LoadErrorCode, string>> = {
  1: "commitLoad() was called without prepareLoad()",
  2: "the file is shorter than its header or than the header's totalLength",
  3: "bad magic: not a Sluice snapshot",
  4: "unsupported formatVersion",
  5: "unknown header flag bits",
  6: "snapshotVersion is not newer than the active snapshot's",
  7: "the section directory does not fit before totalLength",
  8: "a section id appears twice in the directory",
  9: "a required section is missing",
  10: "a section lies outside the file body",
  11: "a record section's length is not a multiple of its record size",
  12: "a string reference lies outside STRINGS",
  13: "HOST_TABLE is malformed (size, slots, or a host not reachable by probing)",
  14: "an index or slice lies outside its section",
  15: "a policy's code range lies outside CODE",
  16: "malformed bytecode (unknown opcode, truncated or bad operand, backward jump)",
  17: "an enumerated field is out of range (match, passway, status, balancer, flags, weight)",
  18: "a host's routes are not ordered exact first, then prefix",
  19: "more request attributes than the frame has slots",
  100: "the WASM module trapped while loading (out of memory?)",
};

/** decide() statuses. */
export const DecideStatus = { OK: 0, NO_SNAPSHOT: 1, NO_ROUTE: 2, NO_INSTANCE: 3 } as const;
/** Attribute passways as stored in the snapshot. */
export const Passway = { QUERY: 0, HEADER: 1, COOKIE: 2, BODY: 3 } as const;
/** OCTO instance status names by code. */
export const INSTANCE_STATUS = ["dead", "starting", "alive", "stopping", "stopped", "warning"] as const;

export type LoadResult = { ok: true; version: bigint } | { ok: false; code: LoadErrorCode; reason: string };

export interface RouteInfo {
  readonly id: number;
  readonly timeoutMs: number;
}
export interface GroupInfo {
  readonly id: number;
  readonly name: string;
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
}
export interface PolicyInfo {
  readonly id: number;
  readonly name: string;
}
/** Frame slot i carries `attributes[i]`. */
export interface AttributeInfo {
  readonly passway: number;
  readonly name: string;
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
}

export interface DecideRequest {
  /** Host without port, lowercase (ASCII letters are lowercased here anyway). */
  host: string;
  path: string;
  method: string;
  /** The request's value of attribute `name` in `passway` (Passway), or undefined if absent. */
  attribute(passway: number, name: string): string | undefined;
}

/**
 * One decision. Indices point into `snapshot` arrays and are -1 when none; conditionErrors
 * counts policies whose condition errored (and so did not match).
 * Example: `{status: 0, route: 3, policy: 1, group: 2, instance: 7, conditionErrors: 0}`.
 */
export interface DecideResult {
  status: number;
  route: number;
  policy: number;
  group: number;
  instance: number;
  conditionErrors: number;
}

/** The module's exports (wasm/assembly/index.ts). u32 results arrive as signed i32: use `>>> 0`. */
interface Exports {
  memory: WebAssembly.Memory;
  prepareLoad(length: number): number;
  commitLoad(): number;
  decide(): number;
  frameAddress(): number;
  frameSlotCapacity(): number;
  frameBytesAddress(): number;
  frameBytesCapacity(): number;
  resultAddress(): number;
  activeVersion(): bigint;
  activeBuiltAtMs(): bigint;
  routeCount(): number;
  routeId(i: number): number;
  routeTimeoutMs(i: number): number;
  groupCount(): number;
  groupId(i: number): number;
  groupNamePtr(i: number): number;
  groupNameLen(i: number): number;
  groupFirstInstance(i: number): number;
  groupInstanceCount(i: number): number;
  instanceCount(): number;
  instanceId(i: number): number;
  instanceHostPtr(i: number): number;
  instanceHostLen(i: number): number;
  instancePort(i: number): number;
  instanceWeight(i: number): number;
  instanceStatus(i: number): number;
  policyCount(): number;
  policyId(i: number): number;
  policyNamePtr(i: number): number;
  policyNameLen(i: number): number;
  attributeCount(): number;
  attributePassway(i: number): number;
  attributeNamePtr(i: number): number;
  attributeNameLen(i: number): number;
}

/** V8 starts WASM in its baseline tier (≈3.5× slower); this many empty calls warm `decide`. */
const WARM_CALLS = 5000;
const FRAME_HEADER_I32 = 7;
const EMPTY: SnapshotInfo = Object.freeze({
  version: 0n,
  builtAtMs: 0,
  routes: [],
  groups: [],
  instances: [],
  policies: [],
  attributes: [],
});

export class HotPath {
  /** Instantiates the hot path from a compiled module (Workers) or .wasm bytes (Node, tests). */
  static async instantiate(source: WebAssembly.Module | BufferSource): Promise<HotPath> {
    // Typed loosely because Node's and Workers' lib typings disagree on instantiate()'s overloads.
    const result: unknown = await WebAssembly.instantiate(source as BufferSource, {});
    return new HotPath(result instanceof WebAssembly.Instance ? result : (result as { instance: WebAssembly.Instance }).instance);
  }

  private readonly wasm: Exports;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();
  private readonly frameAt: number;
  private readonly slotCapacity: number;
  private readonly bytesAt: number;
  private readonly bytesCapacity: number;
  private readonly resultAt: number;
  // Views of linear memory, re-created only when memory grew (growth detaches the old buffer).
  private frame = new Int32Array(0);
  private bytes = new Uint8Array(0);
  private results = new Int32Array(0);
  private info: SnapshotInfo = EMPTY;
  /** Reused by every decide() call. */
  private readonly out: DecideResult = { status: 1, route: -1, policy: -1, group: -1, instance: -1, conditionErrors: 0 };

  constructor(instance: WebAssembly.Instance) {
    this.wasm = instance.exports as unknown as Exports;
    this.frameAt = this.wasm.frameAddress() >>> 0;
    this.slotCapacity = this.wasm.frameSlotCapacity() >>> 0;
    this.bytesAt = this.wasm.frameBytesAddress() >>> 0;
    this.bytesCapacity = this.wasm.frameBytesCapacity() >>> 0;
    this.resultAt = this.wasm.resultAddress() >>> 0;
    this.refreshViews();
    // Empty frame (no snapshot yet): each call returns status 1.
    for (let i = 0; i < WARM_CALLS; i++) this.wasm.decide();
  }

  /** Metadata of the active snapshot (empty arrays and version 0n before the first load). */
  get snapshot(): SnapshotInfo {
    return this.info;
  }

  /**
   * Loads a snapshot file (header through signature trailer). The caller has already checked
   * its content hash and Ed25519 signature. On refusal the active snapshot keeps serving.
   * @returns `{ok: true, version}` or `{ok: false, code, reason}` (LoadError, LOAD_ERROR_MESSAGES).
   */
  load(file: Uint8Array): LoadResult {
    let code: number;
    try {
      const at = this.wasm.prepareLoad(file.length) >>> 0;
      new Uint8Array(this.wasm.memory.buffer, at, file.length).set(file);
      code = this.wasm.commitLoad();
    } catch {
      code = LoadError.TRAPPED;
    }
    this.refreshViews();
    if (code !== 0) {
      const known = code as LoadErrorCode;
      return { ok: false, code: known, reason: LOAD_ERROR_MESSAGES[known] ?? `unknown load error ${code}` };
    }
    this.info = this.readSnapshotInfo();
    return { ok: true, version: this.info.version };
  }

  /**
   * Routes one request: writes it into the frame, makes one `decide()` call, reads the result.
   * Attributes that do not fit in the frame's byte area (64 KiB) are passed as absent, as are
   * all after them. The returned object is reused by the next call: copy what you keep.
   * @throws RangeError when host, path and method alone exceed the byte area.
   */
  decide(request: DecideRequest): Readonly<DecideResult> {
    if (this.bytes.byteLength === 0) this.refreshViews();
    const frame = this.frame;
    let at = this.putField(0, request.host, 0, true);
    at = this.putField(2, request.path, at, false);
    at = this.putField(4, request.method, at, false);

    const attributes = this.info.attributes;
    const count = Math.min(attributes.length, this.slotCapacity);
    frame[6] = count;
    let full = false;
    for (let i = 0; i < count; i++) {
      const slot = FRAME_HEADER_I32 + 2 * i;
      const a = attributes[i] as AttributeInfo;
      const value = full ? undefined : request.attribute(a.passway, a.name);
      const n = value === undefined ? -1 : this.encode(value, at, false);
      if (n < 0) {
        if (value !== undefined) full = true;
        frame[slot] = 0;
        frame[slot + 1] = -1;
        continue;
      }
      frame[slot] = at;
      frame[slot + 1] = n;
      at += n;
    }

    this.wasm.decide();
    const r = this.results;
    const out = this.out;
    out.status = r[0] as number;
    out.route = r[1] as number;
    out.policy = r[2] as number;
    out.group = r[3] as number;
    out.instance = r[4] as number;
    out.conditionErrors = r[5] as number;
    return out;
  }

  /** Writes frame pair `index` (0 host, 2 path, 4 method) and returns the next byte offset. */
  private putField(index: number, value: string, at: number, lower: boolean): number {
    const n = this.encode(value, at, lower);
    if (n < 0) throw new RangeError("request host, path and method exceed the WASM frame's byte area");
    this.frame[index] = at;
    this.frame[index + 1] = n;
    return at + n;
  }

  /**
   * Encodes `value` as UTF-8 at byte-area offset `at`: a plain loop while the chars are ASCII
   * (lowercasing A–Z when `lower`), TextEncoder.encodeInto from the first non-ASCII char on.
   * @returns bytes written, or -1 when it does not fit.
   */
  private encode(value: string, at: number, lower: boolean): number {
    const n = value.length;
    if (at + n > this.bytesCapacity) return -1; // UTF-8 is never shorter than UTF-16 code units
    const bytes = this.bytes;
    for (let i = 0; i < n; i++) {
      let c = value.charCodeAt(i);
      if (c >= 0x80) return this.encodeSlow(value, at, lower);
      if (lower && c >= 65 && c <= 90) c += 32; // A–Z
      bytes[at + i] = c;
    }
    return n;
  }

  private encodeSlow(value: string, at: number, lower: boolean): number {
    const s = lower ? value.toLowerCase() : value;
    const { read, written } = this.encoder.encodeInto(s, this.bytes.subarray(at));
    return read === s.length ? written : -1;
  }

  private refreshViews(): void {
    const buffer = this.wasm.memory.buffer;
    this.frame = new Int32Array(buffer, this.frameAt, FRAME_HEADER_I32 + 2 * this.slotCapacity);
    this.bytes = new Uint8Array(buffer, this.bytesAt, this.bytesCapacity);
    this.results = new Int32Array(buffer, this.resultAt, 6);
  }

  private text(ptr: number, len: number): string {
    return len === 0 ? "" : this.decoder.decode(new Uint8Array(this.wasm.memory.buffer, ptr >>> 0, len >>> 0));
  }

  private readSnapshotInfo(): SnapshotInfo {
    const w = this.wasm;
    const routes: RouteInfo[] = [];
    for (let i = 0, n = w.routeCount() >>> 0; i < n; i++) {
      routes.push({ id: w.routeId(i) >>> 0, timeoutMs: w.routeTimeoutMs(i) >>> 0 });
    }
    const groups: GroupInfo[] = [];
    for (let i = 0, n = w.groupCount() >>> 0; i < n; i++) {
      groups.push({
        id: w.groupId(i) >>> 0,
        name: this.text(w.groupNamePtr(i), w.groupNameLen(i)),
        firstInstance: w.groupFirstInstance(i) >>> 0,
        instanceCount: w.groupInstanceCount(i) >>> 0,
      });
    }
    const groupOf = new Int32Array(w.instanceCount() >>> 0).fill(-1);
    groups.forEach((g, gi) => {
      for (let k = g.firstInstance; k < g.firstInstance + g.instanceCount; k++) if (groupOf[k] === -1) groupOf[k] = gi;
    });
    const instances: InstanceInfo[] = [];
    for (let i = 0; i < groupOf.length; i++) {
      instances.push({
        id: w.instanceId(i) >>> 0,
        host: this.text(w.instanceHostPtr(i), w.instanceHostLen(i)),
        port: w.instancePort(i),
        weight: w.instanceWeight(i),
        status: w.instanceStatus(i),
        group: groupOf[i] as number,
      });
    }
    const policies: PolicyInfo[] = [];
    for (let i = 0, n = w.policyCount() >>> 0; i < n; i++) {
      policies.push({ id: w.policyId(i) >>> 0, name: this.text(w.policyNamePtr(i), w.policyNameLen(i)) });
    }
    const attributes: AttributeInfo[] = [];
    for (let i = 0, n = w.attributeCount() >>> 0; i < n; i++) {
      attributes.push({ passway: w.attributePassway(i), name: this.text(w.attributeNamePtr(i), w.attributeNameLen(i)) });
    }
    return Object.freeze({
      version: BigInt.asUintN(64, w.activeVersion()),
      builtAtMs: Number(BigInt.asUintN(64, w.activeBuiltAtMs())),
      routes: Object.freeze(routes),
      groups: Object.freeze(groups),
      instances: Object.freeze(instances),
      policies: Object.freeze(policies),
      attributes: Object.freeze(attributes),
    });
  }
}
