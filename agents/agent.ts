/**
 * The agent daemon: keeps each configured instance registered with control, heartbeats them all
 * in one request per interval, runs their health checks (APISIX-style thresholds, check-state.ts)
 * and reports the results in the heartbeats. On stop it drains: marks every instance `stopping`,
 * waits until control says every gateway has a snapshot without them (GET /v1/propagation), waits
 * a grace period for requests in flight, then deregisters. Control unreachable: it keeps retrying
 * (control's restart grace keeps the instances registered meanwhile).
 */
import type { Logger } from "pino";
import { type CheckState, INITIAL_CHECK_STATE, nextCheckState } from "./check-state.ts";
import { type ControlClient, ControlError } from "./control-client.ts";
import { probe } from "./probes.ts";
import type { AgentConfig, InstanceSpec } from "./spec.ts";

/** Wait between registration retries, ms. */
const RETRY_MS = 1000;
/** How often the drain asks whether every gateway has acknowledged, ms. */
const DRAIN_POLL_MS = 100;

interface Tracked {
  spec: InstanceSpec;
  name: string;
  id: number | null;
  intervalMs: number;
  check: CheckState;
  status: "starting" | "alive" | "stopping";
  registering: Promise<void> | null;
}

export class Agent {
  private readonly config: AgentConfig;
  private readonly client: ControlClient;
  private readonly logger: Logger;
  private readonly tracked: Tracked[];
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private stopping = false;
  private stopped = false;
  private beating: Promise<void> | null = null;
  private beatTimer: ReturnType<typeof setTimeout> | null = null;
  private controlDown = false;

  constructor(config: AgentConfig, client: ControlClient, logger: Logger) {
    this.config = config;
    this.client = client;
    this.logger = logger;
    this.tracked = config.instances.map((spec) => ({
      spec,
      name: `${spec.appkey}/${spec.group}/${spec.host}:${spec.port}`,
      id: null,
      intervalMs: 5000,
      check: INITIAL_CHECK_STATE,
      status: spec.check ? "starting" : "alive",
      registering: null,
    }));
  }

  /** Registers every instance (in the background, retrying) and starts checks and heartbeats. */
  start(): void {
    for (const t of this.tracked) {
      void this.register(t);
      if (t.spec.check) this.scheduleCheck(t, 0);
    }
    this.scheduleBeat();
  }

  /** Drains and deregisters every instance, then stops all loops. Never rejects. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.tracked.map((t) => this.drain(t)));
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private register(t: Tracked): Promise<void> {
    t.registering ??= (async () => {
      while (!this.stopping) {
        try {
          // With checks, `alive` only once they pass; the check loop marks it alive later otherwise.
          const status = !t.spec.check || t.check.healthy ? "alive" : "starting";
          const registered = await this.client.register(t.spec, status);
          t.id = registered.id;
          t.status = status;
          t.intervalMs = registered.heartbeat.intervalMs;
          this.logger.info({ instance: t.name, id: t.id, status, heartbeatIntervalMs: t.intervalMs }, "registered");
          if (status === "alive") this.logger.info({ instance: t.name, id: t.id }, "alive");
          this.scheduleBeat(); // the service's interval may be shorter than the one running
          return;
        } catch (err) {
          this.logger.warn({ instance: t.name, err: (err as Error).message }, "registration failed; retrying");
          await this.sleep(RETRY_MS);
        }
      }
    })().finally(() => {
      t.registering = null;
    });
    return t.registering;
  }

  private scheduleCheck(t: Tracked, delayMs: number): void {
    const check = t.spec.check;
    if (!check || this.stopping) return;
    this.later(delayMs, async () => {
      const passed = await probe(check, t.spec.host, t.spec.port);
      const before = t.check.healthy;
      t.check = nextCheckState(t.check, passed, check);
      if (t.check.healthy !== before) {
        this.logger.info({ instance: t.name, healthy: t.check.healthy }, "health check changed");
        if (t.check.healthy && t.status === "starting" && t.id !== null) await this.markAlive(t);
        void this.beat(); // report at once rather than at the next interval
      }
      this.scheduleCheck(t, check.intervalMs);
    });
  }

  private async markAlive(t: Tracked): Promise<void> {
    try {
      await this.client.setStatus(t.id as number, "alive");
      t.status = "alive";
      this.logger.info({ instance: t.name, id: t.id }, "alive");
    } catch (err) {
      this.logger.warn({ instance: t.name, err: (err as Error).message }, "could not mark alive; will retry");
    }
  }

  /** (Re)arms the heartbeat timer at the shortest interval any instance's service asks for. */
  private scheduleBeat(): void {
    if (this.beatTimer) {
      clearTimeout(this.beatTimer);
      this.timers.delete(this.beatTimer);
    }
    const intervalMs = Math.min(...this.tracked.map((t) => t.intervalMs));
    this.beatTimer = this.later(intervalMs, async () => {
      this.beatTimer = null;
      await this.beat();
      if (!this.beatTimer) this.scheduleBeat();
    });
  }

  /** One heartbeat request for every registered instance. Never rejects. */
  private beat(): Promise<void> {
    this.beating ??= (async () => {
      const live = this.tracked.filter((t) => t.id !== null);
      if (live.length === 0) return;
      try {
        const result = await this.client.heartbeat(
          live.map((t) => ({ id: t.id as number, ...(t.spec.check ? { healthy: t.check.healthy } : {}) })),
        );
        if (this.controlDown) this.logger.info("control reachable again");
        this.controlDown = false;
        for (const r of result.rejected) {
          const t = live.find((x) => x.id === r.id);
          if (!t) continue;
          this.logger.warn({ instance: t.name, id: r.id, reason: r.reason }, "heartbeat refused; registering again");
          t.id = null;
          if (!this.stopping) void this.register(t);
        }
        for (const t of live) {
          if (t.status === "starting" && t.check.healthy && t.id !== null) await this.markAlive(t);
        }
      } catch (err) {
        if (!this.controlDown) this.logger.warn({ err: (err as Error).message }, "heartbeat failed; control unreachable?");
        this.controlDown = true;
      }
    })().finally(() => {
      this.beating = null;
    });
    return this.beating;
  }

  private async drain(t: Tracked): Promise<void> {
    await t.registering;
    if (t.id === null) return;
    const id = t.id;
    const deadline = Date.now() + this.config.drain.timeoutMs;
    let revision: number | null = null;
    while (revision === null && Date.now() < deadline) {
      try {
        revision = await this.client.setStatus(id, "stopping");
        t.status = "stopping";
        this.logger.info({ instance: t.name, id, revision }, "stopping; waiting for the gateways to drain it");
      } catch (err) {
        if (err instanceof ControlError && err.status === 404) return;
        await this.sleep(DRAIN_POLL_MS);
      }
    }
    let acknowledged = false;
    while (revision !== null && Date.now() < deadline) {
      const p = await this.client.propagation(revision).catch(() => null);
      if (p?.acknowledged) {
        acknowledged = true;
        break;
      }
      await this.sleep(DRAIN_POLL_MS);
    }
    if (acknowledged) this.logger.info({ instance: t.name, id }, "drained: every gateway has a snapshot without it");
    else this.logger.warn({ instance: t.name, id, timeoutMs: this.config.drain.timeoutMs }, "drain timed out; deregistering anyway");
    await this.sleep(this.config.drain.graceMs);
    try {
      await this.client.deregister(id);
      this.logger.info({ instance: t.name, id }, "deregistered");
    } catch (err) {
      this.logger.warn({ instance: t.name, err: (err as Error).message }, "deregistration failed; control will expire it");
    }
    t.id = null;
  }

  private later(delayMs: number, run: () => Promise<void>): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) void run();
    }, delayMs);
    this.timers.add(timer);
    return timer;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
