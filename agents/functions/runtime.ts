/**
 * The node agent's function runtime (`sluice-agent --functions`, docs/functions-runtime.md
 * "Agent ↔ control" and "Instances"). It
 * 1. long-polls control for this node's assignments (GET /v1/agents/functions/assignments),
 *    backing off on errors and keeping the last assignments while control is unreachable
 *    (static stability: running instances keep serving);
 * 2. reconciles instances to them (plan.ts): starts missing ones in parallel, drains surplus
 *    ones newest first, forgets a failed instance after FAILED_RETRY_MS so a new one is tried;
 * 3. reports the node's whole instance set (POST /v1/agents/functions/report) at once after any
 *    state change (changes in the same turn of the event loop, or while a report is in flight,
 *    go out together) and every `reportIntervalMs` otherwise, with each instance's load;
 * 4. drains an instance as the contract says: report it `draining`, wait until every gateway is
 *    past the revision the report answered (GET /v1/propagation), wait for its queue-proxy to
 *    have nothing in flight (the whole drain bounded by --drain-timeout-ms), stop the process
 *    (SIGTERM, SIGKILL after KILL_GRACE_MS), then drop it from reports.
 * `stop()` (agent SIGTERM) drains every instance that way, sends a last report, and resolves.
 */
import { mkdirSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import type { Logger } from "pino";
import type { ControlClient } from "../control-client.ts";
import type { DrainSettings } from "../spec.ts";
import { BundleCache } from "./bundle-cache.ts";
import type { FunctionAssignment, FunctionsClient, NodeReport } from "./client.ts";
import { Instance } from "./instance.ts";
import { killOrphanInstances } from "./orphans.ts";
import { planReconcile, specKeyOf } from "./plan.ts";
import { ReportScheduler } from "./report-scheduler.ts";

/** The long poll's `wait`, seconds (control answers 304 after it). */
export const LONG_POLL_WAIT_S = 25;
/** First and longest wait after a failed long poll, ms (doubling in between). */
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;
/** How long a failed instance holds its slot before a new one is tried, ms. */
export const FAILED_RETRY_MS = 10_000;
/** SIGTERM → SIGKILL grace for a workerd process, ms. */
export const KILL_GRACE_MS = 2000;
/** How often a drain asks whether every gateway has acknowledged, ms (as agents/agent.ts). */
const DRAIN_POLL_MS = 100;

/** The node as it reports itself, and where the runtime keeps its files. */
export interface FunctionsSettings {
  /** Node name (default: the hostname). */
  node: string;
  /** Address the queue-proxies listen on and are reported with. */
  host: string;
  /** Bundle cache and instance configs live here. */
  dataDir: string;
  zone: string;
  region: string;
  cell: string;
  lane: string;
}

export class FunctionRuntime {
  private readonly settings: FunctionsSettings;
  private readonly client: FunctionsClient;
  private readonly control: Pick<ControlClient, "propagation">;
  private readonly drain: DrainSettings;
  private readonly logger: Logger;
  private readonly bundles: BundleCache;
  private readonly emptyDir: string;
  private readonly instances = new Map<string, Instance>();
  private readonly failedAt = new Map<string, number>();
  private readonly drains = new Map<string, Promise<void>>();
  /** Instance key → the revision of the first accepted report that carried it `draining`. */
  private readonly drainRevisions = new Map<string, number | null>();
  private assignments: FunctionAssignment[] = [];
  private index: string | null = null;
  private reportIntervalMs = 1000;
  private stopping = false;
  private readonly poll = new AbortController();
  private polling: Promise<void> | null = null;
  private readonly reports: ReportScheduler;
  private controlDown = false;

  constructor(
    settings: FunctionsSettings,
    client: FunctionsClient,
    control: Pick<ControlClient, "propagation">,
    drain: DrainSettings,
    logger: Logger,
  ) {
    this.settings = settings;
    this.client = client;
    this.control = control;
    this.drain = drain;
    this.logger = logger;
    this.bundles = new BundleCache(settings.dataDir, (sha) => client.bundle(sha));
    this.emptyDir = resolvePath(settings.dataDir, "empty");
    // Each tick is also when failed instances are retried (reconcile forgets them after FAILED_RETRY_MS).
    this.reports = new ReportScheduler({
      send: () => this.sendReport(),
      intervalMs: () => this.reportIntervalMs,
      onTick: () => this.reconcile(),
    });
  }

  /** Starts the long poll and the report loop. @throws when the data directory cannot be created. */
  start(): void {
    mkdirSync(this.emptyDir, { recursive: true });
    const orphans = killOrphanInstances(this.settings.dataDir);
    if (orphans > 0) this.logger.warn({ orphans }, "ended function instances a previous agent left running");
    this.polling = this.pollLoop();
    this.reports.request();
  }

  /** The instances running or draining now (tests, logs). */
  list(): Instance[] {
    return [...this.instances.values()];
  }

  /** Drains every instance, sends a final report and stops every loop. Never rejects. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.poll.abort();
    this.reconcile();
    await Promise.all(this.drains.values());
    await this.polling;
    await this.reports.close();
  }

  private async pollLoop(): Promise<void> {
    let retryMs = RETRY_MIN_MS;
    while (!this.stopping) {
      try {
        const answer = await this.client.assignments(this.settings.node, this.index, LONG_POLL_WAIT_S, this.poll.signal);
        retryMs = RETRY_MIN_MS;
        if (!answer) continue;
        this.index = answer.index;
        this.reportIntervalMs = answer.reportIntervalMs;
        this.assignments = answer.assignments;
        this.logger.info({ index: answer.index, assignments: answer.assignments.length }, "function assignments");
        this.reconcile();
      } catch (err) {
        if (this.stopping) return;
        this.logger.warn({ err: (err as Error).message, retryMs }, "assignments poll failed; keeping the last assignments");
        await sleep(retryMs);
        retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
      }
    }
  }

  /** Brings instances to the assignments (nothing is assigned once stopping). */
  private reconcile(): void {
    const now = performance.now();
    for (const [key, at] of this.failedAt) {
      if (now - at < FAILED_RETRY_MS) continue;
      this.failedAt.delete(key);
      this.forget(key);
    }
    const assigned = this.stopping ? [] : this.assignments;
    const bySpec = new Map(assigned.map((a) => [specKeyOf(a), a]));
    const actions = planReconcile(
      [...bySpec].map(([specKey, a]) => ({ specKey, desired: a.desired })),
      this.list().map((i) => ({
        key: i.key,
        specKey: i.specKey,
        state: i.state === "gone" ? "draining" : i.state,
        startedAtMs: i.startedAtMs,
      })),
    );
    for (const action of actions) {
      if (action.kind === "start") this.startInstance(bySpec.get(action.specKey) as FunctionAssignment, action.specKey);
      else if (action.kind === "remove") this.forget(action.key);
      else this.drainInstance(this.instances.get(action.key) as Instance);
    }
  }

  private startInstance(assignment: FunctionAssignment, specKey: string): void {
    const instance = new Instance(assignment, specKey, {
      bundle: (sha) => this.bundles.get(sha),
      host: this.settings.host,
      emptyDir: this.emptyDir,
      logger: this.logger,
      onStateChange: (i) => this.onStateChange(i),
    });
    this.instances.set(instance.key, instance);
    this.logger.info(
      { instance: instance.key, version: `${assignment.appkey}/${assignment.function}@${assignment.version}` },
      "starting function instance",
    );
    this.reports.request();
    void instance.start();
  }

  private onStateChange(instance: Instance): void {
    if (instance.state === "failed") {
      this.failedAt.set(instance.key, performance.now());
      this.logger.warn({ instance: instance.key, error: instance.error }, "function instance failed");
    }
    this.reports.request();
  }

  /** Drops a failed instance (its process is not running; the queue-proxy is closed). */
  private forget(key: string): void {
    const instance = this.instances.get(key);
    this.failedAt.delete(key);
    if (!instance) return;
    this.instances.delete(key);
    void instance.stop(0);
    this.reports.request();
  }

  private drainInstance(instance: Instance): void {
    if (this.drains.has(instance.key)) return;
    const run = async () => {
      const deadline = performance.now() + this.drain.timeoutMs;
      const wasReady = instance.readyAtMs !== null;
      instance.beginDrain();
      const revision = wasReady ? await this.waitDrainReported(instance.key, deadline) : null;
      const acknowledged = revision === null || (await this.waitPropagated(revision, deadline));
      if (!acknowledged)
        this.logger.warn({ instance: instance.key, revision }, "drain: gateways did not acknowledge in time; stopping anyway");
      await Promise.race([instance.idle(), sleep(Math.max(0, deadline - performance.now()))]);
      await instance.stop(KILL_GRACE_MS);
      this.instances.delete(instance.key);
      this.drainRevisions.delete(instance.key);
      this.logger.info({ instance: instance.key, revision }, "function instance drained and stopped");
      this.reports.request();
    };
    this.drains.set(
      instance.key,
      run().finally(() => this.drains.delete(instance.key)),
    );
  }

  /** @returns the revision of the first accepted report carrying the instance `draining`, or null at the deadline. */
  private async waitDrainReported(key: string, deadline: number): Promise<number | null> {
    while (performance.now() < deadline) {
      if (this.drainRevisions.has(key)) return this.drainRevisions.get(key) as number | null;
      await sleep(DRAIN_POLL_MS / 10);
    }
    return null;
  }

  /** @returns true once control says every gateway is past `revision`, false at the deadline. */
  private async waitPropagated(revision: number, deadline: number): Promise<boolean> {
    while (performance.now() < deadline) {
      const p = await this.control.propagation(revision).catch(() => null);
      if (p?.acknowledged) return true;
      await sleep(DRAIN_POLL_MS);
    }
    return false;
  }

  /** One report of the whole instance set; remembers the revision answered for newly draining instances. */
  private async sendReport(): Promise<void> {
    const instances = this.list();
    const report: NodeReport = {
      node: this.settings.node,
      intervalMs: this.reportIntervalMs,
      zone: this.settings.zone,
      region: this.settings.region,
      cell: this.settings.cell,
      lane: this.settings.lane,
      instances: instances.map((i) => i.report()),
    };
    const draining = report.instances.filter((i) => i.state === "draining").map((i) => i.key);
    try {
      const revision = await this.client.report(report);
      for (const key of draining) if (!this.drainRevisions.has(key)) this.drainRevisions.set(key, revision);
      if (this.controlDown) this.logger.info("control reachable again");
      this.controlDown = false;
    } catch (err) {
      if (!this.controlDown) this.logger.warn({ err: (err as Error).message }, "function report failed; control unreachable?");
      this.controlDown = true;
      throw err;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
