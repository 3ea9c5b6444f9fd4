/**
 * The balancing exports only tests and benches call (wasm/assembly/lb/api.ts; docs/balancing.md
 * "WASM API"): reproducible seeding and the generator, single pipeline steps (plan, EWMA,
 * sweep, breaker), retry budget and back-off, xxHash64, and direct reads and writes of the
 * state records. The gateway's calls stay in wasm/balancing.ts (through HotPath); this subclass
 * adds these over the same instance's exports and memory.
 */
import { Balancing } from "../../wasm/balancing.ts";

/**
 * Scratch offset and size of the probe's string inputs (lane, cell, xxHash64 input). The scratch
 * area holds nothing between calls, so these may overlap the base class's.
 */
const INPUT_AREA = 4096;
const INPUT_CAPACITY = 16384;
const TAG_CAPACITY = 1024;

type Call = (...args: number[]) => number;

export class BalancingProbe extends Balancing {
  private call(name: string): Call {
    return this.wasm[name] as unknown as Call;
  }

  /** Memory of the module (state records are read through it). */
  get memory(): WebAssembly.Memory {
    return this.wasm.memory;
  }

  /** Seeds xoshiro128** through splitmix32 from one u32, as the reference's createRandom(seed). */
  seedFrom(seed: number): void {
    this.call("lbSeedFrom")(seed);
  }

  /** The generator's next u32 (xoshiro128**; the generator conformance table). */
  nextU32(): number {
    return this.call("lbNextU32")() >>> 0;
  }

  /**
   * Steps 1–6 of group `g` at `nowMs` (Unix ms) for a request in `lane` / `cell`: [instance
   * index, effective weight] of the nodes the balancer would get. @throws RangeError when lane
   * or cell exceeds 1 KiB.
   */
  plan(g: number, nowMs: number, lane = "", cell = ""): [number, number][] {
    this.refresh();
    const laneLen = this.put(lane, INPUT_AREA, TAG_CAPACITY);
    const cellLen = this.put(cell, INPUT_AREA + TAG_CAPACITY, TAG_CAPACITY);
    const n = this.call("lbPlan")(g, nowMs, this.scratchAt + INPUT_AREA, laneLen, this.scratchAt + INPUT_AREA + TAG_CAPACITY, cellLen);
    return Array.from({ length: n }, (_, k) => [this.call("lbPlanInstance")(k) >>> 0, this.call("lbPlanWeight")(k)]);
  }

  /** Feeds one latency sample (ms) to instance `instance`'s peak EWMA (finish() does this too). */
  observeLatency(instance: number, latencyMs: number, nowMs: number): void {
    this.call("lbObserveLatency")(instance, latencyMs, nowMs);
  }

  /** Forces group `g`'s outlier sweep at `nowMs` (Envoy's interval timer; selection runs it when due). */
  sweep(g: number, nowMs: number): void {
    this.call("lbSweep")(g, nowMs);
  }

  /** Whether the instance's breaker lets a request through at `nowMs` (closed, or open past its window). */
  breakerAvailable(instance: number, nowMs: number): boolean {
    return this.call("lbBreakerAvailable")(instance, nowMs) !== 0;
  }

  /** The breaker step of a pick: true when this pick becomes the half-open probe. */
  breakerPick(instance: number, nowMs: number): boolean {
    return this.call("lbBreakerPick")(instance, nowMs) !== 0;
  }

  /** Retries group `g` may have in flight now (Envoy retry_budget: max(⌊pct · (active + pending)⌋, min)). */
  retryBudget(g: number, budgetPercent: number, minRetryConcurrency: number): number {
    return this.call("lbRetryBudget")(g, budgetPercent, minRetryConcurrency) >>> 0;
  }

  /** Full-jitter back-off before retry number `retry` (≥ 1), ms: min(uniform [0, (2^retry − 1)·base), cap), as the reference backoffMs. */
  backoffMs(retry: number, baseMs: number, maxMs: number): number {
    return this.call("lbBackoffMs")(retry, baseMs, maxMs);
  }

  /** xxHash64 of the UTF-8 of `input` (or of its bytes) with `seed`. @throws RangeError past 16 KiB. */
  xxHash64(input: string | Uint8Array, seed = 0n): bigint {
    this.refresh();
    let len: number;
    if (typeof input === "string") len = this.put(input, INPUT_AREA, INPUT_CAPACITY);
    else {
      if (input.length > INPUT_CAPACITY) throw new RangeError("input does not fit the scratch area");
      this.bytes.set(input, this.scratchAt + INPUT_AREA);
      len = input.length;
    }
    const hash = this.wasm.lbXxHash64 as unknown as (p: number, l: number, s: bigint) => bigint;
    return BigInt.asUintN(64, hash(this.scratchAt + INPUT_AREA, len, seed));
  }

  /** Instance `instance`'s state record (128 bytes; layout wasm/assembly/lb/records.ts), little-endian. */
  instanceRecord(instance: number): DataView {
    this.refresh();
    return new DataView(this.wasm.memory.buffer, this.call("lbInstanceRecord")(instance), 128);
  }

  /** Sets group `g`'s in-flight counts (tests of admission and budgets). */
  setGroupCounts(g: number, active: number, pending: number, activeRetries: number): void {
    this.refresh();
    const at = this.call("lbGroupRecord")(g);
    this.view.setUint32(at + 4, active, true);
    this.view.setUint32(at + 8, pending, true);
    this.view.setUint32(at + 12, activeRetries, true);
  }
}
