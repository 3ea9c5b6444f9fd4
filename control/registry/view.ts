/**
 * A replica's in-memory copy of the registry: every instance with its service, group, health and
 * the service's timings, so a heartbeat is answered without touching the database. Reloaded
 * (debounced) after every committed change, this replica's or another's (`sluice_change`); a
 * lookup that misses the cache asks the database once, so a heartbeat arriving between another
 * replica's registration and the reload is not refused.
 */
import { eq } from "drizzle-orm";
import type { Logger } from "pino";
import type { Queryable } from "../db/connect.ts";
import { groups, instances, services } from "../db/schema.ts";
import type { ServicePolicy } from "./sweep-plan.ts";

export interface RegistryEntry {
  id: number;
  appkey: string;
  group: string;
  registration: "static" | "ephemeral" | "persistent";
  healthy: boolean;
  status: string;
}

/** A service's registry settings (services table). */
export interface ServiceSettings extends ServicePolicy {
  heartbeatIntervalMs: number;
}

/** Debounce of reloads after change notifications, ms. */
const RELOAD_DEBOUNCE_MS = 20;

export class RegistryView {
  private entriesById = new Map<number, RegistryEntry>();
  private settingsByAppkey = new Map<string, ServiceSettings>();
  private reloadTimer: ReturnType<typeof setTimeout> | null = null;
  private loading: Promise<void> | null = null;
  private reloadAgain = false;

  private readonly db: Queryable;
  private readonly logger: Logger;

  constructor(db: Queryable, logger: Logger) {
    this.db = db;
    this.logger = logger;
  }

  /** Loads everything; concurrent calls coalesce. @throws on database errors (first load only matters). */
  load(): Promise<void> {
    if (this.loading) {
      this.reloadAgain = true;
      return this.loading;
    }
    this.loading = (async () => {
      do {
        this.reloadAgain = false;
        const [rows, serviceRows] = await Promise.all([selectEntries(this.db), this.db.select().from(services)]);
        this.entriesById = new Map(rows.map((r) => [r.id, r]));
        this.settingsByAppkey = new Map(serviceRows.map((s) => [s.appkey, settingsOf(s)]));
      } while (this.reloadAgain);
    })().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  /** Reloads soon (after a change notification). Failures are logged; the next change retries. */
  scheduleReload(): void {
    if (this.reloadTimer) return;
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = null;
      this.load().catch((err) => this.logger.error({ err }, "registry reload failed"));
    }, RELOAD_DEBOUNCE_MS);
  }

  /** The cached entry of instance `id`. */
  get(id: number): RegistryEntry | undefined {
    return this.entriesById.get(id);
  }

  /** The entry of `id`, asking the database on a cache miss. */
  async lookup(id: number): Promise<RegistryEntry | undefined> {
    const cached = this.entriesById.get(id);
    if (cached) return cached;
    const row = await selectRegistryEntry(this.db, id);
    if (row) this.entriesById.set(row.id, row);
    return row;
  }

  /** Records a write this replica just committed, ahead of the reload. */
  put(entry: RegistryEntry): void {
    this.entriesById.set(entry.id, entry);
  }

  /** Forgets a deleted instance, ahead of the reload. */
  remove(id: number): void {
    this.entriesById.delete(id);
  }

  entries(): IterableIterator<RegistryEntry> {
    return this.entriesById.values();
  }

  settings(appkey: string): ServiceSettings | undefined {
    return this.settingsByAppkey.get(appkey);
  }

  /** Every service's settings, by appkey. */
  allSettings(): ReadonlyMap<string, ServiceSettings> {
    return this.settingsByAppkey;
  }

  stop(): void {
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    this.reloadTimer = null;
  }
}

/** The registry settings of a services row. */
export function settingsOf(row: typeof services.$inferSelect): ServiceSettings {
  return {
    heartbeatIntervalMs: row.heartbeatIntervalMs,
    unhealthyAfterMs: row.unhealthyAfterMs,
    removeAfterMs: row.removeAfterMs,
    protectThresholdPct: row.protectThresholdPct,
  };
}

/** The entry of instance `id` read from the database (no cache), or undefined when there is none. */
export async function selectRegistryEntry(db: Queryable, id: number): Promise<RegistryEntry | undefined> {
  const [row] = await selectEntries(db, id);
  return row;
}

async function selectEntries(db: Queryable, id?: number): Promise<RegistryEntry[]> {
  const query = db
    .select({
      id: instances.id,
      appkey: services.appkey,
      group: groups.name,
      registration: instances.registration,
      healthy: instances.healthy,
      status: instances.status,
    })
    .from(instances)
    .innerJoin(groups, eq(instances.groupId, groups.id))
    .innerJoin(services, eq(groups.serviceId, services.id));
  const rows = id === undefined ? await query : await query.where(eq(instances.id, id));
  return rows as RegistryEntry[];
}
