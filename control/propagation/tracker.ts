/**
 * Records what each gateway isolate says on its snapshot requests (`Sluice-Gateway: <id>` and the
 * `index` it serves) and persists the latest report per gateway to the `gateways` table, so every
 * replica can tell whether a change has reached all gateways (acks.ts), whichever replica each
 * gateway polls. Reports are coalesced per gateway and written in batches, one batch in flight at
 * a time, off the request path; a report never overwrites a newer one (another replica's).
 */
import { lt, sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { Queryable } from "../db/connect.ts";
import { gateways } from "../db/schema.ts";
import type { GatewayReport } from "./acks.ts";

/** Reports older than this are dropped from the table on each flush, ms (10 min). */
export const FORGET_GATEWAY_MS = 10 * 60_000;

/** How often forgotten gateways are deleted, ms. */
const PRUNE_EVERY_MS = 60_000;

/** Gateway ids: what the Worker generates (a UUID), or an operator's name. */
export const GATEWAY_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;

export class GatewayTracker {
  private pending = new Map<string, GatewayReport>();
  private flushing: Promise<void> | null = null;
  private again = false;
  private lastPruneMs = 0;

  private readonly db: Queryable;
  private readonly logger: Logger;

  constructor(db: Queryable, logger: Logger) {
    this.db = db;
    this.logger = logger;
  }

  /** Gateway `id` serves `version` and now holds a poll for up to `waitMs`. */
  pollStarted(id: string, version: number, waitMs: number, nowMs = Date.now()): void {
    this.report({ id, version, pollOpen: true, pollUntilMs: nowMs + waitMs, lastSeenMs: nowMs });
  }

  /** Gateway `id`'s poll ended (answered, timed out or the client went away). */
  pollEnded(id: string, version: number, nowMs = Date.now()): void {
    this.report({ id, version, pollOpen: false, pollUntilMs: nowMs, lastSeenMs: nowMs });
  }

  /** Every gateway report younger than FORGET_GATEWAY_MS, from the table. Flushes first. */
  async list(nowMs = Date.now()): Promise<GatewayReport[]> {
    await this.flush();
    const rows = await this.db.select().from(gateways);
    return rows
      .map((r) => ({
        id: r.id,
        version: r.version,
        pollOpen: r.pollOpen,
        pollUntilMs: r.pollUntil.getTime(),
        lastSeenMs: r.lastSeenAt.getTime(),
      }))
      .filter((r) => nowMs - r.lastSeenMs < FORGET_GATEWAY_MS)
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Writes what is pending. Never rejects (failures are logged; reports are telemetry). */
  flush(): Promise<void> {
    if (this.flushing) {
      this.again = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      do {
        this.again = false;
        const batch = [...this.pending.values()];
        this.pending = new Map();
        if (batch.length > 0)
          await this.write(batch).catch((err) => this.logger.warn({ err: (err as Error).message }, "gateway reports not saved"));
      } while (this.again || this.pending.size > 0);
    })().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private report(r: GatewayReport): void {
    this.pending.set(r.id, r);
    void this.flush();
  }

  private async write(batch: GatewayReport[]): Promise<void> {
    await this.db
      .insert(gateways)
      .values(
        batch.map((r) => ({
          id: r.id,
          version: r.version,
          pollOpen: r.pollOpen,
          pollUntil: new Date(r.pollUntilMs),
          lastSeenAt: new Date(r.lastSeenMs),
        })),
      )
      .onConflictDoUpdate({
        target: gateways.id,
        set: {
          version: sql`excluded.version`,
          pollOpen: sql`excluded.poll_open`,
          pollUntil: sql`excluded.poll_until`,
          lastSeenAt: sql`excluded.last_seen_at`,
        },
        setWhere: sql`excluded.last_seen_at >= ${gateways.lastSeenAt}`,
      });
    const now = Date.now();
    if (now - this.lastPruneMs > PRUNE_EVERY_MS) {
      this.lastPruneMs = now;
      await this.db.delete(gateways).where(lt(gateways.lastSeenAt, new Date(now - FORGET_GATEWAY_MS)));
    }
  }
}
