/**
 * Which control replica runs the singleton loops (the health sweep under LEADER_LOCK_KEY, the
 * function scaler under SCALER_LOCK_KEY, so the two may run on different replicas): the one
 * holding a session-level PostgreSQL advisory lock on a dedicated connection. The lock is
 * released by the server when that connection dies, so a crashed leader is replaced within one
 * retry interval; a leader that loses its connection steps down at once. With PGlite (one
 * process owns the database) this replica always leads.
 */
import pg from "pg";
import type { Logger } from "pino";
import type { SessionSource } from "../db/connect.ts";

/** Advisory lock key of the singleton loops ("SLUICELD"). */
const LEADER_LOCK_KEY = "6002266176527617092";

/** Advisory lock key of the function scaler ("SLUICESC"; docs/functions-runtime.md SCALER_LOCK). */
export const SCALER_LOCK_KEY = "6002266176527614787";

export interface Leadership {
  /** True while this replica holds the lock. */
  readonly isLeader: boolean;
  close(): Promise<void>;
}

/**
 * Starts competing for leadership.
 * @param retryMs how often a follower tries the lock and a leader checks its connection, ms.
 * @param lockKey the advisory lock (bigint, decimal) that decides it; default the singleton loops'.
 */
export function startLeadership(source: SessionSource, logger: Logger, retryMs = 1000, lockKey = LEADER_LOCK_KEY): Leadership {
  if (source.driver === "pglite") return { isLeader: true, close: async () => {} };
  return new PgLeadership(source.url, logger, retryMs, lockKey);
}

class PgLeadership implements Leadership {
  isLeader = false;
  private client: pg.Client | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private ticking: Promise<void> | null = null;

  private readonly url: string;
  private readonly logger: Logger;
  private readonly retryMs: number;
  private readonly lockKey: string;

  constructor(url: string, logger: Logger, retryMs: number, lockKey: string) {
    this.url = url;
    this.logger = logger;
    this.retryMs = retryMs;
    this.lockKey = lockKey;
    this.ticking = this.tick();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    this.stepDown();
  }

  private async tick(): Promise<void> {
    try {
      if (!this.client) await this.connect();
      const client = this.client as pg.Client;
      if (this.isLeader) {
        await client.query("select 1");
      } else {
        const { rows } = await client.query<{ ok: boolean }>("select pg_try_advisory_lock($1::bigint) as ok", [this.lockKey]);
        if (rows[0]?.ok) {
          this.isLeader = true;
          this.logger.info({ lock: this.lockKey }, "this control replica now leads");
        }
      }
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, "leadership connection failed");
      this.stepDown();
    }
    if (!this.closed) {
      this.timer = setTimeout(() => {
        this.ticking = this.tick();
      }, this.retryMs);
    }
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on("error", () => {
      if (this.client === client) this.stepDown();
    });
    await client.connect();
    this.client = client;
  }

  private stepDown(): void {
    if (this.isLeader) this.logger.warn({ lock: this.lockKey }, "this control replica no longer leads");
    this.isLeader = false;
    const client = this.client;
    this.client = null;
    client?.end().catch(() => {});
  }
}
