/**
 * LISTEN/NOTIFY for control replicas that share one database: a change committed through one
 * replica (NOTIFY sent inside its transaction, so delivered only on commit) reaches every other
 * replica's listeners, which then refresh their caches and wake their blocking queries.
 *
 * PostgreSQL: one dedicated connection per replica (a pooled one would drop LISTEN on release),
 * reconnected with back-off when it fails; after a reconnect every `onResync` handler runs,
 * because notifications sent while it was down are lost. PGlite: the client's own `listen`
 * (one process; notifications are delivered to the sender too, as in PostgreSQL).
 *
 * Channels used by Sluice: `sluice_change` (a committed config write, control/config/write.ts),
 * `sluice_snapshot` (a published snapshot, control/snapshot/builder.ts), `sluice_heartbeats`
 * (heartbeat gossip, control/registry/gossip.ts).
 */
import pg from "pg";
import type { Logger } from "pino";
import type { SessionSource } from "./connect.ts";

export type NotificationHandler = (payload: string) => void;

export interface Notifications {
  /** Subscribes `handler` to `channel` (a lowercase identifier). Resolves once listening. */
  listen(channel: string, handler: NotificationHandler): Promise<void>;
  /** `handler` runs after a reconnect, when notifications may have been missed. */
  onResync(handler: () => void): void;
  close(): Promise<void>;
}

/** Largest NOTIFY payload PostgreSQL accepts is 8000 bytes; stay below it. */
export const MAX_NOTIFY_PAYLOAD_BYTES = 7900;

/** Back-off between reconnect attempts, ms: doubles from MIN to MAX. */
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5000;

/**
 * Opens the notification session for `source`.
 * @throws when the first PostgreSQL connection fails (later failures reconnect silently).
 */
export async function openNotifications(source: SessionSource, logger: Logger): Promise<Notifications> {
  if (source.driver === "pglite") return pgliteNotifications(source.client);
  const session = new PgNotifications(source.url, logger);
  await session.connect();
  return session;
}

function pgliteNotifications(client: Extract<SessionSource, { driver: "pglite" }>["client"]): Notifications {
  const unsubscribers: (() => Promise<void>)[] = [];
  return {
    async listen(channel, handler) {
      unsubscribers.push(await client.listen(channel, handler));
    },
    onResync() {
      // One in-process connection: nothing can be missed.
    },
    async close() {
      for (const unsubscribe of unsubscribers.splice(0)) await unsubscribe().catch(() => {});
    },
  };
}

class PgNotifications implements Notifications {
  private client: pg.Client | null = null;
  private readonly handlers = new Map<string, NotificationHandler[]>();
  private readonly resyncHandlers: (() => void)[] = [];
  private closed = false;
  private retryMs = RECONNECT_MIN_MS;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;

  private readonly url: string;
  private readonly logger: Logger;

  constructor(url: string, logger: Logger) {
    this.url = url;
    this.logger = logger;
  }

  async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on("notification", (message) => {
      for (const handler of this.handlers.get(message.channel) ?? []) handler(message.payload ?? "");
    });
    client.on("error", (err) => this.lost(client, err));
    client.on("end", () => this.lost(client, new Error("connection ended")));
    await client.connect();
    for (const channel of this.handlers.keys()) await client.query(`listen ${quoteChannel(channel)}`);
    this.client = client;
    this.retryMs = RECONNECT_MIN_MS;
  }

  async listen(channel: string, handler: NotificationHandler): Promise<void> {
    const list = this.handlers.get(channel);
    if (list) {
      list.push(handler);
      return;
    }
    this.handlers.set(channel, [handler]);
    await this.client?.query(`listen ${quoteChannel(channel)}`);
  }

  onResync(handler: () => void): void {
    this.resyncHandlers.push(handler);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
  }

  private lost(client: pg.Client, err: Error): void {
    if (this.client !== client || this.closed) return;
    this.client = null;
    this.logger.warn({ err: err.message }, "notification connection lost; reconnecting");
    client.end().catch(() => {});
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect().then(
        () => {
          this.logger.info("notification connection restored; resyncing");
          for (const handler of this.resyncHandlers) handler();
        },
        () => {
          this.retryMs = Math.min(RECONNECT_MAX_MS, this.retryMs * 2);
          this.scheduleReconnect();
        },
      );
    }, this.retryMs);
  }
}

/** Channels are fixed identifiers in this codebase; refuse anything else rather than quote it. */
function quoteChannel(channel: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new Error(`bad channel name ${channel}`);
  return channel;
}
