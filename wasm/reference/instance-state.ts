/**
 * The mutable state of one instance: one fixed-size record per instance, keyed by instance id,
 * that survives snapshot swaps for instances that still exist (docs/balancing.md, "State"). Every
 * algorithm reads and writes only its own fields, so a group may change balancer between
 * snapshots without resetting anything. In WASM this is one record in a table indexed like the
 * snapshot's INSTANCES section; the field comments give the planned WASM types.
 */
import { STATUS_ALIVE } from "./types.ts";

/** Sentinel breaker states (u8). */
export const BREAKER_CLOSED = 0;
export const BREAKER_OPEN = 1;
export const BREAKER_HALF_OPEN = 2;

export interface InstanceState {
  /** u32 instance id (the record's key). */
  id: number;
  /** u8 registry status last seen, to notice a return to ALIVE (which restarts warmup). */
  status: number;
  /**
   * Control's alive-since time last seen (Unix ms; NaN unknown): a later one means the registry
   * saw the instance come back even if no snapshot in between showed it down (snapshots
   * coalesce). Not in the WASM record: WASM compares the previous generation's instance info.
   */
  aliveSinceMs: number;
  /** u32 attempts in flight: +1 when sent, −1 when ended (least request, peak EWMA). */
  active: number;

  /** f64 smooth weighted round robin current weight (also least request's weighted path). */
  swrrCurrent: number;
  /** f64 peak EWMA of latency, ms, as of `ewmaStampMs`; 0 = no sample yet. */
  ewmaMs: number;
  /** f64 ms. */
  ewmaStampMs: number;

  /** f64 ms when the instance last became healthy: the warmup ramp starts here. */
  healthySinceMs: number;

  /** u32 Envoy outlier detection: consecutive 5xx (incl. local failures mapped to 503/504). */
  consecutive5xx: number;
  /** u32 consecutive 502/503/504. */
  consecutiveGatewayFailure: number;
  /** u8 ejected by outlier detection. */
  ejected: boolean;
  /** u32 times ejected (stats). */
  numEjections: number;
  /** u32 ejection time multiplier: +1 per ejection (bounded), −1 per healthy interval. */
  ejectTimeBackoff: number;
  /** f64 ms of the last ejection / un-ejection; −1 = never. */
  lastEjectionMs: number;
  lastUnejectionMs: number;
  /** u32 success-rate counters of the current interval, and of the one before (evaluated). */
  srTotal: number;
  srSuccess: number;
  srLastTotal: number;
  srLastSuccess: number;

  /** u8 BREAKER_*. */
  breakerState: number;
  /** f64 ms the breaker last opened (half-open allowed from openedAt + timeWindow). */
  breakerOpenedMs: number;
  /** u8 the half-open probe is in flight. */
  breakerProbing: boolean;
  /** f64 start of the current statistic window, ms; u32 counters of that window. */
  breakerWindowStartMs: number;
  breakerTotal: number;
  breakerErrors: number;
  breakerSlow: number;
}

/** A fresh record; `healthySinceMs` starts the warmup ramp. */
export function createInstanceState(id: number, status: number, healthySinceMs: number, aliveSinceMs = Number.NaN): InstanceState {
  return {
    id,
    status,
    aliveSinceMs,
    active: 0,
    swrrCurrent: 0,
    ewmaMs: 0,
    ewmaStampMs: 0,
    healthySinceMs,
    consecutive5xx: 0,
    consecutiveGatewayFailure: 0,
    ejected: false,
    numEjections: 0,
    ejectTimeBackoff: 0,
    lastEjectionMs: -1,
    lastUnejectionMs: -1,
    srTotal: 0,
    srSuccess: 0,
    srLastTotal: 0,
    srLastSuccess: 0,
    breakerState: BREAKER_CLOSED,
    breakerOpenedMs: -1,
    breakerProbing: false,
    breakerWindowStartMs: 0,
    breakerTotal: 0,
    breakerErrors: 0,
    breakerSlow: 0,
  };
}

/**
 * The records for a new snapshot: instances that still exist keep their record (in-flight
 * counts, EWMA, ejection, breaker, SWRR position); new instances get a fresh one; records of
 * removed instances are dropped (an attempt still in flight on one finds no record and is
 * ignored). An instance whose status returns to ALIVE, or whose alive-since time moved on (the
 * registry's active health checks pass again, even if the snapshot showing it down was
 * skipped), is un-ejected, gets a closed breaker with a fresh window, and restarts its warmup
 * at `nowMs`. A new
 * instance starts warmup at `aliveSinceMs` when control knows it (so every gateway ramps it
 * alike), else at `nowMs`. O(instances).
 */
export function carryOverStates(
  previous: ReadonlyMap<number, InstanceState>,
  instances: readonly { id: number; status: number; aliveSinceMs?: number }[],
  nowMs: number,
): Map<number, InstanceState> {
  const next = new Map<number, InstanceState>();
  for (const instance of instances) {
    const kept = previous.get(instance.id);
    if (kept) {
      const since = instance.aliveSinceMs ?? Number.NaN;
      const cameBack = kept.status !== STATUS_ALIVE || since > kept.aliveSinceMs; // NaN compares false
      if (instance.status === STATUS_ALIVE && cameBack) {
        // Back by the registry's active checks: un-ejected now, as Envoy's
        // successful_active_health_check_uneject_host (default true), and warmed up again.
        kept.healthySinceMs = nowMs;
        if (kept.ejected) {
          kept.ejected = false;
          kept.lastUnejectionMs = nowMs;
        }
        kept.consecutive5xx = 0;
        kept.consecutiveGatewayFailure = 0;
        // Its breaker too: the failures that opened it belong to the life that ended.
        kept.breakerState = BREAKER_CLOSED;
        kept.breakerOpenedMs = -1;
        kept.breakerProbing = false;
        kept.breakerWindowStartMs = nowMs;
        kept.breakerTotal = kept.breakerErrors = kept.breakerSlow = 0;
      }
      kept.status = instance.status;
      kept.aliveSinceMs = since;
      next.set(instance.id, kept);
    } else {
      next.set(
        instance.id,
        createInstanceState(instance.id, instance.status, instance.aliveSinceMs ?? nowMs, instance.aliveSinceMs ?? Number.NaN),
      );
    }
  }
  return next;
}
