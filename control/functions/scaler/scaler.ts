/**
 * The scaler loop (docs/functions-runtime.md, "The scaler"): the I/O around the pure Knative KPA
 * core (../autoscaler/). On the replica that leads (a PostgreSQL advisory lock,
 * registry/leader.ts) every `tickMs` it:
 *   1. sweeps instances whose lease lapsed (config/function-instances.ts);
 *   2. reads the fresh load reports (a source's row counts while younger than 3 × its interval)
 *      and the instances, and records one value per whole second since the last tick into each
 *      version's ScalingWindows: max(sum over gateways, sum over nodes) — gateways see buffered
 *      requests no instance has yet, nodes see requests that bypass a gateway's count;
 *   3. decides per version that has load, instances, a desired count or a pending poke
 *      (decideScale), and writes function_scale;
 *   4. spreads the desired counts over the live nodes (distribute.ts) and publishes them to the
 *      assignment board, which wakes the nodes' long polls.
 * A poke (POST /v1/gateway/activations) runs a tick at once. From zero it yields activationScale
 * instances: the poke counts as one request in flight for its second, as Knative's activator
 * sends a stat when it buffers a request for a revision at zero.
 *
 * Time comes from `now()` (injectable), so tests drive whole windows without waiting. A replica
 * that is not the leader keeps no state; one that becomes leader starts each version afresh
 * (createScaleState starts in panic above one instance, holding the count while windows refill).
 */
import { and, like, lt, sql } from "drizzle-orm";
import type { Logger } from "pino";
import { sweepExpiredInstances } from "../../config/function-instances.ts";
import type { ConfigDeps } from "../../config/write.ts";
import type { Database } from "../../db/connect.ts";
import { functionInstances, functionLoad, functionScale } from "../../db/schema.ts";
import { setFromExcluded } from "../../db/upsert.ts";
import type { FunctionMetrics, ScaleGaugeRow } from "../../metrics/function-metrics.ts";
import { clampToBounds, createScaleState, decideScale, type ScaleState } from "../autoscaler/decide.ts";
import type { ScalingMetric } from "../autoscaler/settings.ts";
import { BUCKET_MS, ScalingWindows } from "../autoscaler/window.ts";
import { type VersionInfo, versionsById } from "../version-refs.ts";
import type { Assignment, AssignmentBoard } from "./board.ts";
import { distributeInstances } from "./distribute.ts";
import type { FunctionNodes } from "./nodes.ts";

/** Default time between decisions, ms (Knative's autoscaler tick; SLUICE_AUTOSCALER_TICK_MS). */
export const DEFAULT_TICK_MS = 2000;

/** Gateway load rows silent this long are deleted, ms (gateway ids are per isolate start, so old ones never come back). */
export const GATEWAY_LOAD_RETENTION_MS = 3_600_000;

/** What a decision replaces in a version's function_scale row (activation_requested_at is the poke's). */
const SCALE_UPDATE = setFromExcluded(functionScale, ["desired", "panic", "reason", "decidedAt"]);

/** A load report counts while younger than this many of its intervals (as the instance lease: 3 reports). */
const FRESH_INTERVALS = 3;

export interface ScalerOptions {
  db: Database;
  /** For the lease sweep's configuration writes (its onChange should rebuild the snapshot at once). */
  deps: ConfigDeps;
  leadership: { readonly isLeader: boolean };
  nodes: FunctionNodes;
  board: AssignmentBoard;
  metrics?: FunctionMetrics;
  logger: Logger;
  /** Time between ticks, ms (default DEFAULT_TICK_MS). */
  tickMs?: number;
  /** Clock, Unix ms (default Date.now). */
  now?: () => number;
}

/** What the scaler keeps of one version between ticks. */
interface Tracked {
  settingsKey: string;
  windows: ScalingWindows;
  state: ScaleState;
  /** Last second (Unix s) recorded into the windows. */
  lastSecond: number;
  desired: number;
}

export class Scaler {
  private readonly options: Required<Omit<ScalerOptions, "metrics">> & Pick<ScalerOptions, "metrics">;
  private readonly tracked = new Map<number, Tracked>();
  private readonly pokes = new Set<number>();
  /** What the board was last given: desired count (> 0) per version id, with the version it assigns. */
  private readonly placed = new Map<number, { info: VersionInfo; desired: number }>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<void> | null = null;
  private rerun = false;
  private stopped = false;

  constructor(options: ScalerOptions) {
    this.options = { ...options, tickMs: options.tickMs ?? DEFAULT_TICK_MS, now: options.now ?? Date.now };
  }

  /** Starts ticking every tickMs. */
  start(): void {
    this.schedule();
  }

  /** Stops ticking and waits for a running tick. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** The desired count of `versionId` at the last decision here, or null when this replica has made none. */
  desiredOf(versionId: number): number | null {
    return this.tracked.get(versionId)?.desired ?? null;
  }

  /**
   * A gateway's activation request: decides for the version now when this replica leads. A
   * version the current placement runs nowhere is first placed at its activation scale from
   * memory — before any database round trip, in the call's synchronous part — so the agents'
   * long polls wake at once; the tick that follows decides it from the stored load (a poke
   * decides at least the activation scale from zero, so the tick keeps that placement) and
   * stores the decision.
   * @returns its desired count after that decision, or null on a follower (the leader sees
   *   function_scale.activation_requested_at at its next tick).
   */
  async poke(version: VersionInfo): Promise<number | null> {
    if (!this.options.leadership.isLeader) return null;
    if (version.status !== "failed" && (this.placed.get(version.id)?.desired ?? 0) === 0) {
      const { activationScale, minInstances, maxInstances } = version.scaling;
      this.placed.set(version.id, { info: version, desired: clampToBounds(Math.max(1, activationScale), minInstances, maxInstances) });
      this.publishPlacement(this.options.now());
    }
    this.pokes.add(version.id);
    await this.tick();
    return this.desiredOf(version.id);
  }

  /**
   * Runs one tick now; concurrent calls coalesce into at most one more. Never rejects (a failed
   * tick is logged; the next one starts from the database again).
   */
  tick(): Promise<void> {
    if (this.running) {
      this.rerun = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.rerun = false;
        try {
          await this.tickOnce();
        } catch (err) {
          this.options.logger.error({ err }, "function scaler tick failed");
        }
      } while (this.rerun);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.tick().then(() => this.schedule());
    }, this.options.tickMs);
  }

  private async tickOnce(): Promise<void> {
    const { db, leadership, now } = this.options;
    if (!leadership.isLeader) {
      this.tracked.clear();
      this.pokes.clear();
      this.placed.clear();
      return;
    }
    const nowMs = now();
    await sweepExpiredInstances(this.options.deps, nowMs);
    await db
      .delete(functionLoad)
      .where(and(like(functionLoad.source, "gateway:%"), lt(functionLoad.atMs, nowMs - GATEWAY_LOAD_RETENTION_MS)));

    const loads = await db
      .select()
      .from(functionLoad)
      .where(sql`${functionLoad.atMs} + ${FRESH_INTERVALS} * ${functionLoad.intervalMs} >= ${nowMs}`);
    const instances = await db.select({ versionId: functionInstances.versionId, state: functionInstances.state }).from(functionInstances);
    const scales = await db.select().from(functionScale);

    const pokes = new Set(this.pokes);
    this.pokes.clear();
    for (const s of scales) {
      if (s.activationRequestedAt && (!s.decidedAt || s.activationRequestedAt > s.decidedAt)) pokes.add(s.versionId);
    }
    const ids = new Set<number>([
      ...loads.map((l) => l.versionId),
      ...instances.map((i) => i.versionId),
      ...scales.filter((s) => s.desired > 0).map((s) => s.versionId),
      ...pokes,
      ...this.tracked.keys(),
    ]);
    const infos = await versionsById(db, [...ids]);
    for (const id of this.tracked.keys()) if (!infos.has(id)) this.tracked.delete(id);

    const counts = countStates(instances);
    const scaleRows: { versionId: number; desired: number; panic: boolean; reason: string; decidedAt: Date }[] = [];
    const gauges: ScaleGaugeRow[] = [];
    for (const info of infos.values()) {
      const ready = counts.get(info.id)?.ready ?? 0;
      const value = loadValue(
        loads.filter((l) => l.versionId === info.id),
        info.scaling.scalingMetric,
      );
      const decision = this.decide(info, ready, value, pokes.has(info.id), nowMs);
      scaleRows.push({ versionId: info.id, ...decision, decidedAt: new Date(nowMs) });
      gauges.push({ ...info, desired: decision.desired, panic: decision.panic, counts: counts.get(info.id) ?? emptyCounts() });
      const entry = this.tracked.get(info.id);
      // Forget a version at rest: nothing wanted, running or reported.
      if (entry && decision.desired === 0 && !counts.has(info.id) && value === 0) this.tracked.delete(info.id);
    }
    if (scaleRows.length > 0) {
      await db.insert(functionScale).values(scaleRows).onConflictDoUpdate({ target: functionScale.versionId, set: SCALE_UPDATE });
    }
    this.options.metrics?.setScale(gauges);
    this.place(infos, scaleRows, nowMs);
  }

  /** Records this tick's seconds into the version's windows and decides. */
  private decide(info: VersionInfo, ready: number, value: number, poked: boolean, nowMs: number) {
    const settings = info.scaling;
    if (info.status === "failed") return { desired: 0, panic: false, reason: "version-failed" };
    const settingsKey = JSON.stringify(settings);
    let entry = this.tracked.get(info.id);
    const second = Math.floor(nowMs / BUCKET_MS);
    if (!entry || entry.settingsKey !== settingsKey) {
      entry = {
        settingsKey,
        windows: new ScalingWindows(settings),
        state: createScaleState(settings, ready, nowMs),
        lastSecond: second - 1,
        desired: ready,
      };
      this.tracked.set(info.id, entry);
    }
    // Sample and hold: the latest reports stand for every second since the last tick (at most a window's worth).
    const first = Math.max(entry.lastSecond + 1, second - Math.ceil(settings.stableWindowMs / BUCKET_MS) + 1);
    for (let s = first; s <= second; s++) {
      entry.windows.record(s * BUCKET_MS, s === second && poked ? Math.max(value, 1) : value);
    }
    entry.lastSecond = Math.max(entry.lastSecond, second);
    const decision = decideScale(settings, entry.state, { readyInstances: ready, averages: entry.windows.read(nowMs) }, nowMs);
    entry.state = decision.state;
    let desired = decision.desired;
    let reason: string = decision.reason;
    if (poked && desired === 0) {
      desired = clampToBounds(Math.max(1, settings.activationScale), settings.minInstances, settings.maxInstances);
      reason = "activation";
    }
    entry.desired = desired;
    return { desired, panic: decision.panic, reason };
  }

  /**
   * Makes `rows` (this tick's decisions) the placement and publishes it. A version poked after
   * this tick read the database keeps its early placement: the tick that follows decides it.
   */
  private place(infos: ReadonlyMap<number, VersionInfo>, rows: readonly { versionId: number; desired: number }[], nowMs: number): void {
    const pending = [...this.placed].filter(([id]) => this.pokes.has(id));
    this.placed.clear();
    for (const r of rows) {
      const info = infos.get(r.versionId);
      if (info && r.desired > 0) this.placed.set(r.versionId, { info, desired: r.desired });
    }
    for (const [id, entry] of pending) if (!this.placed.has(id)) this.placed.set(id, entry);
    this.publishPlacement(nowMs);
  }

  /** Spreads the placement's desired counts over the live nodes and publishes them (waking the nodes whose list changed). */
  private publishPlacement(nowMs: number): void {
    const demands = [...this.placed].map(([key, { info, desired }]) => ({ key, appkey: info.appkey, desired }));
    const spread = distributeInstances(demands, this.options.nodes.live(nowMs));
    const placement = new Map<string, Assignment[]>();
    for (const [node, versions] of spread) {
      placement.set(
        node,
        [...versions].map(([id, desired]) => toAssignment((this.placed.get(id) as { info: VersionInfo }).info, desired)),
      );
    }
    const changed = this.options.board.publish(placement);
    if (changed.length > 0)
      this.options.logger.debug({ nodes: changed, versions: demands.map((d) => d.key) }, "function assignments changed");
  }
}

function toAssignment(info: VersionInfo, desired: number): Assignment {
  return {
    appkey: info.appkey,
    function: info.function,
    version: info.version,
    desired,
    sha256: info.sha256,
    main: info.main,
    compatibilityDate: info.compatibilityDate,
    env: info.env,
    allowOutbound: info.allowOutbound,
    containerConcurrency: info.scaling.containerConcurrency,
  };
}

type StateCounts = { starting: number; ready: number; draining: number };
const emptyCounts = (): StateCounts => ({ starting: 0, ready: 0, draining: 0 });

function countStates(rows: readonly { versionId: number; state: string }[]): Map<number, StateCounts> {
  const out = new Map<number, StateCounts>();
  for (const r of rows) {
    if (r.state !== "starting" && r.state !== "ready" && r.state !== "draining") continue;
    const c = out.get(r.versionId) ?? emptyCounts();
    c[r.state] += 1;
    out.set(r.versionId, c);
  }
  return out;
}

/**
 * The window value of one second: the larger of the gateways' and the nodes' sums of the scaling
 * metric — requests in flight (time-weighted average), or req/s (requests ÷ interval).
 * E.g. gateways 3 + 4, nodes 6 → 7.
 */
export function loadValue(
  rows: readonly { source: string; concurrency: number; requests: number; intervalMs: number }[],
  metric: ScalingMetric,
): number {
  let gateways = 0;
  let nodes = 0;
  for (const r of rows) {
    const value = metric === "rps" ? (r.intervalMs > 0 ? (r.requests * 1000) / r.intervalMs : 0) : r.concurrency;
    if (r.source.startsWith("gateway:")) gateways += value;
    else nodes += value;
  }
  return Math.max(gateways, nodes);
}
