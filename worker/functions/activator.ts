/**
 * The activation buffer (Knative's activator, inside the gateway; docs/functions-runtime.md, "The
 * activator"): a request whose function version has no available instance waits here, in its own
 * promise, until a snapshot brings the version an instance (released, FIFO), control's answer
 * to a poke names a ready instance before the snapshot does (`direct`, see direct()), its wait
 * runs out (`timeout`), or the isolate's buffer is full (`overflow`, at once).
 *
 * While a version has waiting requests it pokes control — at the first one, then every
 * `pokeIntervalMs` — and keeps the isolate's background loops alive through the oldest waiter's
 * `keepAlive` (Workers run code only inside a request: the snapshot that releases the buffer
 * arrives through the long poll running in some request's waitUntil, which stops when the
 * isolate looks idle). Pure state: the clock and timers are injected, the poke is a callback,
 * and which versions became available is the caller's question (recheck).
 */

import type { ReadyAddress } from "./activation-poke.ts";

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

/** A ready instance control named for a version the snapshot has no instance of yet. */
export interface DirectOutcome {
  direct: ReadyAddress;
}

/**
 * How a wait ended: a snapshot brought an instance (`released`), control named a ready one
 * (DirectOutcome), the buffer was full, or the wait ran out.
 */
export type WaitOutcome = "released" | "overflow" | "timeout" | DirectOutcome;

/**
 * How long addresses control named stay usable without a snapshot, ms: the instance lease
 * (docs/functions-runtime.md, FUNCTION_LEASE_MS = 3 × the 1 s report interval); an instance
 * whose node went silent that long is gone.
 */
export const DIRECT_TTL_MS = 3000;

export interface ActivatorOptions {
  /** Most requests waiting in the isolate at once (FUNCTION_BUFFER_MAX); beyond → `overflow`. */
  maxBuffered: number;
  /** Interval of repeated pokes while a version has waiting requests, ms (the contract's 1 s). */
  pokeIntervalMs: number;
  /**
   * Asks control to activate `version` (POST /v1/gateway/activations); must not throw. Control's
   * answer naming ready instances comes back through direct().
   */
  poke(version: VersionRef): void;
  timers?: Timers;
}

interface Waiter {
  resolve(outcome: WaitOutcome): void;
  timer: unknown;
  keepAlive: () => void;
}

/** Addresses control named for a version, used round-robin until the next snapshot load or `untilMs`. */
interface Direct {
  addresses: readonly ReadyAddress[];
  untilMs: number;
  next: number;
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
  /** By version group id: instances control named ready that no loaded snapshot has yet. */
  private readonly directs = new Map<number, Direct>();
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
   * Waits for an instance of `version` until `deadlineMs` (Unix ms). Resolves a DirectOutcome at
   * once while control's named instances of the version stand (direct()), `overflow` at once when
   * the buffer holds `maxBuffered` requests, `timeout` at once when the deadline has passed.
   * @param keepAlive called every pokeIntervalMs while this is the version's oldest waiter: keeps
   *   the isolate's snapshot poll and telemetry loops running in this request's context.
   */
  wait(version: VersionRef, deadlineMs: number, keepAlive: () => void): Promise<WaitOutcome> {
    const direct = this.takeDirect(version.groupId);
    if (direct) return Promise.resolve(direct);
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

  /**
   * Control answered a poke of version group `groupId` with instances it has just seen turn ready
   * (over the gateway's authenticated channel, after committing them: the next snapshot carries
   * them). Releases the version's waiting requests FIFO, each with one of `addresses`
   * (round-robin), and hands them to the version's next requests too, until the next snapshot
   * load (snapshotLoaded) or DIRECT_TTL_MS. Empty `addresses`: nothing happens.
   */
  direct(groupId: number, addresses: readonly ReadyAddress[]): void {
    if (addresses.length === 0) return;
    this.directs.set(groupId, { addresses, untilMs: this.timers.now() + DIRECT_TTL_MS, next: 0 });
    const queue = this.queues.get(groupId);
    if (!queue) return;
    this.queues.delete(groupId);
    this.timers.clear(queue.ticker);
    this.count -= queue.waiters.length;
    for (const waiter of queue.waiters) {
      this.timers.clear(waiter.timer);
      waiter.resolve(this.takeDirect(groupId) as DirectOutcome);
    }
  }

  /** A snapshot was loaded: it is the source of truth again, so control's named instances are dropped. */
  snapshotLoaded(): void {
    this.directs.clear();
  }

  /** The next of control's named instances of `groupId`, or null when none stand. */
  private takeDirect(groupId: number): DirectOutcome | null {
    const direct = this.directs.get(groupId);
    if (!direct) return null;
    if (this.timers.now() >= direct.untilMs) {
      this.directs.delete(groupId);
      return null;
    }
    const address = direct.addresses[direct.next % direct.addresses.length] as ReadyAddress;
    direct.next += 1;
    return { direct: address };
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
