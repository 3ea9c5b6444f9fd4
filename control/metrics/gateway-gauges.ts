/**
 * The gateway gauges: each live isolate's values from its latest counted push, combined at
 * scrape time. An isolate is live until 3 × its push interval + 10 s after its latest push
 * (the interval taken from that push's `intervalMs`, at least 5 s): after that it is dead or idle
 * and its gauges are dropped, as Prometheus treats a target that missed three scrapes. Pure: the
 * caller passes the time.
 */
import type { GatewayPush, PushInstanceRef } from "./gateway-push.ts";
import { MAX_TRACKED_ISOLATES } from "./push-dedup.ts";

/** Shortest push interval assumed when deciding an isolate is gone, ms. */
export const MIN_PUSH_INTERVAL_MS = 5_000;
/** Pushes an isolate may miss before its gauges are dropped. */
export const MISSED_PUSHES = 3;
/** Slack added to MISSED_PUSHES intervals, ms. */
export const LIVENESS_SLACK_MS = 10_000;

/** How long after its latest push an isolate counts as live, ms. */
export function livenessMs(intervalMs: number): number {
  return MISSED_PUSHES * Math.max(intervalMs, MIN_PUSH_INTERVAL_MS) + LIVENESS_SLACK_MS;
}

/** One isolate's snapshot gauges (`sluice_gateway_snapshot_version` / `_age_seconds`). */
export interface IsolateSnapshotGauge {
  gateway: string;
  slot: number | null;
  /** Decimal version, null before the isolate's first snapshot. */
  version: string | null;
  /** Pushed age plus seconds since that push arrived; null when the push had none. */
  ageSeconds: number | null;
}

/** An instance and how many live isolates hold it in a state. */
export interface InstanceTally extends PushInstanceRef {
  isolates: number;
}

/** The gauges as exposed at one moment. */
export interface GaugeReading {
  /** `sluice_gateways`: live isolates. */
  gateways: number;
  /** `http_server_active_requests`: sum over live isolates. */
  activeRequests: number;
  /** `sluice_outlier_ejected`. */
  ejected: InstanceTally[];
  /** `sluice_circuit_breaker_open`. */
  breakerOpen: InstanceTally[];
  snapshots: IsolateSnapshotGauge[];
}

interface LatestPush {
  receivedMs: number;
  push: GatewayPush;
}

export class GatewayGauges {
  /** isolate id → latest push; Map order = least recently received first. */
  private readonly latest = new Map<string, LatestPush>();
  private readonly maxIsolates: number;

  /** @param options.maxIsolates default MAX_TRACKED_ISOLATES (the oldest is dropped beyond it). */
  constructor(options: { maxIsolates?: number } = {}) {
    this.maxIsolates = options.maxIsolates ?? MAX_TRACKED_ISOLATES;
  }

  /** Keeps `push` as its isolate's latest, received at `nowMs` (ms since epoch). */
  record(push: GatewayPush, nowMs: number): void {
    this.latest.delete(push.gateway);
    this.latest.set(push.gateway, { receivedMs: nowMs, push });
    while (this.latest.size > this.maxIsolates) this.latest.delete(this.latest.keys().next().value as string);
  }

  /** The gauges at `nowMs`, after dropping isolates no longer live. */
  read(nowMs: number): GaugeReading {
    const reading: GaugeReading = { gateways: 0, activeRequests: 0, ejected: [], breakerOpen: [], snapshots: [] };
    const ejected = new Map<string, InstanceTally>();
    const breakerOpen = new Map<string, InstanceTally>();
    for (const [id, { receivedMs, push }] of this.latest) {
      if (nowMs - receivedMs > livenessMs(push.intervalMs)) {
        this.latest.delete(id);
        continue;
      }
      reading.gateways += 1;
      reading.activeRequests += push.gauges.activeRequests;
      tally(ejected, push.gauges.ejected);
      tally(breakerOpen, push.gauges.breakerOpen);
      const age = push.gauges.snapshotAgeSeconds;
      reading.snapshots.push({
        gateway: id,
        slot: push.slot,
        version: push.gauges.snapshotVersion,
        ageSeconds: age === null ? null : age + Math.max(0, nowMs - receivedMs) / 1000,
      });
    }
    reading.ejected = [...ejected.values()];
    reading.breakerOpen = [...breakerOpen.values()];
    return reading;
  }
}

/** Adds one isolate's list to `into`, an instance listed twice by one isolate counting once. */
function tally(into: Map<string, InstanceTally>, refs: PushInstanceRef[]): void {
  const seen = new Set<string>();
  for (const { group, instance } of refs) {
    const key = JSON.stringify([group, instance]);
    if (seen.has(key)) continue;
    seen.add(key);
    const entry = into.get(key);
    if (entry) entry.isolates += 1;
    else into.set(key, { group, instance, isolates: 1 });
  }
}
