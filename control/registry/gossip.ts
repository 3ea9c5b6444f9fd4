/**
 * Heartbeat gossip between control replicas (PostgreSQL only): each replica batches the
 * heartbeats it received and NOTIFYs them every `flushMs` on `sluice_heartbeats`; every replica
 * records the others' batches in its own HeartbeatTable. So the replica that runs the sweep
 * (leader.ts) knows of heartbeats that agents sent to any replica — without a database write per
 * heartbeat. A batch is `<replica>|<id>:<h>,<id>:<h>,…` (h: 1 healthy, 0 failing, - no checks),
 * split to stay under PostgreSQL's 8000-byte payload limit. Arrival time at the receiving replica
 * is what counts, so clocks need not agree. Lost batches (a reconnect) cost at most one interval
 * of freshness, far below any unhealthy timeout.
 */
import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { Database } from "../db/connect.ts";
import { MAX_NOTIFY_PAYLOAD_BYTES, type Notifications } from "../db/notifications.ts";
import type { HeartbeatTable } from "./heartbeat-table.ts";

export const HEARTBEAT_CHANNEL = "sluice_heartbeats";

export class HeartbeatGossip {
  private pending = new Map<number, boolean | undefined>();
  private timer: ReturnType<typeof setInterval>;
  private flushing: Promise<void> | null = null;

  private readonly db: Database;
  private readonly table: HeartbeatTable;
  private readonly replicaId: string;
  private readonly logger: Logger;

  /**
   * @param replicaId this replica's id (its own batches come back and are skipped).
   * @param flushMs how often to send, ms (default 500).
   */
  constructor(db: Database, table: HeartbeatTable, replicaId: string, logger: Logger, flushMs = 500) {
    this.db = db;
    this.table = table;
    this.replicaId = replicaId;
    this.logger = logger;
    this.timer = setInterval(() => void this.flush(), flushMs);
    this.timer.unref?.();
  }

  /** Subscribes to the other replicas' batches. */
  async listen(notifications: Notifications): Promise<void> {
    await notifications.listen(HEARTBEAT_CHANNEL, (payload) => this.receive(payload, Date.now()));
  }

  /** Queues one heartbeat this replica received. */
  add(id: number, healthy: boolean | undefined): void {
    this.pending.set(id, healthy);
  }

  /** Sends what is queued now. Never rejects. */
  flush(): Promise<void> {
    if (this.flushing || this.pending.size === 0) return this.flushing ?? Promise.resolve();
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = (async () => {
      try {
        for (const payload of encodeBatches(this.replicaId, batch)) {
          await this.db.execute(sql`select pg_notify(${HEARTBEAT_CHANNEL}, ${payload})`);
        }
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, "heartbeat gossip failed");
      }
    })().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private receive(payload: string, nowMs: number): void {
    const bar = payload.indexOf("|");
    if (bar < 0 || payload.slice(0, bar) === this.replicaId) return;
    for (const item of payload.slice(bar + 1).split(",")) {
      const [idText, h] = item.split(":");
      const id = Number(idText);
      if (!Number.isInteger(id) || id <= 0) continue;
      this.table.record(id, h === "1" ? true : h === "0" ? false : undefined, nowMs);
    }
  }
}

/** Splits a batch into NOTIFY payloads of at most MAX_NOTIFY_PAYLOAD_BYTES (ASCII). */
export function encodeBatches(replicaId: string, batch: ReadonlyMap<number, boolean | undefined>): string[] {
  const payloads: string[] = [];
  let current = `${replicaId}|`;
  let empty = true;
  for (const [id, healthy] of batch) {
    const item = `${id}:${healthy === true ? "1" : healthy === false ? "0" : "-"}`;
    if (!empty && current.length + 1 + item.length > MAX_NOTIFY_PAYLOAD_BYTES) {
      payloads.push(current);
      current = `${replicaId}|`;
      empty = true;
    }
    current += empty ? item : `,${item}`;
    empty = false;
  }
  if (!empty) payloads.push(current);
  return payloads;
}
