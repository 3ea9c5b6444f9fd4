/**
 * The health sweep, a singleton loop: on the replica that holds the leader lock (leader.ts),
 * every `intervalMs` it plans a sweep from the in-memory registry and heartbeats (planSweep) and
 * persists the transitions (applyHealthChanges), raising protect-threshold events when a
 * service's state changes. A sweep that fires late by more than `stallToleranceMs` shifts the
 * heartbeat table by the delay first: this process was not listening, so that time is not
 * silence (a stalled registry must not mass-deregister, Nacos #1873).
 */
import type { Logger } from "pino";
import type { ConfigDeps } from "../config/write.ts";
import type { RegistryEvent } from "./events.ts";
import { applyHealthChanges } from "./health-writer.ts";
import type { HeartbeatTable } from "./heartbeat-table.ts";
import type { Leadership } from "./leader.ts";
import { planSweep, type SweepInstance } from "./sweep-plan.ts";
import type { RegistryView } from "./view.ts";

export interface SweeperOptions {
  deps: ConfigDeps;
  view: RegistryView;
  heartbeats: HeartbeatTable;
  leadership: Leadership;
  logger: Logger;
  /** Time between sweeps, ms (default 1000). */
  intervalMs?: number;
  /** Lateness beyond which a sweep counts as a stall, ms (default 2000). */
  stallToleranceMs?: number;
}

export class Sweeper {
  private readonly intervalMs: number;
  private readonly stallToleranceMs: number;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private dueMs = 0;
  private running: Promise<void> | null = null;
  private stopped = false;
  /** Services the protect threshold holds, by appkey (events fire on change). */
  private readonly protectedServices = new Map<string, number[]>();
  /** When this leader marked each instance unhealthy, Unix ms (the protect threshold's wave). */
  private readonly turnedAtMs = new Map<number, number>();

  private readonly options: SweeperOptions;

  constructor(options: SweeperOptions) {
    this.options = options;
    this.intervalMs = options.intervalMs ?? 1000;
    this.stallToleranceMs = options.stallToleranceMs ?? 2000;
  }

  start(): void {
    this.stopped = false;
    this.arm();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /**
   * One sweep at `nowMs` (tests call it directly). Never rejects; failures are logged and retried
   * next time. @param stalledMs how late the sweep fired beyond the tolerance, ms (0: on time).
   */
  sweep(nowMs = Date.now(), stalledMs = 0): Promise<void> {
    this.running ??= this.sweepOnce(nowMs, stalledMs)
      .catch((err) => this.options.logger.error({ err }, "health sweep failed"))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private arm(): void {
    if (this.stopped) return;
    this.dueMs = Date.now() + this.intervalMs;
    this.timer = setTimeout(() => {
      const lateMs = Date.now() - this.dueMs;
      const stalled = lateMs > this.stallToleranceMs ? lateMs : 0;
      void this.sweep(Date.now(), stalled).finally(() => this.arm());
    }, this.intervalMs);
  }

  private async sweepOnce(nowMs: number, stalledMs = 0): Promise<void> {
    const { view, heartbeats, leadership, logger } = this.options;
    if (!leadership.isLeader) {
      this.protectedServices.clear();
      this.turnedAtMs.clear();
      return;
    }
    const events: RegistryEvent[] = [];
    if (stalledMs > 0) {
      heartbeats.shift(stalledMs);
      logger.warn({ stalledMs }, "health sweep ran late; not counting the stall as silence");
      events.push({ appkey: null, kind: "sweep_stalled", message: `sweep ran ${stalledMs} ms late`, details: { stalledMs } });
    }
    const instances: SweepInstance[] = [];
    for (const e of view.entries()) {
      instances.push({
        id: e.id,
        appkey: e.appkey,
        registration: e.registration,
        healthy: e.healthy,
        lastSeenMs: heartbeats.lastSeenOrNow(e.id, nowMs),
        reportedHealthy: heartbeats.reported(e.id),
        turnedUnhealthyAtMs: this.turnedAtMs.get(e.id),
      });
    }
    const plan = planSweep(instances, view.allSettings(), nowMs);
    const nowProtected = new Map(plan.protectedServices.map((p) => [p.appkey, p.heldBack]));
    for (const p of plan.protectedServices) {
      if (this.protectedServices.has(p.appkey)) continue;
      events.push({
        appkey: p.appkey,
        kind: "protect_threshold_engaged",
        message: `${p.failingPct.toFixed(0)} % of the instances would be unhealthy at once; still routing to ${p.heldBack.length} of them`,
        details: { failingPct: p.failingPct, heldBack: p.heldBack },
      });
    }
    for (const appkey of this.protectedServices.keys()) {
      if (!nowProtected.has(appkey)) {
        events.push({ appkey, kind: "protect_threshold_released", message: "the unhealthy share is back under the protect threshold" });
      }
    }
    const changes = plan.markUnhealthy.length + plan.markHealthy.length + plan.remove.length;
    if (changes === 0 && events.length === 0) return;
    const applied = await applyHealthChanges(this.options.deps, plan, events);
    // Only once the events are stored: a failed write raises them again next sweep.
    this.protectedServices.clear();
    for (const [appkey, held] of nowProtected) this.protectedServices.set(appkey, held);
    for (const row of applied.unhealthy) this.turnedAtMs.set(row.id, nowMs);
    for (const row of [...applied.healthy, ...applied.removed]) this.turnedAtMs.delete(row.id);
    for (const row of [...applied.unhealthy, ...applied.healthy]) {
      const entry = view.get(row.id);
      if (entry) view.put({ ...entry, healthy: row.healthy });
    }
    for (const row of applied.removed) {
      view.remove(row.id);
      heartbeats.forget(row.id);
    }
    if (changes > 0) {
      logger.info(
        {
          unhealthy: applied.unhealthy.map((r) => r.id),
          healthy: applied.healthy.map((r) => r.id),
          removed: applied.removed.map((r) => r.id),
        },
        "health sweep applied",
      );
    }
  }
}
