/**
 * The limits' per-isolate state: one LimitState per isolate, created when the gateway starts and
 * handed to every snapshot's limit plugins, so counters survive snapshot swaps (they are keyed by
 * the plugin's `scope`, not by the snapshot). Memory is bounded: an entry records when it may be
 * forgotten, expired entries are swept as new keys arrive, and beyond `maxKeys` the oldest key is
 * dropped (a dropped key restarts from zero: the limit errs on letting requests through).
 */
import { RedisClient, type RedisEndpoint } from "./redis-client.ts";
import type { SocketConnect } from "./socket.ts";

/** Most keys one isolate keeps by default (all limit kinds together). */
export const DEFAULT_MAX_KEYS = 100_000;

/** A counter of one key with when it may be forgotten (Unix ms; Infinity: not while in use). */
export interface Expiring {
  expiresAtMs: number;
}

/** How many entries a new key's arrival checks for expiry, from the oldest. */
const SWEEP_STEP = 32;

/** What the limits count about themselves (for metrics and tests). */
export interface LimitStats {
  /** Cluster checks let through because the store was down or slow (failOpen). */
  failedOpen: number;
  /** Cluster checks answered 503 for the same reason. */
  failedClosed: number;
  /** Keys dropped because the cap was reached. */
  droppedKeys: number;
  /** Requests whose CEL key errored (an absent attribute, a failed conversion) or was empty: counted by the client address. */
  keyFallbacks: number;
}

export interface LimitStateOptions {
  /** Most keys kept (default DEFAULT_MAX_KEYS). */
  maxKeys?: number;
  /** The cluster store; null when REDIS_URL is unset (cluster limits then fail as configured). */
  redis?: RedisClient | null;
  /** Prefix of every Redis key the limits write (default `sluice:limit:`). */
  redisKeyPrefix?: string;
}

/** Per-isolate counters of limit-count (local), limit-req and limit-conn, and the cluster store. */
export class LimitState {
  readonly maxKeys: number;
  readonly redis: RedisClient | null;
  readonly redisKeyPrefix: string;
  readonly stats: LimitStats = { failedOpen: 0, failedClosed: 0, droppedKeys: 0, keyFallbacks: 0 };
  private readonly entries = new Map<string, Expiring>();
  /** Where the sweep goes on: a Map iterator stays valid as entries come and go, so sweeping is spread over arrivals. */
  private cursor: MapIterator<[string, Expiring]> | null = null;

  constructor(options: LimitStateOptions = {}) {
    this.maxKeys = Math.max(1, options.maxKeys ?? DEFAULT_MAX_KEYS);
    this.redis = options.redis ?? null;
    this.redisKeyPrefix = options.redisKeyPrefix ?? "sluice:limit:";
  }

  private memberPrefix = "";
  private memberSequence = 0;

  /** A value unique to one request across every gateway (the exact sliding window's log member). */
  uniqueMember(): string {
    // Drawn on first use: Workers refuse randomness outside a request.
    if (this.memberPrefix === "") this.memberPrefix = crypto.randomUUID();
    return `${this.memberPrefix}:${++this.memberSequence}`;
  }

  /** Keys held now. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The entry of `key`, created by `create` when absent or expired at `nowMs`. Creating one may
   * forget expired entries and, at the cap, the oldest one.
   */
  entry<T extends Expiring>(key: string, nowMs: number, create: () => T): T {
    const found = this.entries.get(key) as T | undefined;
    if (found !== undefined && found.expiresAtMs > nowMs) return found;
    if (found !== undefined) this.entries.delete(key);
    else this.sweep(nowMs);
    const made = create();
    this.entries.set(key, made);
    return made;
  }

  /** Forgets `key` if it still holds `entry` (limit-conn's last request ended). */
  release(key: string, entry: Expiring): void {
    if (this.entries.get(key) === entry) this.entries.delete(key);
  }

  /** Drops expired entries among the next few of the sweep's round, then the oldest while at the cap. */
  private sweep(nowMs: number): void {
    this.cursor ??= this.entries.entries();
    for (let checked = 0; checked < SWEEP_STEP; checked++) {
      const next = this.cursor.next();
      if (next.done) {
        this.cursor = null;
        break;
      }
      const [key, entry] = next.value;
      if (entry.expiresAtMs <= nowMs) this.entries.delete(key);
    }
    while (this.entries.size >= this.maxKeys) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
      this.stats.droppedKeys++;
    }
  }
}

/** What the gateway's settings say of the limits (worker/env.ts GatewayConfig: REDIS_URL, REDIS_TIMEOUT_MS). */
export interface LimitSettings {
  redis: RedisEndpoint | null;
  redisTimeoutMs: number;
}

/**
 * The isolate's LimitState from the gateway's settings and its runtime's socket (socket.ts):
 * workerd `workerdConnect` with `reuseConnection` false (a socket belongs to one request), Bun
 * `bunConnect` / Deno `denoConnect` with true. Without REDIS_URL or a socket, cluster limits fail
 * as each is configured (failOpen).
 */
export function createLimitState(
  settings: LimitSettings,
  connect: SocketConnect | null,
  reuseConnection: boolean,
  options: Omit<LimitStateOptions, "redis"> = {},
): LimitState {
  const redis =
    settings.redis !== null && connect !== null
      ? new RedisClient({ endpoint: settings.redis, timeoutMs: settings.redisTimeoutMs, connect, reuseConnection })
      : null;
  return new LimitState({ ...options, redis });
}
