/**
 * Keeps consumers' fetched JWKS current (docs/edge-protection.md "Consumers"): every
 * `JWKS_REFRESH_MS` (default 300 000) it fetches each jwt-auth credential's `jwks_url` and, when
 * the usable keys changed, stores them through runWrite — a `consumer` revision (public keys only,
 * no secret) whose commit rebuilds and publishes the snapshot like any other write. A failed fetch
 * keeps the last keys and is logged. Only the replica holding the leader lock refreshes, so
 * replicas do not write the same change twice. Its timer never keeps the process alive.
 */
import { eq, isNotNull } from "drizzle-orm";
import type { Logger } from "pino";
import { consumerJwtCredentials, consumers } from "../db/schema.ts";
import { findConsumer, toConsumerDto } from "./consumer-store.ts";
import { type FetchText, fetchJwks, JwtKeyError } from "./jwt-keys.ts";
import { type ConfigDeps, runWrite } from "./write.ts";

/** Default time between refreshes, ms (JWKS_REFRESH_MS). */
export const DEFAULT_JWKS_REFRESH_MS = 300_000;

/** The revision actor of a refresh. */
export const JWKS_REFRESH_ACTOR = "jwks-refresher";

export interface JwksRefresherOptions {
  deps: ConfigDeps;
  logger: Logger;
  /** Time between refreshes, ms (default DEFAULT_JWKS_REFRESH_MS). */
  intervalMs?: number;
  /** Whether this replica refreshes (the leader lock); default always. */
  isLeader?: () => boolean;
  /** How a JWKS URL is fetched (default: fetch with a timeout). */
  fetchBody?: FetchText;
}

/** What one refresh pass did: consumers whose keys changed, and URLs that failed. */
export interface RefreshOutcome {
  changed: string[];
  failed: string[];
}

/** The refresh loop; `refreshOnce()` is one pass (tests call it directly). */
export class JwksRefresher {
  private readonly options: JwksRefresherOptions;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<RefreshOutcome> | null = null;
  private stopped = false;

  constructor(options: JwksRefresherOptions) {
    this.options = options;
  }

  /** Starts the periodic refresh (the first pass after one interval: admission fetched the keys). */
  start(): void {
    this.stopped = false;
    this.arm();
  }

  /** Stops the loop and waits for a running pass. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
  }

  /**
   * Fetches every credential's jwksUrl once and stores the keys that changed (one revision per
   * consumer). Never rejects for a fetch failure (logged, last keys kept); a database error rejects.
   */
  refreshOnce(): Promise<RefreshOutcome> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const leader = this.options.isLeader?.() ?? true;
      const pass = leader ? this.refreshOnce() : Promise.resolve(null);
      void pass.catch((err) => this.options.logger.error({ err }, "JWKS refresh failed; keeping the last keys")).finally(() => this.arm());
    }, this.options.intervalMs ?? DEFAULT_JWKS_REFRESH_MS);
    this.timer.unref?.();
  }

  private async pass(): Promise<RefreshOutcome> {
    const { deps, logger, fetchBody } = this.options;
    const rows = await deps.db
      .select({ name: consumers.name, url: consumerJwtCredentials.jwksUrl, algorithm: consumerJwtCredentials.algorithm })
      .from(consumerJwtCredentials)
      .innerJoin(consumers, eq(consumerJwtCredentials.consumerId, consumers.id))
      .where(isNotNull(consumerJwtCredentials.jwksUrl));
    const outcome: RefreshOutcome = { changed: [], failed: [] };
    for (const row of rows) {
      if (this.stopped) break;
      const url = row.url as string;
      let keys: Record<string, unknown>[];
      try {
        keys = (await fetchJwks(url, row.algorithm as "RS256" | "ES256", fetchBody)) as unknown as Record<string, unknown>[];
      } catch (error) {
        if (!(error instanceof JwtKeyError)) throw error;
        logger.warn({ consumer: row.name, url, err: error.message }, "JWKS refresh failed; keeping the last keys");
        outcome.failed.push(row.name);
        continue;
      }
      if (await this.store(row.name, url, keys)) outcome.changed.push(row.name);
    }
    if (outcome.changed.length > 0) logger.info({ consumers: outcome.changed }, "JWKS changed; snapshot rebuild scheduled");
    return outcome;
  }

  /** Stores `keys` for consumer `name` when they differ from the stored ones (and the URL is unchanged). */
  private async store(name: string, url: string, keys: Record<string, unknown>[]): Promise<boolean> {
    const { result } = await runWrite(this.options.deps, JWKS_REFRESH_ACTOR, async (tx) => {
      const current = await findConsumer(tx, name);
      // Gone, or changed by an admin meanwhile: that write fetched its own keys.
      if (!current?.jwt || current.jwt.jwksUrl !== url || sameKeys(current.jwt.jwks, keys)) {
        return { result: false, revision: [] };
      }
      const [jwt] = await tx
        .update(consumerJwtCredentials)
        .set({ jwks: keys, jwksFetchedAt: new Date(), updatedAt: new Date() })
        .where(eq(consumerJwtCredentials.consumerId, current.row.id))
        .returning();
      const before = toConsumerDto(current.row, current.jwt);
      const after = toConsumerDto(current.row, jwt);
      return { result: true, revision: { action: "update", resource: "consumer", resourceId: name, before, after } };
    });
    return result;
  }
}

/**
 * JWKS_REFRESH_MS as a positive integer (ms), or the default when unset.
 * @throws Error naming the variable when it is not a positive integer.
 */
export function jwksRefreshMs(value: string | undefined): number {
  if (value === undefined || value === "") return DEFAULT_JWKS_REFRESH_MS;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`JWKS_REFRESH_MS must be a positive integer (ms), not "${value}"`);
  return n;
}

/** Whether two key lists are equal, whatever the order of each key's members (jsonb reorders them). */
function sameKeys(a: readonly Record<string, unknown>[], b: readonly Record<string, unknown>[]): boolean {
  const canonical = (keys: readonly Record<string, unknown>[]) =>
    JSON.stringify(keys.map((key) => Object.fromEntries(Object.entries(key).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))));
  return canonical(a) === canonical(b);
}
