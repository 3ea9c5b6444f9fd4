/**
 * A group as one gateway isolate holds it between snapshot swaps: the snapshot's instances,
 * their state records, the group's counters and outlier-detector record. `swapGroupRuntime`
 * is what `commitLoad` does per group in WASM (lb/generation.ts); `startAttempt` / `finishAttempt` are the
 * bookkeeping around every upstream attempt.
 */
import { createGroupCounters, type GroupCounters } from "./group-breaker.ts";
import { breakerAbandonProbe, breakerRecord, type InstanceBreakerConfig } from "./instance-breaker.ts";
import { carryOverStates, type InstanceState } from "./instance-state.ts";
import { createOutlierGroup, type OutlierConfig, type OutlierGroup, recordOutlierResult } from "./outlier.ts";
import { observeLatency, type PeakEwmaConfig } from "./peak-ewma.ts";
import type { Random } from "./random.ts";
import type { InstanceView, Outcome } from "./types.ts";

export interface GroupRuntime {
  instances: readonly InstanceView[];
  states: ReadonlyMap<number, InstanceState>;
  counters: GroupCounters;
  outlier: OutlierGroup;
}

/**
 * The runtime for a group's instances in a new snapshot, keeping what `previous` knew: records
 * of instances that still exist, the counters and the outlier detector's clock. O(n).
 */
export function swapGroupRuntime(
  previous: GroupRuntime | null,
  instances: readonly (InstanceView & { aliveSinceMs?: number })[],
  nowMs: number,
): GroupRuntime {
  const states = carryOverStates(previous?.states ?? new Map(), instances, nowMs);
  const members = instances.map((i) => states.get(i.id)!);
  const outlier = createOutlierGroup(members, previous?.outlier.lastSweepMs ?? nowMs);
  if (previous) {
    outlier.overflowCount = previous.outlier.overflowCount;
    outlier.enforcedCount = previous.outlier.enforcedCount;
  }
  return { instances, states, counters: previous?.counters ?? createGroupCounters(), outlier };
}

/** An attempt was sent to instance `id`: one more in flight. */
export function startAttempt(group: GroupRuntime, id: number): void {
  const state = group.states.get(id);
  if (state) state.active++;
}

/** What finishing an attempt feeds. */
export interface FeedbackConfig {
  outlier: OutlierConfig;
  breaker: InstanceBreakerConfig;
  peakEwma: PeakEwmaConfig;
}

/**
 * An attempt on instance `id` ended with `outcome` at `nowMs`: one fewer in flight, and the
 * outcome goes to outlier detection, the instance's breaker (`probe` as `selectInstance`
 * returned it) and the latency EWMA (kept whatever the balancer, so switching to peak EWMA
 * starts warm; the pipeline calls this instead of `Balancer.after`, which stays for APISIX-style
 * standalone use). An instance removed meanwhile has no record: ignored. O(1), or O(group) when
 * it ejects.
 * @returns true when this outcome ejected the instance.
 */
export function finishAttempt(
  group: GroupRuntime,
  id: number,
  outcome: Outcome,
  probe: boolean,
  nowMs: number,
  config: FeedbackConfig,
  random: Random,
): boolean {
  const state = group.states.get(id);
  if (!state) return false;
  state.active = Math.max(0, state.active - 1);
  observeLatency(state, outcome.latencyMs, nowMs, config.peakEwma.decayMs);
  breakerRecord(state, outcome, probe, nowMs, config.breaker);
  return recordOutlierResult(group.outlier, state, outcome, nowMs, config.outlier, random);
}

/**
 * An attempt on instance `id` ended because of the client, not the upstream (its request body
 * broke off or was malformed, or it went away before the response): one fewer in flight, and
 * nothing else — no latency, no breaker or outlier record, as Envoy counts a downstream reset
 * against no host. A half-open probe ended this way goes back to OPEN (breakerAbandonProbe), so
 * the breaker gets a real probe later. An instance removed meanwhile: ignored.
 */
export function cancelAttempt(group: GroupRuntime, id: number, probe: boolean, nowMs: number): void {
  const state = group.states.get(id);
  if (!state) return;
  state.active = Math.max(0, state.active - 1);
  if (probe) breakerAbandonProbe(state, nowMs);
}
