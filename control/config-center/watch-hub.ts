/**
 * The watches held by one control replica (docs/config-center.md "Delivery API"): long polls
 * indexed in memory by `(appkey, env)`. A poll is registered first, then checked against the
 * database (so a release committed meanwhile is not missed), then woken by `notify` (a
 * `sluice_config` notification from any replica, or this replica's own commit). Wakes are
 * coalesced: one query per `(appkey, env)` per turn of the event loop, whatever the number of
 * waiters. Every `recheckMs` every held poll is checked again (one query per `(appkey, env)`), in
 * case a notification was lost; `recheckAll` does it at once (after the LISTEN connection
 * reconnects).
 */
import type { Logger } from "pino";
import { changedReleases, type NamespaceDelivery } from "./effective.ts";
import type { InstanceIdentity } from "./gray-rules.ts";

/** Default period of the re-check of held polls, ms (CONFIG_WATCH_RECHECK_MS). */
export const CONFIG_WATCH_RECHECK_MS = 10_000;

/** What a watch answers: the namespaces whose effective release changed, with it (0: none). */
export type Changed = { namespace: string; release: number }[];

/** Loads the delivery state of `names` of `(appkey, env)` (control/config-center/store.ts loadDelivery). */
export type LoadDelivery = (appkey: string, env: string, names: readonly string[]) => Promise<Map<string, NamespaceDelivery>>;

/** One held poll. */
export interface WatchRequest {
  appkey: string;
  env: string;
  identity: InstanceIdentity;
  /** namespace → release id the client has (0: none). */
  known: ReadonlyMap<string, number>;
  /** How long to hold, ms (the caller adds the jitter). */
  waitMs: number;
  /** Aborted when the client goes away. */
  signal?: AbortSignal;
}

interface Waiter {
  request: WatchRequest;
  settle(changed: Changed | null): void;
}

const groupKey = (appkey: string, env: string) => `${appkey}\u0000${env}`;

export class ConfigWatchHub {
  private readonly groups = new Map<string, Set<Waiter>>();
  /** Groups notified since the last flush, with the namespaces named. */
  private readonly pending = new Map<string, { appkey: string; env: string; names: Set<string> }>();
  private flushScheduled = false;
  private readonly recheckTimer: ReturnType<typeof setInterval>;
  private readonly load: LoadDelivery;
  private readonly logger: Logger;

  /**
   * @param load one query for a group's namespaces.
   * @param recheckMs period of the re-check of every held poll, ms.
   */
  constructor(options: { load: LoadDelivery; logger: Logger; recheckMs?: number }) {
    this.load = options.load;
    this.logger = options.logger;
    this.recheckTimer = setInterval(() => this.recheckAll(), options.recheckMs ?? CONFIG_WATCH_RECHECK_MS);
    this.recheckTimer.unref();
  }

  /** Polls held now. */
  get size(): number {
    let n = 0;
    for (const set of this.groups.values()) n += set.size;
    return n;
  }

  /**
   * Holds a poll until one of its namespaces' effective release differs from `known` (resolves
   * with them), or `waitMs` passes or the client goes (resolves null).
   * @throws when the arrival check cannot read the database.
   */
  async wait(request: WatchRequest): Promise<Changed | null> {
    const key = groupKey(request.appkey, request.env);
    let settle!: (changed: Changed | null) => void;
    const done = new Promise<Changed | null>((resolve) => {
      settle = resolve;
    });
    const waiter: Waiter = { request, settle: () => {} };
    let set = this.groups.get(key);
    if (!set) {
      set = new Set();
      this.groups.set(key, set);
    }
    set.add(waiter);
    const finish = (changed: Changed | null) => {
      clearTimeout(timer);
      request.signal?.removeEventListener("abort", onAbort);
      const group = this.groups.get(key);
      group?.delete(waiter);
      if (group?.size === 0) this.groups.delete(key);
      waiter.settle = () => {};
      settle(changed);
    };
    waiter.settle = finish;
    const timer = setTimeout(() => finish(null), request.waitMs);
    const onAbort = () => finish(null);
    request.signal?.addEventListener("abort", onAbort);
    if (request.signal?.aborted) finish(null);
    try {
      const state = await this.load(request.appkey, request.env, [...request.known.keys()]);
      const changed = changedReleases(request.known, state, request.identity);
      if (changed.length > 0) waiter.settle(changed);
    } catch (error) {
      finish(null);
      throw error;
    }
    return done;
  }

  /** A release (or a gray change) of `namespace` in `(appkey, env)`: re-check the polls that know it. */
  notify(appkey: string, env: string, namespace: string): void {
    const key = groupKey(appkey, env);
    if (!this.groups.has(key)) return;
    let entry = this.pending.get(key);
    if (!entry) {
      entry = { appkey, env, names: new Set() };
      this.pending.set(key, entry);
    }
    entry.names.add(namespace);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Re-checks every held poll now (one query per `(appkey, env)`). */
  recheckAll(): void {
    for (const [key, set] of this.groups) {
      const first = set.values().next().value;
      if (!first) continue;
      const names = new Set<string>();
      for (const waiter of set) for (const name of waiter.request.known.keys()) names.add(name);
      void this.check(key, first.request.appkey, first.request.env, names);
    }
  }

  /** Answers every held poll with 304 (null) and stops the re-check. */
  close(): void {
    clearInterval(this.recheckTimer);
    for (const set of [...this.groups.values()]) for (const waiter of [...set]) waiter.settle(null);
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = [...this.pending];
    this.pending.clear();
    for (const [key, { appkey, env, names }] of batch) void this.check(key, appkey, env, names);
  }

  /** One query for the group, then each waiter that knows one of `names` is judged on those. */
  private async check(key: string, appkey: string, env: string, names: Set<string>): Promise<void> {
    const set = this.groups.get(key);
    if (!set) return;
    const interested = [...set].filter((w) => [...names].some((name) => w.request.known.has(name)));
    if (interested.length === 0) return;
    let state: Map<string, NamespaceDelivery>;
    try {
      state = await this.load(appkey, env, [...names]);
    } catch (error) {
      // The next notification or re-check tries again.
      this.logger.warn({ err: (error as Error).message, appkey, env }, "config watch check failed");
      return;
    }
    for (const waiter of interested) {
      const known = new Map([...waiter.request.known].filter(([name]) => names.has(name)));
      const changed = changedReleases(known, state, waiter.request.identity);
      if (changed.length > 0) waiter.settle(changed);
    }
  }
}
