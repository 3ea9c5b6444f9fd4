/**
 * The JS side of the WASM hot path (wasm/assembly/, docs/wasm.md) and the Worker's only way in.
 * `HotPath` stages snapshot files into the module, decodes the active snapshot's metadata once
 * per load (snapshot-info.ts), and routes each request with two calls: route() for the frame's
 * host and path, then — after writing only the attributes that route's policies read, and the
 * hash keys of the groups it can reach, at fixed addresses — decide(), which runs all of the
 * route's policies and balances, whatever the group's balancer. When the route is already known
 * (decidePolicies), that one call is all. The per-attempt calls (admission, attempts, retries)
 * name routes, groups and instances by (index, id): the index from the snapshot the caller
 * decided on, the id to find it again after a snapshot swap (WASM looks it up; gone = no effect).
 *
 * Runs unchanged in Node 24 (type stripping), vitest and a workerd Worker: no Node or Workers
 * imports, and the module is compiled by the caller (Workers forbid compiling WASM at run time).
 * Never uses AssemblyScript's generated string bindings (≈1 µs per string, WASM-HOTPATH.md).
 */
import { Balancing, type FailureName, type GroupCounters, type InstanceHealth } from "./balancing.ts";
import { parseGoFloat } from "./go-float.ts";
import { type HashKeyExports, NO_HASH_KEYS, type RouteHashKeys, readRouteHashKeys } from "./hash-keys.ts";
import { LOAD_ERROR_MESSAGES, LoadError, type LoadErrorCode } from "./load-errors.ts";
import { EMPTY_SNAPSHOT, type InstanceInfo, type MetaExports, readSnapshotInfo, type SnapshotInfo } from "./snapshot-info.ts";

export { FAILURE_CODES, type FailureName, type GroupCounters, type InstanceHealth } from "./balancing.ts";
export { LOAD_ERROR_MESSAGES, LoadError, type LoadErrorCode } from "./load-errors.ts";
export * from "./snapshot-info.ts";

/** decide() statuses. */
export const DecideStatus = { OK: 0, NO_SNAPSHOT: 1, NO_ROUTE: 2, NO_INSTANCE: 3 } as const;
const HASH_KEY_NONE = 255;

export type LoadResult = { ok: true; version: bigint } | { ok: false; code: LoadErrorCode; reason: string };

export interface DecideRequest {
  /** Host without port, lowercase (ASCII letters are lowercased here anyway). */
  host: string;
  path: string;
  method: string;
  /** The request's value of attribute `name` from `source` (Source), or undefined if absent. */
  attribute(source: number, name: string): string | undefined;
  /** OCTO swimlane tag the request carries ("" or undefined: the main lane). */
  lane?: string;
  /** SET (cell) the request belongs to ("" or undefined: none). */
  cell?: string;
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
  /** This attempt is the instance's single half-open breaker probe (report it to finish()). */
  probe: boolean;
  /** The group was balanced in panic (healthy share below its threshold: fail open). */
  panic: boolean;
}

/** An attempt's end as finish() reports it: HTTP status (0 = none), failure (FAILURE_CODES or name; 0/undefined = none), ms to headers. */
export interface AttemptReport {
  status: number;
  failure?: FailureName | number;
  latencyMs: number;
}

/** The module's exports (wasm/assembly/index.ts). u32 results arrive as signed i32: use `>>> 0`. */
interface Exports extends MetaExports, HashKeyExports {
  prepareLoad(length: number): number;
  commitLoad(nowMs: number): number;
  route(): number;
  decide(nowMs: number): number;
  routeRetryPolicy(route: number, routeId: number): number;
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
/** Frame words (wasm/assembly/frame.ts): 14 i32; the hash-key table's byte-area offset and entry count. */
const FRAME_WORDS = 14;
const F_KEYS = 12;
const F_KEY_COUNT = 13;
/** i32 words per hash-key table entry: ATTRIBUTES index, off, len. */
const KEY_ENTRY_WORDS = 3;

export class HotPath {
  /** Instantiates the hot path from a compiled module (Workers) or .wasm bytes (Node, tests). */
  static async instantiate(source: WebAssembly.Module | BufferSource): Promise<HotPath> {
    // Typed loosely because Node's and Workers' lib typings disagree on instantiate()'s overloads.
    const result: unknown = await WebAssembly.instantiate(source as BufferSource, {});
    return new HotPath(result instanceof WebAssembly.Instance ? result : (result as { instance: WebAssembly.Instance }).instance);
  }

  private readonly wasm: Exports;
  /** The balancers of the same instance (wasm/balancing.ts): attempts, retries, admission, metrics. */
  private readonly balancing: Balancing;
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
  /** The byte area as i32 words, for the hash-key table. */
  private byteWords = new Int32Array(0);
  private results = new Int32Array(0);
  private info: SnapshotInfo = EMPTY_SNAPSHOT;
  // The active snapshot's slot records, flattened for the per-request loop.
  private slotSource = new Uint8Array(0);
  private slotMode = new Uint8Array(0);
  private slotName: string[] = [];
  private routeFirstSlot = new Uint32Array(0);
  private routeSlotCount = new Uint16Array(0);
  private routeFlags = new Uint8Array(0);
  /** Per group: the hash key's attribute source (255: none) and name, for select(). */
  private groupHashSource = new Uint8Array(0);
  private groupHashName: string[] = [];
  private groupById = new Map<number, number>();
  /** Per route: the hash keys written into the frame's hash-key table for decide(). */
  private routeKeys: RouteHashKeys = NO_HASH_KEYS;
  /** Whether some instance is in a lane or a cell: only then are the request's written (else the frame's stay empty). */
  private routesByTag = false;
  /** Reused by every decide() call. */
  private readonly out: DecideResult = {
    status: 1,
    route: -1,
    policy: -1,
    group: -1,
    instance: -1,
    conditionErrors: 0,
    probe: false,
    panic: false,
  };

  constructor(instance: WebAssembly.Instance) {
    this.wasm = instance.exports as unknown as Exports;
    this.frameAt = this.wasm.frameAddress() >>> 0;
    this.slotsAt = this.wasm.slotsAddress() >>> 0;
    this.bytesAt = this.wasm.frameBytesAddress() >>> 0;
    this.bytesCapacity = this.wasm.frameBytesCapacity() >>> 0;
    this.resultAt = this.wasm.resultAddress() >>> 0;
    this.balancing = new Balancing(instance.exports);
    const seed = crypto.getRandomValues(new Uint32Array(4));
    this.balancing.seed(seed[0] as number, seed[1] as number, seed[2] as number, seed[3] as number);
    this.refreshViews();
    // No snapshot yet: each call returns at once.
    for (let i = 0; i < WARM_CALLS; i++) {
      this.wasm.route();
      this.wasm.decide(0);
    }
  }

  /** Metadata of the active snapshot (empty arrays and version 0n before the first load). */
  get snapshot(): SnapshotInfo {
    return this.info;
  }

  /**
   * Loads a snapshot file (header through signature trailer). The caller has already checked
   * its content hash and Ed25519 signature. On refusal the active snapshot keeps serving.
   * The balancers keep the state of instances that are still there (docs/balancing.md).
   * @param nowMs Unix ms (warmup of instances new to this isolate).
   * @returns `{ok: true, version}` or `{ok: false, code, reason}` (LoadError, LOAD_ERROR_MESSAGES).
   */
  load(file: Uint8Array, nowMs: number = Date.now()): LoadResult {
    let code: number;
    try {
      const at = this.wasm.prepareLoad(file.length) >>> 0;
      new Uint8Array(this.wasm.memory.buffer, at, file.length).set(file);
      code = this.wasm.commitLoad(nowMs);
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
    this.routesByTag = this.info.usesLanes || this.info.usesCells;
    if (!this.routesByTag) this.frame.fill(0, 8, 12);
    this.groupById = new Map(this.info.groups.map((g, i) => [g.id, i]));
    this.routeKeys = readRouteHashKeys(this.wasm, this.info);
    const groups = this.info.groups.length;
    this.groupHashSource = Uint8Array.from({ length: groups }, (_, g) => this.wasm.groupHashKeySource(g));
    this.groupHashName = Array.from({ length: groups }, (_, g) => {
      const a = this.info.attributes[this.wasm.groupHashKeyAttribute(g)];
      return a === undefined ? "" : a.name;
    });
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
   * Routes one request: route() for its host and path, the route's attributes into its slots
   * and its groups' hash keys into the hash-key table, decide() — policies, then the group's
   * balancing pipeline at `nowMs` (Unix ms), for every balancer kind. Two calls. Attributes that
   * do not fit in the byte area (1 MiB) are passed as absent. The returned object is reused by
   * the next call: copy what you keep. The caller reports the attempt with start() / finish()
   * (worker/forward.ts).
   * @throws RangeError when host, path and method alone exceed the byte area.
   */
  decide(request: DecideRequest, nowMs: number = Date.now()): Readonly<DecideResult> {
    const at = this.putRequest(request);
    const route = this.wasm.route();
    if (route < 0) return this.none(route === -2 ? DecideStatus.NO_SNAPSHOT : DecideStatus.NO_ROUTE);
    return this.decideRoute(route, request, at, nowMs);
  }

  /**
   * Decides a request already known to be on route `route` (a ROUTES index of the active
   * snapshot, e.g. from route() before an await): one call. Writes only the request fields the
   * route's policies read, then its attributes.
   */
  decidePolicies(route: number, request: DecideRequest, nowMs: number = Date.now()): Readonly<DecideResult> {
    const flags = this.routeFlags[route];
    if (flags === undefined) return this.none(this.info.version === 0n ? DecideStatus.NO_SNAPSHOT : DecideStatus.NO_ROUTE);
    let at = 0;
    if (flags & 2) at = this.putField(4, request.method, at, false);
    if (flags & 4) at = this.putField(0, request.host, at, true);
    if (flags & 8) at = this.putField(2, request.path, at, false);
    this.frame[6] = route;
    return this.decideRoute(route, request, at, nowMs);
  }

  /**
   * The instance (`instance`, `id`) names in the active snapshot — found again by id after a
   * swap — or undefined when it left. O(1), or one call (O(log n)) after a swap.
   */
  instance(instance: number, id: number): InstanceInfo | undefined {
    const here = this.info.instances[instance];
    if (here !== undefined && here.id === id) return here;
    const now = this.balancing.instanceIndex(id);
    return now < 0 ? undefined : this.info.instances[now];
  }

  /**
   * Picks another instance of group (`group`, `groupId`) for a retry of `request` (its lane,
   * cell and, for ring hash and maglev, its hash key), leaving out the instance ids in `tried`
   * (the first 64) while others remain; `attempt` steps hash kinds off the key's instance
   * (Envoy). Fills the result's instance (an index of the active snapshot), probe and panic;
   * status NO_INSTANCE when none is available or the group left in a swap. One call, two with
   * a hash key.
   */
  select(
    group: number,
    groupId: number,
    request: DecideRequest,
    nowMs: number,
    tried: readonly number[],
    attempt: number,
  ): Readonly<DecideResult> {
    const g = this.info.groups[group]?.id === groupId ? group : (this.groupById.get(groupId) ?? -1);
    if (g < 0) return this.none(DecideStatus.NO_INSTANCE);
    const source = this.groupHashSource[g];
    const key = source === HASH_KEY_NONE ? undefined : request.attribute(source as number, this.groupHashName[g] as string);
    const lane = this.info.usesLanes ? request.lane : undefined;
    const cell = this.info.usesCells ? request.cell : undefined;
    const s = this.balancing.select(g, groupId, nowMs, { key, lane, cell, tried, attempt });
    const out = this.out;
    out.instance = s.instance;
    out.status = s.instance < 0 ? DecideStatus.NO_INSTANCE : DecideStatus.OK;
    out.probe = s.probe;
    out.panic = s.panic;
    return out;
  }

  /** The gateway's own zone and region (UTF-8, ≤ 256 bytes each; "" = none), for OCTO zone affinity. @throws RangeError when longer. */
  setCaller(zone: string, region: string): void {
    this.balancing.setCaller(zone, region);
  }

  /**
   * Admission of a client request to group (`group`, `groupId`) (Envoy max_requests /
   * max_pending_requests): "run", "queue" (wait for a release() that says "wake"), "reject"
   * (counted as overflow), or "gone" when the group left in a swap.
   */
  admit(group: number, groupId: number): "run" | "queue" | "reject" | "gone" {
    return this.balancing.admit(group, groupId);
  }

  /**
   * A running request of group (`group`, `groupId`) ended: "wake" when its slot goes to a queued
   * request (wake one), "done" when none is queued, "gone" when the group left in a swap.
   */
  release(group: number, groupId: number): "wake" | "done" | "gone" {
    return this.balancing.release(group, groupId);
  }

  /** A queued request of group (`group`, `groupId`) gave up waiting (no effect when the group is gone). */
  abandonQueued(group: number, groupId: number): void {
    this.balancing.abandonQueued(group, groupId);
  }

  /** An attempt was sent to instance (`instance`, `id`): one more in flight. @returns false when the instance left in a swap. */
  start(instance: number, id: number): boolean {
    return this.balancing.start(instance, id);
  }

  /**
   * The attempt on instance (`instance`, `id`) ended at `nowMs` (Unix ms): feeds its in-flight
   * count, EWMA, breaker (`probe`: it was the half-open probe) and outlier detection.
   * @returns "ejected" when this outcome ejected it, "kept", or "gone" (left in a swap).
   */
  finish(instance: number, id: number, outcome: AttemptReport, probe: boolean, nowMs: number): "ejected" | "kept" | "gone" {
    return this.balancing.finish(instance, id, outcome, probe, nowMs);
  }

  /**
   * The attempt on (`instance`, `id`) ended by the client's fault (its request body broke off or
   * was malformed): one fewer in flight; no latency, breaker or outlier record, as Envoy counts a
   * downstream reset against no host; a half-open probe reopens its breaker.
   * @returns false when the instance left in a swap.
   */
  cancel(instance: number, id: number, probe: boolean, nowMs: number): boolean {
    return this.balancing.cancel(instance, id, probe, nowMs);
  }

  /** A half-open probe of (`instance`, `id`) was picked but never sent: its breaker opens again (Sentinel keeps one probe). */
  abandonProbe(instance: number, id: number, nowMs: number): void {
    this.balancing.abandonProbe(instance, id, nowMs);
  }

  /**
   * The retry decision after an attempt of route (`route`, `routeId`) on group (`group`,
   * `groupId`) failed (Envoy retry policy with budget and full-jitter back-off;
   * docs/balancing.md, "Retries"). Two calls.
   * @param failure 0 none, 1 connect, 2 reset, 3 timeout (FAILURE_CODES)
   * @param startMs, nowMs Unix ms: when the request was decided, and now.
   * @returns the back-off in ms before the retry (then call retryStarted), or a negative
   *   reason: −1 no failure, −2 not retriable (also: the route or group left in a swap),
   *   −3 non-idempotent, −4 exhausted, −5 over budget, −6 past the deadline.
   */
  retryDecision(
    route: number,
    routeId: number,
    group: number,
    groupId: number,
    status: number,
    failure: number,
    method: string,
    retriesDone: number,
    startMs: number,
    nowMs: number,
  ): number {
    const policy = this.wasm.routeRetryPolicy(route, routeId) >>> 0;
    if (policy === 0) return -2;
    return this.balancing.retryDecisionAt(group, groupId, status, failure, method, retriesDone, startMs, nowMs, policy);
  }

  /** A retry of group (`group`, `groupId`) was sent: counted against its retry budget until retryEnded. */
  retryStarted(group: number, groupId: number): void {
    this.balancing.retryStarted(group, groupId);
  }

  /** A retry of group (`group`, `groupId`) finished. */
  retryEnded(group: number, groupId: number): void {
    this.balancing.retryEnded(group, groupId);
  }

  /** Counters of group `group` (an index of the active snapshot), for the status page. */
  groupCounters(group: number): GroupCounters {
    return this.balancing.counters(group);
  }

  /** Passive health of instance `instance` (an index of the active snapshot), for the status page. */
  instanceHealth(instance: number): InstanceHealth {
    return this.balancing.instanceState(instance);
  }

  /** Writes route `route`'s slots from `request` (byte area free from `at`), then decide(). */
  private decideRoute(route: number, request: DecideRequest, at: number, nowMs: number): Readonly<DecideResult> {
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
      // INT: the parse when the value is a short decimal; the bytes otherwise (the VM parses
      // them), or always when BYTES is set too.
      let flags = mode & 8 ? this.parseShortInt(value, s) : 0;
      if (mode & 1 || (mode & 8 && flags === 0)) {
        const n = this.encode(value, at, false);
        if (n < 0) {
          slots[s + 1] = -1; // too large for the byte area: absent
          slots[s + 3] = 0;
          continue;
        }
        slots[s] = at;
        slots[s + 1] = n;
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
    const keys = this.routeKeys.count[route] as number;
    if (keys > 0) at = this.putHashKeys(route, keys, request, at);
    else this.frame[F_KEY_COUNT] = 0;
    if (this.routesByTag) {
      at = this.putOptional(8, this.info.usesLanes ? request.lane : undefined, at);
      this.putOptional(10, this.info.usesCells ? request.cell : undefined, at);
    }
    this.wasm.decide(nowMs);
    const res = this.results;
    const out = this.out;
    out.status = res[0] as number;
    out.route = res[1] as number;
    out.policy = res[2] as number;
    out.group = res[3] as number;
    out.instance = res[4] as number;
    out.conditionErrors = res[5] as number;
    out.probe = res[6] === 1;
    out.panic = res[7] === 1;
    return out;
  }

  /**
   * Writes the hash-key table of route `route` (`count` keys) from `request` at the next 4-byte
   * boundary from `at`, each key's value after it. A table that does not fit leaves every key
   * absent; a value that does not fit is absent. @returns the next free byte-area offset.
   */
  private putHashKeys(route: number, count: number, request: DecideRequest, at: number): number {
    const table = (at + 3) & ~3;
    let next = table + count * KEY_ENTRY_WORDS * 4;
    if (next > this.bytesCapacity) {
      this.frame[F_KEY_COUNT] = 0;
      return at;
    }
    const keys = this.routeKeys;
    const first = keys.first[route] as number;
    const words = this.byteWords;
    for (let k = 0, w = table >> 2; k < count; k++, w += KEY_ENTRY_WORDS) {
      words[w] = keys.attribute[first + k] as number;
      const value = request.attribute(keys.source[first + k] as number, keys.name[first + k] as string);
      const n = value === undefined ? -1 : this.encode(value, next, false);
      words[w + 1] = next;
      words[w + 2] = n;
      if (n > 0) next += n;
    }
    this.frame[F_KEYS] = table;
    this.frame[F_KEY_COUNT] = count;
    return next;
  }

  /**
   * int() of `value` when it is an optional sign and 1–15 ASCII digits (so exact in a double):
   * stored in slot word `s`'s int cache, returning its flags (INT_DONE | INT_OK). Anything else
   * returns 0 and the VM parses the bytes (wasm/assembly/int64.ts).
   */
  private parseShortInt(value: string, s: number): number {
    const n = value.length;
    const sign = value.charCodeAt(0);
    let i = sign === 0x2d || sign === 0x2b ? 1 : 0;
    if (n - i < 1 || n - i > 15) return 0;
    let v = 0;
    for (; i < n; i++) {
      const d = value.charCodeAt(i) - 0x30;
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
    out.probe = out.panic = false;
    return out;
  }

  /** Writes frame pair `index` (lane 8, cell 10) from an optional value; len 0 when absent or too long. */
  private putOptional(index: number, value: string | undefined, at: number): number {
    const n = value ? this.encode(value, at, false) : 0;
    this.frame[index] = at;
    this.frame[index + 1] = Math.max(n, 0);
    return n > 0 ? at + n : at;
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
    this.frame = new Int32Array(buffer, this.frameAt, FRAME_WORDS);
    const slotCount = this.wasm.slotCapacity() >>> 0;
    this.slots = new Int32Array(buffer, this.slotsAt, slotCount * SLOT_I32);
    this.slotDoubles = new Float64Array(buffer, this.slotsAt, slotCount * 8);
    this.bytes = new Uint8Array(buffer, this.bytesAt, this.bytesCapacity);
    this.byteWords = new Int32Array(buffer, this.bytesAt, this.bytesCapacity >> 2);
    this.results = new Int32Array(buffer, this.resultAt, 8);
  }
}
