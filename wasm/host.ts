/**
 * The JS side of the WASM hot path (wasm/assembly/, docs/wasm.md). `HotPath` stages snapshot
 * files into the module, decodes the active snapshot's metadata once per load
 * (snapshot-info.ts), and routes each request with two argument-less calls: route() for the
 * frame's host and path, then — after writing only the attributes that route's policies read,
 * at fixed addresses — decide(), which runs all of the route's policies and balances. When the
 * route is already known (decidePolicies), that one call is all.
 *
 * Runs unchanged in Node 24 (type stripping), vitest and a workerd Worker: no Node or Workers
 * imports, and the module is compiled by the caller (Workers forbid compiling WASM at run time).
 * Never uses AssemblyScript's generated string bindings (≈1 µs per string, WASM-HOTPATH.md).
 */
import { parseGoFloat } from "./go-float.ts";
import { LOAD_ERROR_MESSAGES, LoadError, type LoadErrorCode } from "./load-errors.ts";
import { EMPTY_SNAPSHOT, type MetaExports, readSnapshotInfo, type SnapshotInfo } from "./snapshot-info.ts";

export { LOAD_ERROR_MESSAGES, LoadError, type LoadErrorCode } from "./load-errors.ts";
export * from "./snapshot-info.ts";

/** decide() statuses. */
export const DecideStatus = { OK: 0, NO_SNAPSHOT: 1, NO_ROUTE: 2, NO_INSTANCE: 3 } as const;

export type LoadResult = { ok: true; version: bigint } | { ok: false; code: LoadErrorCode; reason: string };

export interface DecideRequest {
  /** Host without port, lowercase (ASCII letters are lowercased here anyway). */
  host: string;
  path: string;
  method: string;
  /** The request's value of attribute `name` from `source` (Source), or undefined if absent. */
  attribute(source: number, name: string): string | undefined;
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
interface Exports extends MetaExports {
  prepareLoad(length: number): number;
  commitLoad(): number;
  route(): number;
  decide(): number;
  frameAddress(): number;
  slotsAddress(): number;
  slotCapacity(): number;
  frameBytesAddress(): number;
  frameBytesCapacity(): number;
  resultAddress(): number;
}

/** V8 starts WASM in its baseline tier (≈3.5× slower); this many empty calls warm both exports. */
const WARM_CALLS = 5000;
const SLOT_I32 = 16; // 64-byte slots
const DOUBLE_OK = 1;
/** Slot flags SLOT_INT_DONE | SLOT_INT_OK (wasm/assembly/frame.ts): the int cache holds the parse. */
const INT_DONE_OK = 2 | 4;

export class HotPath {
  /** Instantiates the hot path from a compiled module (Workers) or .wasm bytes (Node, tests). */
  static async instantiate(source: WebAssembly.Module | BufferSource): Promise<HotPath> {
    // Typed loosely because Node's and Workers' lib typings disagree on instantiate()'s overloads.
    const result: unknown = await WebAssembly.instantiate(source as BufferSource, {});
    return new HotPath(result instanceof WebAssembly.Instance ? result : (result as { instance: WebAssembly.Instance }).instance);
  }

  private readonly wasm: Exports;
  private readonly encoder = new TextEncoder();
  private readonly frameAt: number;
  private readonly slotsAt: number;
  private readonly bytesAt: number;
  private readonly bytesCapacity: number;
  private readonly resultAt: number;
  // Views of linear memory, re-created only when memory grew (growth detaches the old buffer).
  private frame = new Int32Array(0);
  private slots = new Int32Array(0);
  private slotDoubles = new Float64Array(0);
  private bytes = new Uint8Array(0);
  private results = new Int32Array(0);
  private info: SnapshotInfo = EMPTY_SNAPSHOT;
  // The active snapshot's slot records, flattened for the per-request loop.
  private slotSource = new Uint8Array(0);
  private slotMode = new Uint8Array(0);
  private slotName: string[] = [];
  private routeFirstSlot = new Uint32Array(0);
  private routeSlotCount = new Uint16Array(0);
  private routeFlags = new Uint8Array(0);
  /** Reused by every decide() call. */
  private readonly out: DecideResult = { status: 1, route: -1, policy: -1, group: -1, instance: -1, conditionErrors: 0 };

  constructor(instance: WebAssembly.Instance) {
    this.wasm = instance.exports as unknown as Exports;
    this.frameAt = this.wasm.frameAddress() >>> 0;
    this.slotsAt = this.wasm.slotsAddress() >>> 0;
    this.bytesAt = this.wasm.frameBytesAddress() >>> 0;
    this.bytesCapacity = this.wasm.frameBytesCapacity() >>> 0;
    this.resultAt = this.wasm.resultAddress() >>> 0;
    this.refreshViews();
    // No snapshot yet: each call returns at once.
    for (let i = 0; i < WARM_CALLS; i++) {
      this.wasm.route();
      this.wasm.decide();
    }
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
    this.info = readSnapshotInfo(this.wasm);
    this.slotSource = Uint8Array.from(this.info.slots, (s) => s.source);
    this.slotMode = Uint8Array.from(this.info.slots, (s) => s.mode);
    this.slotName = this.info.slots.map((s) => s.name);
    this.routeFirstSlot = Uint32Array.from(this.info.routes, (r) => r.firstSlot);
    this.routeSlotCount = Uint16Array.from(this.info.routes, (r) => r.slotCount);
    this.routeFlags = Uint8Array.from(this.info.routes, (r) => r.flags);
    return { ok: true, version: this.info.version };
  }

  /**
   * The route for `request`'s host and path (one call): a ROUTES index (`snapshot.routes[i]`
   * says whether it reads the body), -1 when none matches, -2 without a snapshot.
   * @throws RangeError when host, path and method exceed the byte area.
   */
  route(request: DecideRequest): number {
    this.putRequest(request);
    return this.wasm.route();
  }

  /**
   * Routes one request: route() for its host and path, the route's attributes into its slots,
   * decide(). Attributes that do not fit in the byte area (1 MiB) are passed as absent. The
   * returned object is reused by the next call: copy what you keep.
   * @throws RangeError when host, path and method alone exceed the byte area.
   */
  decide(request: DecideRequest): Readonly<DecideResult> {
    const at = this.putRequest(request);
    const route = this.wasm.route();
    if (route < 0) return this.none(route === -2 ? DecideStatus.NO_SNAPSHOT : DecideStatus.NO_ROUTE);
    return this.decideRoute(route, request, at);
  }

  /**
   * Decides a request already known to be on route `route` (a ROUTES index of the active
   * snapshot, e.g. from route() before an await): one call. Writes only the request fields the
   * route's policies read, then its attributes.
   */
  decidePolicies(route: number, request: DecideRequest): Readonly<DecideResult> {
    const flags = this.routeFlags[route];
    if (flags === undefined) return this.none(this.info.version === 0n ? DecideStatus.NO_SNAPSHOT : DecideStatus.NO_ROUTE);
    let at = 0;
    if (flags & 2) at = this.putField(4, request.method, at, false);
    if (flags & 4) at = this.putField(0, request.host, at, true);
    if (flags & 8) at = this.putField(2, request.path, at, false);
    this.frame[6] = route;
    return this.decideRoute(route, request, at);
  }

  /** Writes route `route`'s slots from `request` (byte area free from `at`), then decide(). */
  private decideRoute(route: number, request: DecideRequest, at: number): Readonly<DecideResult> {
    const first = this.routeFirstSlot[route] as number;
    const count = this.routeSlotCount[route] as number;
    const slots = this.slots;
    const intern = this.info.intern;
    for (let j = 0; j < count; j++) {
      const k = first + j;
      const s = j * SLOT_I32;
      const value = request.attribute(this.slotSource[k] as number, this.slotName[k] as string);
      if (value === undefined) {
        slots[s + 1] = -1;
        slots[s + 3] = 0;
        continue;
      }
      const mode = this.slotMode[k] as number;
      let flags = 0;
      if (mode & 1) {
        const n = this.encode(value, at, false);
        if (n < 0) {
          slots[s + 1] = -1; // too large for the byte area: absent
          slots[s + 3] = 0;
          continue;
        }
        slots[s] = at;
        slots[s + 1] = n;
        if (mode & 8) flags = this.parseShortInt(at, n, s);
        at += n;
      } else {
        slots[s] = 0;
        slots[s + 1] = 0;
      }
      if (mode & 2) slots[s + 2] = intern.get(value) ?? 0;
      if (mode & 4) {
        const d = parseGoFloat(value);
        if (d !== undefined) {
          this.slotDoubles[j * 8 + 2] = d;
          flags |= DOUBLE_OK;
        }
      }
      slots[s + 3] = flags;
    }
    this.wasm.decide();
    const res = this.results;
    const out = this.out;
    out.status = res[0] as number;
    out.route = res[1] as number;
    out.policy = res[2] as number;
    out.group = res[3] as number;
    out.instance = res[4] as number;
    out.conditionErrors = res[5] as number;
    return out;
  }

  /**
   * int() of the `n` ASCII bytes just written at `at`, when they are an optional sign and 1–15
   * digits (so exact in a double): stored in slot word `s`'s int cache, returning its flags
   * (INT_DONE | INT_OK). Anything else returns 0 and the VM parses it (wasm/assembly/int64.ts).
   */
  private parseShortInt(at: number, n: number, s: number): number {
    const bytes = this.bytes;
    let i = 0;
    const sign = bytes[at] as number;
    if (sign === 0x2d || sign === 0x2b) i = 1;
    if (n - i < 1 || n - i > 15) return 0;
    let v = 0;
    for (; i < n; i++) {
      const d = (bytes[at + i] as number) - 0x30;
      if (d < 0 || d > 9) return 0;
      v = v * 10 + d;
    }
    if (sign === 0x2d) v = -v;
    const hi = Math.floor(v / 4294967296);
    this.slots[s + 6] = v - hi * 4294967296; // low word (wraps to int32)
    this.slots[s + 7] = hi;
    return INT_DONE_OK;
  }

  private none(status: number): Readonly<DecideResult> {
    const out = this.out;
    out.status = status;
    out.route = out.policy = out.group = out.instance = -1;
    out.conditionErrors = 0;
    return out;
  }

  /** Writes host (lowercased), path and method; returns the next free byte-area offset. */
  private putRequest(request: DecideRequest): number {
    if (this.bytes.byteLength === 0) this.refreshViews();
    let at = this.putField(0, request.host, 0, true);
    at = this.putField(2, request.path, at, false);
    return this.putField(4, request.method, at, false);
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
    this.frame = new Int32Array(buffer, this.frameAt, 8);
    const slotCount = this.wasm.slotCapacity() >>> 0;
    this.slots = new Int32Array(buffer, this.slotsAt, slotCount * SLOT_I32);
    this.slotDoubles = new Float64Array(buffer, this.slotsAt, slotCount * 8);
    this.bytes = new Uint8Array(buffer, this.bytesAt, this.bytesCapacity);
    this.results = new Int32Array(buffer, this.resultAt, 6);
  }
}
