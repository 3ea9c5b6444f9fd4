/**
 * The activation buffer (Knative's activator, inside the gateway; docs/functions-runtime.md, "The
 * activator"): a request whose function version has no available instance waits here, in its own
 * promise, until a snapshot brings the version an instance (released, FIFO), its wait runs out
 * (`timeout`), or the isolate's buffer is full (`overflow`, at once).
 *
 * While a version has waiting requests it pokes control — at the first one, then every
 * `pokeIntervalMs` — and keeps the isolate's background loops alive through the oldest waiter's
 * `keepAlive` (Workers run code only inside a request: the snapshot that releases the buffer
 * arrives through the long poll running in some request's waitUntil, which stops when the
 * isolate looks idle). Pure state: the clock and timers are injected, the poke is a callback,
 * and which versions became available is the caller's question (recheck).
 */

/** The clock and timers the buffer runs on (tests inject a fake). */
export interface Timers {
  /** Unix ms. */
  now(): number;
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** Date.now and setTimeout. */
export const REAL_TIMERS: Timers = {
  now: () => Date.now(),
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** A function version as the buffer and the load series name it. */
export interface VersionRef {
  /** Control id of the version group `fn:<name>@<n>`: stable across snapshots. */
  groupId: number;
  appkey: string;
  function: string;
  version: number;
}

/** How a wait ended: an instance came (`released`), the buffer was full, or the wait ran out. */
export type WaitOutcome = "released" | "overflow" | "timeout";

export interface ActivatorOptions {
  /** Most requests waiting in the isolate at once (FUNCTION_BUFFER_MAX); beyond → `overflow`. */
  maxBuffered: number;
  /** Interval of repeated pokes while a version has waiting requests, ms (the contract's 1 s). */
  pokeIntervalMs: number;
  /** Asks control to activate `version` (POST /v1/gateway/activations); must not throw. */
  poke(version: VersionRef): void;
  timers?: Timers;
}

interface Waiter {
  resolve(outcome: WaitOutcome): void;
  timer: unknown;
  keepAlive: () => void;
}

interface Queue {
  version: VersionRef;
  /** In arrival order. */
  waiters: Waiter[];
  ticker: unknown;
}

export class Activator {
  private readonly options: ActivatorOptions;
  private readonly timers: Timers;
  /** By version group id, in the order their first waiter came. */
  private readonly queues = new Map<number, Queue>();
  private count = 0;
  /** Since the isolate started: requests that waited, refused for a full buffer, and whose wait ran out. */
  activations = 0;
  overflows = 0;
  timeouts = 0;

  constructor(options: ActivatorOptions) {
    this.options = options;
    this.timers = options.timers ?? REAL_TIMERS;
  }

  /** Requests waiting now, all versions. */
  get buffered(): number {
    return this.count;
  }

  /** Requests of version group `groupId` waiting now. */
  bufferedOf(groupId: number): number {
    return this.queues.get(groupId)?.waiters.length ?? 0;
  }

  /** Each version with waiting requests and how many, in the order their waits began. */
  versions(): { version: VersionRef; buffered: number }[] {
    return [...this.queues.values()].map((q) => ({ version: q.version, buffered: q.waiters.length }));
  }

  /**
   * Waits for an instance of `version` until `deadlineMs` (Unix ms). Resolves `overflow` at once
   * when the buffer holds `maxBuffered` requests, `timeout` at once when the deadline has passed.
   * @param keepAlive called every pokeIntervalMs while this is the version's oldest waiter: keeps
   *   the isolate's snapshot poll and telemetry loops running in this request's context.
   */
  wait(version: VersionRef, deadlineMs: number, keepAlive: () => void): Promise<WaitOutcome> {
    if (this.count >= this.options.maxBuffered) {
      this.overflows += 1;
      return Promise.resolve("overflow");
    }
    const leftMs = deadlineMs - this.timers.now();
    if (leftMs <= 0) {
      this.timeouts += 1;
      return Promise.resolve("timeout");
    }
    let queue = this.queues.get(version.groupId);
    const first = queue === undefined;
    if (!queue) {
      queue = { version, waiters: [], ticker: null };
      this.queues.set(version.groupId, queue);
    }
    this.count += 1;
    this.activations += 1;
    const q = queue;
    const promise = new Promise<WaitOutcome>((resolve) => {
      const waiter: Waiter = { resolve, keepAlive, timer: null };
      waiter.timer = this.timers.set(() => {
        this.timeouts += 1;
        this.remove(q, waiter);
        resolve("timeout");
      }, leftMs);
      q.waiters.push(waiter);
    });
    if (first) {
      this.options.poke(version);
      this.schedulePoke(q);
    }
    return promise;
  }

  /**
   * After a snapshot load: releases, FIFO, every request of each version for which `available`
   * (its version group id) says an instance is there now. Released requests resume in that order
   * (promise resolution order), each to pick an instance itself.
   */
  recheck(available: (groupId: number) => boolean): void {
    for (const [groupId, queue] of this.queues) {
      if (!available(groupId)) continue;
      this.queues.delete(groupId);
      this.timers.clear(queue.ticker);
      this.count -= queue.waiters.length;
      for (const waiter of queue.waiters) {
        this.timers.clear(waiter.timer);
        waiter.resolve("released");
      }
    }
  }

  /** Every pokeIntervalMs while the queue has waiters: poke again and keep the loops alive. */
  private schedulePoke(queue: Queue): void {
    queue.ticker = this.timers.set(() => {
      const oldest = queue.waiters[0];
      if (!oldest || this.queues.get(queue.version.groupId) !== queue) return;
      this.options.poke(queue.version);
      oldest.keepAlive();
      this.schedulePoke(queue);
    }, this.options.pokeIntervalMs);
  }

  private remove(queue: Queue, waiter: Waiter): void {
    const at = queue.waiters.indexOf(waiter);
    if (at < 0) return;
    queue.waiters.splice(at, 1);
    this.count -= 1;
    if (queue.waiters.length > 0) return;
    this.timers.clear(queue.ticker);
    if (this.queues.get(queue.version.groupId) === queue) this.queues.delete(queue.version.groupId);
  }
}
