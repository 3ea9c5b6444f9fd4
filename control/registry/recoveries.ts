/**
 * Recoveries from heartbeats: an instance the registry holds unhealthy that beats again (with no
 * failing check) is marked healthy at once by whichever replica received the beat, instead of
 * waiting for the leader's next sweep. Queued ids are written in batches, one write in flight at
 * a time; the update is conditional, so a duplicate or a racing sweep is harmless.
 */
import type { Logger } from "pino";
import type { ConfigDeps } from "../config/write.ts";
import { applyHealthChanges } from "./health-writer.ts";
import type { RegistryView } from "./view.ts";

export class RecoveryQueue {
  private queued = new Set<number>();
  private writing: Promise<void> | null = null;

  private readonly deps: ConfigDeps;
  private readonly view: RegistryView;
  private readonly logger: Logger;

  constructor(deps: ConfigDeps, view: RegistryView, logger: Logger) {
    this.deps = deps;
    this.view = view;
    this.logger = logger;
  }

  /** Queues instance `id` for recovery. */
  add(id: number): void {
    this.queued.add(id);
    void this.flush();
  }

  /** Writes what is queued. Never rejects. */
  flush(): Promise<void> {
    if (this.writing) return this.writing;
    this.writing = (async () => {
      while (this.queued.size > 0) {
        const ids = [...this.queued];
        this.queued = new Set();
        try {
          const applied = await applyHealthChanges(this.deps, { markHealthy: ids, markUnhealthy: [], remove: [] });
          for (const row of applied.healthy) {
            const entry = this.view.get(row.id);
            if (entry) this.view.put({ ...entry, healthy: true });
          }
        } catch (err) {
          this.logger.error({ err, ids }, "recovery write failed; the next heartbeat retries");
        }
      }
    })().finally(() => {
      this.writing = null;
    });
    return this.writing;
  }
}
