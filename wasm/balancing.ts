/**
 * Typed JS binding of the balancing exports HotPath (wasm/host.ts) calls (wasm/assembly/lb/api.ts;
 * docs/balancing.md "WASM API"): writes strings into the module's scratch area and calls the
 * exports. Marshalling only; every decision is made in WASM. Groups and instances come from the
 * snapshot the module loads (HotPath.load): the balancers read each group's options from its
 * GROUPS record and a route's retry policy from its ROUTES record. Works on the exports of any
 * instance of build/hotpath.wasm. The calls only tests and benches make are in
 * test/support/balancing-probe.ts, a subclass.
 */

/** The failure codes of lbFinish / lbRetryDecision. */
export const FAILURE_CODES = { connect: 1, reset: 2, timeout: 3 } as const;
export type FailureName = keyof typeof FAILURE_CODES;

/** lbSelect's tier codes: which role the pick came from (0 none, 1 primary, 2 backup). */
export const TIERS = ["none", "primary", "backup"] as const;
/** Breaker states by the instance record's code (records.ts: Sentinel closed / open / half-open). */
export const BREAKER_STATES = ["closed", "open", "half-open"] as const;
/** lbAdmit's verdicts by code. */
const ADMISSIONS = ["run", "queue", "reject", "gone"] as const;
/** lbRetryDecision's refusals: reason NO_RETRY_REASONS[−code]. */
export const NO_RETRY_REASONS = ["", "no-failure", "not-retriable", "non-idempotent", "exhausted", "budget", "deadline"] as const;

/** lbSelect's result; one object reused by every call. */
export interface SelectResult {
  instance: number;
  probe: boolean;
  panic: boolean;
  tier: (typeof TIERS)[number];
}

export interface SelectOptions {
  /** Hash key text (xxHash64 in WASM); undefined or "" = no key. */
  key?: string;
  lane?: string;
  cell?: string;
  /** Instance ids this request already tried. */
  tried?: readonly number[];
  attempt?: number;
}

/** An instance's passive health: ejected by outlier detection, ejections so far, breaker state, attempts in flight. */
export interface InstanceHealth {
  ejected: boolean;
  ejections: number;
  breaker: (typeof BREAKER_STATES)[number];
  active: number;
}

/** Counter codes of lbGroupCounter in the group record order. */
export interface GroupCounters {
  active: number;
  pending: number;
  activeRetries: number;
  overflow: number;
  retryOverflow: number;
  panic: number;
  outlierOverflow: number;
  outlierEnforced: number;
}

type Fn = (...args: never[]) => unknown;
type Exports = Record<string, Fn> & { memory: WebAssembly.Memory };

const REQUEST_AREA = 4096; // scratch offset of lane, cell and tried ids
const REQUEST_CAPACITY = 16384;
const TRIED_AREA = REQUEST_AREA + REQUEST_CAPACITY;
const TRIED_CAPACITY = 64;
const METHOD_AREA = 0; // scratch offset of a retry decision's method

/** The balancing exports of one WASM instance. */
export class Balancing {
  protected readonly wasm: Exports;
  private readonly encoder = new TextEncoder();
  /** Address of the module's 64 KiB scratch area (lbScratchAddress). */
  protected readonly scratchAt: number;
  // Views of all of linear memory, re-created by refresh() when it grew.
  protected bytes = new Uint8Array(0);
  protected view = new DataView(new ArrayBuffer(0));
  private ints = new Int32Array(0);
  private readonly resultAt: number;
  /** select()'s result, reused by every call. */
  private readonly result: SelectResult = { instance: -1, probe: false, panic: false, tier: "none" };

  constructor(exports: WebAssembly.Exports) {
    this.wasm = exports as unknown as Exports;
    this.scratchAt = (this.wasm.lbScratchAddress as () => number)();
    this.resultAt = (this.wasm.lbSelectResultAddress as () => number)();
    this.refresh();
  }

  /** Re-creates the memory views when linear memory grew (growth detaches the old buffer). */
  protected refresh(): void {
    const buffer = this.wasm.memory.buffer;
    if (this.bytes.buffer === buffer) return;
    this.bytes = new Uint8Array(buffer);
    this.view = new DataView(buffer);
    this.ints = new Int32Array(buffer);
  }

  /** Writes `text` at scratch offset `at`; returns its byte length. Throws RangeError past `capacity`. */
  protected put(text: string, at: number, capacity: number): number {
    const { written, read } = this.encoder.encodeInto(text, this.bytes.subarray(this.scratchAt + at, this.scratchAt + at + capacity));
    if (read < text.length) throw new RangeError("string does not fit the scratch area");
    return written;
  }

  /**
   * Writes request-derived `text` (hash key, lane, cell, method) at scratch offset `at`.
   * @returns its byte length, or 0 when it does not fit `capacity` — a client's oversized value
   *   is treated as absent (no hash key: a random pick, as Envoy; no lane or cell; a method
   *   that is not idempotent), never as an error.
   */
  private putRequestText(text: string, at: number, capacity: number): number {
    const { written, read } = this.encoder.encodeInto(text, this.bytes.subarray(this.scratchAt + at, this.scratchAt + at + capacity));
    return read < text.length ? 0 : written;
  }

  /** The gateway's own zone and region (UTF-8, ≤ 256 bytes each), for OCTO zone affinity; "" = none. */
  setCaller(zone: string, region: string): void {
    this.refresh();
    const z = this.put(zone, REQUEST_AREA, 256);
    const r = this.put(region, REQUEST_AREA + 256, 256);
    (this.wasm.lbSetCaller as (a: number, b: number, c: number, d: number) => void)(
      this.scratchAt + REQUEST_AREA,
      z,
      this.scratchAt + REQUEST_AREA + 256,
      r,
    );
  }

  /** Four u32 words (crypto.getRandomValues). */
  seed(s0: number, s1: number, s2: number, s3: number): void {
    (this.wasm.lbSeed as (a: number, b: number, c: number, d: number) => void)(s0, s1, s2, s3);
  }

  /**
   * Picks an instance of group (`g`, `id`) at nowMs (a group gone after a swap: instance −1);
   * returns the reused result object.
   */
  select(g: number, id: number, nowMs: number, options: SelectOptions = {}): SelectResult {
    const { key, lane = "", cell = "", tried, attempt = 0 } = options;
    this.refresh();
    let hasHash = 0;
    if (key !== undefined && key !== "") {
      const len = this.putRequestText(key, REQUEST_AREA, REQUEST_CAPACITY);
      if (len > 0) {
        (this.wasm.lbHashKey as (p: number, l: number) => void)(this.scratchAt + REQUEST_AREA, len);
        hasHash = 1;
      }
    }
    const laneLen = lane === "" ? 0 : this.putRequestText(lane, REQUEST_AREA, 1024);
    const cellLen = cell === "" ? 0 : this.putRequestText(cell, REQUEST_AREA + 1024, 1024);
    const triedCount = tried === undefined ? 0 : Math.min(tried.length, TRIED_CAPACITY);
    for (let t = 0; t < triedCount; t++) this.view.setUint32(this.scratchAt + TRIED_AREA + t * 4, tried![t]!, true);
    const instance = (this.wasm.lbSelect as (...a: number[]) => number)(
      g,
      id,
      nowMs,
      hasHash,
      this.scratchAt + REQUEST_AREA,
      laneLen,
      this.scratchAt + REQUEST_AREA + 1024,
      cellLen,
      this.scratchAt + TRIED_AREA,
      triedCount,
      attempt,
    );
    const r = this.resultAt >> 2;
    this.result.instance = instance;
    this.result.probe = this.ints[r + 1] !== 0;
    this.result.panic = this.ints[r + 2] !== 0;
    this.result.tier = TIERS[this.ints[r + 3]!]!;
    return this.result;
  }

  /** The current INSTANCES index of control instance `id`, or -1. */
  instanceIndex(id: number): number {
    return (this.wasm.lbInstanceIndex as (id: number) => number)(id);
  }

  /** An attempt was sent to (`instance`, `id`): one more in flight. @returns false when the instance left in a swap. */
  start(instance: number, id: number): boolean {
    return (this.wasm.lbStart as (i: number, id: number) => number)(instance, id) === 0;
  }

  /** @returns "ejected", "kept" or "gone" (the instance left in a swap). */
  finish(
    instance: number,
    id: number,
    outcome: { status: number; failure?: FailureName | number; latencyMs: number },
    probe: boolean,
    nowMs: number,
  ): "ejected" | "kept" | "gone" {
    // A name (tests) or the code itself (the gateway's attempts, 0 = none).
    const failure =
      outcome.failure === undefined ? 0 : typeof outcome.failure === "number" ? outcome.failure : FAILURE_CODES[outcome.failure];
    const r = (this.wasm.lbFinish as (...a: number[]) => number)(
      instance,
      id,
      outcome.status,
      failure,
      outcome.latencyMs,
      probe ? 1 : 0,
      nowMs,
    );
    return r < 0 ? "gone" : r === 1 ? "ejected" : "kept";
  }

  /** A half-open probe was picked but never sent: the breaker reopens (Sentinel keeps one probe). */
  abandonProbe(instance: number, id: number, nowMs: number): void {
    (this.wasm.lbAbandonProbe as (...a: number[]) => void)(instance, id, nowMs);
  }

  /** The attempt on (`instance`, `id`) ended by the client's fault: one fewer in flight, nothing recorded. @returns false when the instance left in a swap. */
  cancel(instance: number, id: number, probe: boolean, nowMs: number): boolean {
    return (this.wasm.lbCancel as (...a: number[]) => number)(instance, id, probe ? 1 : 0, nowMs) === 0;
  }

  /**
   * Admission to group (`g`, `id`) (Envoy max_requests / max_pending_requests): run now, queue,
   * or reject (counted); "gone" when the group left in a swap.
   */
  admit(g: number, id: number): "run" | "queue" | "reject" | "gone" {
    return ADMISSIONS[(this.wasm.lbAdmit as (g: number, id: number) => number)(g, id)]!;
  }

  /**
   * A running request of group (`g`, `id`) ended. @returns "wake" when a queued request may run
   * now (its slot), "done" when none may, "gone" when the group left in a swap.
   */
  release(g: number, id: number): "wake" | "done" | "gone" {
    const r = (this.wasm.lbRelease as (g: number, id: number) => number)(g, id);
    return r < 0 ? "gone" : r === 1 ? "wake" : "done";
  }

  /** A queued request of group (`g`, `id`) gave up waiting. */
  abandonQueued(g: number, id: number): void {
    (this.wasm.lbAbandonQueued as (g: number, id: number) => void)(g, id);
  }

  /**
   * The retry decision for group (`g`, `id`) under the retry policy of the ROUTES record at
   * `routeAt` (the module's routeRetryPolicy(route, routeId); HotPath.retryDecision). `failure`
   * is a FAILURE_CODES value or 0. @returns the back-off delay in ms (≥ 0), or −NO_RETRY_REASONS
   * index (−2 not-retriable also when the group left in a swap).
   */
  retryDecisionAt(
    g: number,
    id: number,
    status: number,
    failure: number,
    method: string,
    retriesDone: number,
    startMs: number,
    nowMs: number,
    routeAt: number,
  ): number {
    this.refresh();
    const methodLen = this.putRequestText(method, METHOD_AREA, 64);
    return (this.wasm.lbRetryDecision as (...a: number[]) => number)(
      g,
      id,
      status,
      failure,
      this.scratchAt + METHOD_AREA,
      methodLen,
      retriesDone,
      startMs,
      nowMs,
      routeAt,
    );
  }

  /** A retry of group (`g`, `id`) was sent (counted against the budget until retryEnded). */
  retryStarted(g: number, id: number): void {
    (this.wasm.lbRetryStarted as (g: number, id: number) => void)(g, id);
  }

  /** A retry of group (`g`, `id`) finished. */
  retryEnded(g: number, id: number): void {
    (this.wasm.lbRetryEnded as (g: number, id: number) => void)(g, id);
  }

  /**
   * Instance i's passive health, for status pages: whether outlier detection has it ejected,
   * how often it was, its breaker state, and attempts in flight (records.ts offsets 5, 20, 6, 8).
   */
  instanceState(instance: number): InstanceHealth {
    this.refresh();
    const r = new DataView(this.wasm.memory.buffer, (this.wasm.lbInstanceRecord as (i: number) => number)(instance), 128);
    return {
      ejected: r.getUint8(5) !== 0,
      ejections: r.getUint32(20, true),
      breaker: BREAKER_STATES[r.getUint8(6)] ?? "closed",
      active: r.getUint32(8, true),
    };
  }

  /** Group g's counters from its 64-byte record. */
  counters(g: number): GroupCounters {
    this.refresh();
    const at = (this.wasm.lbGroupRecord as (g: number) => number)(g);
    const v = this.view;
    const u64 = (o: number) => Number(v.getBigUint64(at + o, true));
    return {
      active: v.getUint32(at + 4, true),
      pending: v.getUint32(at + 8, true),
      activeRetries: v.getUint32(at + 12, true),
      overflow: u64(16),
      retryOverflow: u64(24),
      panic: u64(32),
      outlierOverflow: u64(40),
      outlierEnforced: u64(48),
    };
  }
}
