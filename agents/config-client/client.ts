/**
 * The config center's client for Node applications (docs/config-center.md "Client and agent"):
 * `createConfigClient(options)` → `start()`, `get(namespace)`, `release(namespace)`,
 * `onChange(namespace, listener)`, `close()`.
 *
 * - Static stability: `start()` loads the cache directory first, so the application has its
 *   last configuration even when control is down; every applied release is written back
 *   atomically (cache.ts).
 * - One watch loop: `GET /v1/config/watch?known=…` held by control up to `watchWaitSeconds`; a
 *   200 names the namespaces whose effective release differs from `known`, which the client then
 *   fetches (`GET /v1/config/fetch`); a 304 polls again. Because `known` carries the ids the
 *   client has, a release made while no poll was open is answered at once by the next poll.
 * - A full fetch every `fullCheckMs` whatever the watch says (a client that missed something
 *   converges).
 * - Errors back off 1 s → 30 s with jitter (backoff.ts); a connection cut while held (a proxy's
 *   idle timeout, Apollo #1617; a control replica restarting) is retried at once.
 * - Listeners (Nacos #8683 / #13482): fetches are applied one at a time, in the order they were
 *   answered, and a listener is called only when a namespace's effective release id (or hash)
 *   differs from the one it has, so once per new effective release, never twice for one. A
 *   release superseded before the client fetched it is skipped: the listener gets the newest.
 * - A fetched release whose content does not match its hash or does not parse as its format is
 *   refused (logged, the previous one kept) until the next full check fetches it again.
 */
import { type BackoffSettings, backoffDelayMs, DEFAULT_BACKOFF } from "./backoff.ts";
import { contentHash, loadCache, storeCache } from "./cache.ts";
import { type ConfigValueByFormat, parseContent } from "./formats.ts";
import {
  type ConfigFormat,
  type ConfigIdentity,
  type FetchedRelease,
  fetchUrl,
  parseFetchAnswer,
  parseWatchAnswer,
  WireError,
  watchUrl,
} from "./wire.ts";

/** Where the client logs (a pino logger fits). */
export interface ConfigClientLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface ConfigClientOptions {
  /** Control's base URL, e.g. `http://127.0.0.1:7400`. */
  controlUrl: string;
  /** An agent token (covering `appkey`) or an admin token, sent as `Authorization: Bearer`. */
  token: string;
  appkey: string;
  /** The environment, e.g. `prod`. */
  env: string;
  /** The namespaces to keep (control's names: `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`). */
  namespaces: string[];
  /** What gray rules match this instance on. */
  identity?: ConfigIdentity;
  /** The cache directory (created if needed); none: no cache, nothing served before control answers. */
  cacheDir?: string;
  /** How long control may hold a watch, s (1–90; default 60). */
  watchWaitSeconds?: number;
  /** Interval of the full fetch, ms (default 300,000). */
  fullCheckMs?: number;
  /** Timeout of a fetch (not a watch), ms (default 10,000). */
  requestTimeoutMs?: number;
  /** Backoff after errors (default 1 s → 30 s). */
  backoff?: Partial<BackoffSettings>;
  /** The fetch to use (default: Node's global fetch, undici). */
  fetch?: typeof globalThis.fetch;
  logger?: ConfigClientLogger;
}

/** A namespace's effective release as the client holds it, its content parsed by format. */
export type ConfigRelease = {
  [F in ConfigFormat]: {
    namespace: string;
    /** Release id (0 never: absent namespaces have no ConfigRelease). */
    release: number;
    format: F;
    /** SHA-256 hex of `content`. */
    hash: string;
    /** The gray's id when this is a gray release matching this instance, else null. */
    gray: number | null;
    content: string;
    /** `content` parsed: properties → Record<string, string>, json / yaml → the value, text → the string. */
    value: ConfigValueByFormat[F];
  };
}[ConfigFormat];

/** What a listener receives: the new release, and the id of the one it replaces (0: none). */
export type ConfigChange = ConfigRelease & { previousRelease: number };

export type ConfigListener = (change: ConfigChange) => void;

export interface ConfigClient {
  /**
   * Loads the cache, fetches once (waiting at most `requestTimeoutMs`; a failure is logged, not
   * thrown: the cache serves), then starts the watch loop and the full check.
   * @throws Error when called twice.
   */
  start(): Promise<void>;
  /** Stops the loops, aborting the open watch; resolves when nothing is left running. */
  close(): Promise<void>;
  /** The parsed value of `namespace`'s release (see ConfigRelease.value); undefined before one is known. */
  get<T = unknown>(namespace: string): T | undefined;
  /** The release the client holds for `namespace`, or undefined. */
  release(namespace: string): ConfigRelease | undefined;
  /**
   * Calls `listener` synchronously for each new effective release of `namespace` applied after
   * this call (nothing retroactively: read `release()` for the current one). The cache loaded by
   * `start()` is not a change; a first fetch that differs from it is. A listener that throws is
   * logged and does not stop the others.
   * @returns a function removing the listener.
   */
  onChange(namespace: string, listener: ConfigListener): () => void;
}

/** A cut after a watch was held at least this long is retried at once; sooner, it backs off. */
const CUT_RETRY_AFTER_MS = 1000;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const NO_LOGGER: ConfigClientLogger = { info() {}, warn() {} };

/** An HTTP status control answered that the client does not expect. */
export class ConfigHttpError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.name = "ConfigHttpError";
    this.status = status;
  }
}

/**
 * Creates a client (nothing runs until `start()`).
 * @throws Error naming the option when `appkey`, `env` or a namespace is not a plain name, or
 *   `namespaces` is empty, or `watchWaitSeconds` is outside 1–90.
 */
export function createConfigClient(options: ConfigClientOptions): ConfigClient {
  return new Client(options);
}

class Client implements ConfigClient {
  private readonly options: ConfigClientOptions;
  private readonly identity: ConfigIdentity;
  private readonly fetch: typeof globalThis.fetch;
  private readonly logger: ConfigClientLogger;
  private readonly backoff: BackoffSettings;
  private readonly waitSeconds: number;
  private readonly releases = new Map<string, ConfigRelease>();
  /** The release id control last reported per namespace (0: none), sent as `known`. */
  private readonly reported = new Map<string, number>();
  private readonly listeners = new Map<string, Set<ConfigListener>>();
  private readonly abort = new AbortController();
  /** Fetches run one after another through this chain, so their answers apply in order. */
  private queue: Promise<void> = Promise.resolve();
  private loop: Promise<void> | null = null;
  private fullCheck: ReturnType<typeof setInterval> | null = null;
  private started = false;
  private closed = false;

  constructor(options: ConfigClientOptions) {
    for (const [field, value] of [["appkey", options.appkey], ["env", options.env], ...options.namespaces.map((n) => ["namespaces", n])]) {
      if (!NAME.test(value as string)) throw new Error(`${field}: not a plain name (letters, digits, . _ -): ${value}`);
    }
    if (options.namespaces.length === 0) throw new Error("namespaces: at least one");
    this.waitSeconds = options.watchWaitSeconds ?? 60;
    if (!Number.isInteger(this.waitSeconds) || this.waitSeconds < 1 || this.waitSeconds > 90)
      throw new Error(`watchWaitSeconds: an integer from 1 to 90, got ${options.watchWaitSeconds}`);
    this.options = options;
    this.identity = options.identity ?? {};
    this.fetch = options.fetch ?? globalThis.fetch;
    this.logger = options.logger ?? NO_LOGGER;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  }

  async start(): Promise<void> {
    if (this.started) throw new Error("config client: start() called twice");
    this.started = true;
    const { cacheDir, appkey, env, namespaces } = this.options;
    if (cacheDir) {
      const { releases, rejected } = await loadCache(cacheDir, appkey, env, namespaces);
      for (const r of rejected) this.logger.warn(r, "config cache file ignored");
      for (const fetched of releases) {
        try {
          this.releases.set(fetched.namespace, withValue(fetched));
        } catch (err) {
          this.logger.warn({ namespace: fetched.namespace, err: (err as Error).message }, "config cache file ignored");
        }
      }
      if (releases.length > 0) this.logger.info({ namespaces: releases.map((r) => r.namespace) }, "config loaded from cache");
    }
    try {
      await this.refresh(namespaces);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, "config fetch failed; serving the cache until control answers");
    }
    if (this.closed) return;
    this.loop = this.watchLoop();
    this.fullCheck = setInterval(() => {
      this.refresh(namespaces).catch((err) => this.logger.warn({ err: (err as Error).message }, "config full check failed"));
    }, this.options.fullCheckMs ?? 300_000);
    this.fullCheck.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    if (this.fullCheck) clearInterval(this.fullCheck);
    await this.loop;
    await this.queue;
  }

  get<T = unknown>(namespace: string): T | undefined {
    return this.releases.get(namespace)?.value as T | undefined;
  }

  release(namespace: string): ConfigRelease | undefined {
    return this.releases.get(namespace);
  }

  onChange(namespace: string, listener: ConfigListener): () => void {
    const set = this.listeners.get(namespace) ?? new Set<ConfigListener>();
    this.listeners.set(namespace, set);
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Fetches `namespaces` after every fetch already queued, and applies the answer. @throws on failure. */
  private refresh(namespaces: string[]): Promise<void> {
    const run = this.queue.then(() => (this.closed ? undefined : this.fetchAndApply(namespaces)));
    this.queue = run.catch(() => {});
    return run;
  }

  private async fetchAndApply(namespaces: string[]): Promise<void> {
    const { controlUrl, appkey, env } = this.options;
    const url = fetchUrl(controlUrl, appkey, env, namespaces, this.identity);
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.options.requestTimeoutMs ?? 10_000)]);
    const res = await this.fetch(url, { headers: this.headers(), signal });
    if (res.status !== 200)
      throw new ConfigHttpError(`GET /v1/config/fetch → ${res.status}: ${(await res.text()).slice(0, 200)}`, res.status);
    const items = parseFetchAnswer(await res.json());
    const wanted = new Set(namespaces);
    // A namespace asked for and not answered has no release (deleted): keep serving the last one,
    // but tell control we know it is absent, or every watch would answer at once.
    for (const namespace of namespaces) this.reported.set(namespace, 0);
    for (const item of items.filter((i) => wanted.has(i.namespace)).sort((a, b) => a.release - b.release)) {
      // Acknowledged even when refused below, so the watch does not answer at once forever; the
      // full check fetches it again.
      this.reported.set(item.namespace, item.release);
      let release: ConfigRelease;
      try {
        if (contentHash(item.content) !== item.hash) throw new WireError("content does not match its hash");
        release = withValue(item);
      } catch (err) {
        this.logger.warn({ namespace: item.namespace, release: item.release, err: (err as Error).message }, "config release refused");
        continue;
      }
      await this.apply(release);
    }
  }

  /** Makes `next` the namespace's release and tells the listeners, unless the client has it already. */
  private async apply(next: ConfigRelease): Promise<void> {
    const current = this.releases.get(next.namespace);
    if (current && current.release === next.release && current.hash === next.hash) return;
    const { cacheDir, appkey, env } = this.options;
    if (cacheDir) {
      try {
        await storeCache(cacheDir, appkey, env, next);
      } catch (err) {
        this.logger.warn({ namespace: next.namespace, err: (err as Error).message }, "config cache write failed");
      }
    }
    this.releases.set(next.namespace, next);
    const change = { ...next, previousRelease: current?.release ?? 0 } as ConfigChange;
    this.logger.info(
      { namespace: next.namespace, release: next.release, previous: change.previousRelease, gray: next.gray },
      "config changed",
    );
    for (const listener of [...(this.listeners.get(next.namespace) ?? [])]) {
      try {
        listener(change);
      } catch (err) {
        this.logger.warn({ namespace: next.namespace, err: (err as Error).message }, "config listener threw");
      }
    }
  }

  private async watchLoop(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      const startedAt = Date.now();
      try {
        const changed = await this.watchOnce();
        const configured = new Set(this.options.namespaces);
        const namespaces = [...new Set(changed.map((c) => c.namespace))].filter((n) => configured.has(n));
        if (namespaces.length > 0) await this.refresh(namespaces);
        failures = 0;
      } catch (err) {
        if (this.closed) return;
        if (isCutConnection(err) && Date.now() - startedAt >= CUT_RETRY_AFTER_MS) {
          this.logger.info({ err: describeError(err) }, "config watch cut; polling again");
          continue;
        }
        failures += 1;
        const delayMs = backoffDelayMs(failures, Math.random(), this.backoff);
        this.logger.warn({ err: describeError(err), failures, delayMs }, "config watch failed; backing off");
        await this.sleep(delayMs);
      }
    }
  }

  /** One long poll: the namespaces that changed (200), or none (304). @throws on anything else. */
  private async watchOnce() {
    const { controlUrl, appkey, env, namespaces } = this.options;
    const known = new Map(namespaces.map((n) => [n, this.reported.get(n) ?? this.releases.get(n)?.release ?? 0]));
    const url = watchUrl(controlUrl, appkey, env, known, this.waitSeconds, this.identity);
    // Control holds the poll up to wait + 10 % jitter; past that with margin, the connection is dead.
    const holdMs = this.waitSeconds * 1100 + 15_000;
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(holdMs)]);
    const res = await this.fetch(url, { headers: this.headers(), signal });
    if (res.status === 304) {
      await res.body?.cancel();
      return [];
    }
    if (res.status !== 200)
      throw new ConfigHttpError(`GET /v1/config/watch → ${res.status}: ${(await res.text()).slice(0, 200)}`, res.status);
    return parseWatchAnswer(await res.json());
  }

  private headers(): Record<string, string> {
    return { authorization: `Bearer ${this.options.token}`, accept: "application/json" };
  }

  /** Waits `ms`, or less when the client is closed. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.abort.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.abort.signal.addEventListener("abort", done);
    });
  }
}

/** A fetched release with its content parsed. @throws when the content does not parse as its format. */
function withValue(fetched: FetchedRelease): ConfigRelease {
  return { ...fetched, value: parseContent(fetched.format, fetched.content) } as ConfigRelease;
}

/** Codes of a connection closed under a request (undici's own, and the socket's). */
const CUT_CODES = new Set(["UND_ERR_SOCKET", "UND_ERR_CLOSED", "ECONNRESET", "EPIPE"]);

/** True when `err` (or a cause) says the connection was closed under the request, not refused. */
export function isCutConnection(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === "string" && CUT_CODES.has(e.code)) return true;
  }
  return false;
}

function describeError(err: unknown): string {
  const cause = (err as { cause?: { message?: string } }).cause;
  return cause?.message ? `${(err as Error).message}: ${cause.message}` : (err as Error).message;
}
