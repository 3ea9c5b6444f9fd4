/**
 * The scaling decision, pure: settings, the previous state, what was observed and the time in,
 * a decision and the next state out. The steps are Knative KPA's: the autoscaler's
 * (knative/serving pkg/autoscaler/scaling/autoscaler.go `Scale()`) then the reconciler's bounds,
 * initial scale and scale-to-zero grace (pkg/reconciler/autoscaling/kpa/scaler.go `scale()`).
 */
import { currentMax, emptyMaxWindow, type MaxWindow, recordMax } from "./max-window.ts";
import { resolveMetricTargets, type ScalingSettings } from "./settings.ts";
import type { WindowAverages } from "./window.ts";

/** Knative's autoscaler tick (multiscaler.go tickInterval): the scale-down delay's slot width, ms. */
export const DECISION_TICK_MS = 2000;

/** What the decider remembers between decisions. Times in ms on the caller's clock. */
export interface ScaleState {
  /** Last time panic-window demand met the threshold while panicking (Knative panicTime); null = stable mode. */
  panicSinceMs: number | null;
  /** The most instances wanted during this panic: never scaled below (Knative maxPanicPods). */
  maxPanicInstances: number;
  /** Desired instances per 2 s slot over the scale-down delay (Knative delayWindow); null when the delay is 0. */
  scaleDownDelayWindow: MaxWindow | null;
  /** When the decision first came to zero in this quiet spell; null while instances are wanted. */
  zeroWantedSinceMs: number | null;
  /** True once ready instances reached the initial scale; until then min is raised to it. */
  initialScaleReached: boolean;
}

/** What the caller saw for this decision. */
export interface ScaleObservation {
  /** Instances ready to serve now. */
  readyInstances: number;
  /** Window averages of the scaling metric (requests in flight, or req/s); null = no data yet. */
  averages: WindowAverages | null;
}

/** Why the decision came out as it did, for logs and the API. */
export type ScaleReason =
  | "no-data" // no metric yet: keep the current count within bounds (Knative: invalid scale)
  | "stable" // the stable window decided
  | "panic" // panicking: the larger of stable and panic, never below this panic's high mark
  | "scale-down-delayed" // a lower count waits for the delay window to pass
  | "bounded" // min, max or the initial scale overrode the algorithm
  | "zero-grace"; // zero is wanted, but the grace has not passed: one instance stays

/** A decision. Instances are counts; averages in the metric's unit. */
export interface ScaleDecision {
  /** Instances wanted now. */
  desired: number;
  /** True while in panic mode. */
  panic: boolean;
  /**
   * Spare capacity beyond the burst wanted: floor(ready × total − targetBurstCapacity − panicAverage);
   * 0 when targetBurstCapacity is 0, -1 when it is -1 (unlimited). Negative: keep the activator
   * in the path. As Knative's ExcessBurstCapacity.
   */
  excessBurstCapacity: number;
  stableAverage: number;
  panicAverage: number;
  reason: ScaleReason;
  state: ScaleState;
}

/**
 * The state of a newly tracked function with `readyInstances` already up. Above one instance it
 * starts in panic, as Knative newAutoscaler(): metric history is lost on restart, and panic keeps
 * the current count until the stable window refills.
 */
export function createScaleState(settings: ScalingSettings, readyInstances: number, nowMs: number): ScaleState {
  return {
    panicSinceMs: readyInstances > 1 ? nowMs : null,
    maxPanicInstances: readyInstances,
    scaleDownDelayWindow: settings.scaleDownDelayMs > 0 ? emptyMaxWindow(Math.ceil(settings.scaleDownDelayMs / DECISION_TICK_MS)) : null,
    zeroWantedSinceMs: null,
    initialScaleReached: readyInstances >= settings.initialScale,
  };
}

/** Instances to create a function with: the initial scale within min/max (Knative GetInitialScale + bounds). */
export function initialInstances(settings: ScalingSettings): number {
  return clampToBounds(Math.max(settings.initialScale, settings.minInstances), settings.minInstances, settings.maxInstances);
}

/** `count` within [min, max]; max 0 is unlimited, as Knative applyBounds(). */
export function clampToBounds(count: number, minInstances: number, maxInstances: number): number {
  if (count < minInstances) return minInstances;
  if (maxInstances > 0 && count > maxInstances) return maxInstances;
  return count;
}

/**
 * Decides the instance count at `nowMs`, as Knative Scale() then the KPA scaler. With target
 * t = total × utilisation per instance and r = max(1, ready):
 *   1. stable = ceil(stableAverage ÷ t), panic = ceil(panicAverage ÷ t), each kept within
 *      [floor(r ÷ maxScaleDownRate), ceil(maxScaleUpRate × r)]; raised to activationScale when > 0.
 *   2. panic is entered when ceil(panicAverage ÷ t) ÷ r ≥ panicThreshold, and left once a whole
 *      stable window has passed without meeting it; while panicking, the larger of the two counts,
 *      never below this panic's high mark.
 *   3. with a scale-down delay, the maximum of step 2 over the delay (2 s slots).
 *   4. within [min (raised to initialScale until first reached), max]; zero only after zero has
 *      been wanted for scaleToZeroGraceMs (one instance meanwhile).
 * E.g. 1000 in flight, target 10 × 1.0, 1 ready, maxScaleUpRate 10: stable wants 100, capped at
 * ceil(10 × 1) = 10; the next decision with 10 ready reaches 100.
 */
export function decideScale(settings: ScalingSettings, state: ScaleState, observation: ScaleObservation, nowMs: number): ScaleDecision {
  const ready = observation.readyInstances;
  const initialScaleReached = state.initialScaleReached || ready >= settings.initialScale;
  const minInstances = initialScaleReached ? settings.minInstances : Math.max(settings.minInstances, settings.initialScale);
  const { targetPerInstance, totalPerInstance } = resolveMetricTargets(settings);

  if (observation.averages === null) {
    return {
      desired: clampToBounds(ready, minInstances, settings.maxInstances),
      panic: state.panicSinceMs !== null,
      excessBurstCapacity: excessBurstCapacity(settings, ready, totalPerInstance, 0),
      stableAverage: 0,
      panicAverage: 0,
      reason: "no-data",
      state: { ...state, initialScaleReached },
    };
  }
  const { stableAverage, panicAverage } = observation.averages;

  // Rates apply to at least one instance, so a function at zero can grow (Knative: "Use 1 if there are zero current pods").
  const rateBase = Math.max(1, ready);
  // At least one more instance when growth is wanted, even with a rate like 1.1: ceil(1.1 × 2) = 3, not 2.
  const maxScaleUp = Math.ceil(settings.maxScaleUpRate * rateBase);
  const maxScaleDown = Math.floor(rateBase / settings.maxScaleDownRate);

  const wantedStable = Math.ceil(stableAverage / targetPerInstance);
  const wantedPanic = Math.ceil(panicAverage / targetPerInstance);
  let desiredStable = Math.min(Math.max(wantedStable, maxScaleDown), maxScaleUp);
  let desiredPanic = Math.min(Math.max(wantedPanic, maxScaleDown), maxScaleUp);
  if (settings.activationScale > 1) {
    if (wantedStable > 0) desiredStable = Math.max(desiredStable, settings.activationScale);
    if (wantedPanic > 0) desiredPanic = Math.max(desiredPanic, settings.activationScale);
  }

  // Panic judges the unclamped panic demand against what is ready, as Knative isOverPanicThreshold.
  const overPanicThreshold = wantedPanic / rateBase >= settings.panicThreshold;
  let panicSinceMs = state.panicSinceMs;
  let maxPanicInstances = state.maxPanicInstances;
  if (overPanicThreshold) {
    panicSinceMs = nowMs; // entering, or extending: the stable window counts from the last surge
  } else if (panicSinceMs !== null && panicSinceMs + settings.stableWindowMs < nowMs) {
    // The surge has had a whole stable window to reach the stable average: trust it again.
    panicSinceMs = null;
    maxPanicInstances = 0;
  }

  let desired = desiredStable;
  let reason: ScaleReason = "stable";
  if (panicSinceMs !== null) {
    // The stable window can exceed the panic one (a surge that just ended): provision for the larger.
    desired = Math.max(desiredStable, desiredPanic);
    maxPanicInstances = Math.max(maxPanicInstances, desired);
    desired = maxPanicInstances; // never scale down in panic
    reason = "panic";
  }

  let scaleDownDelayWindow = state.scaleDownDelayWindow;
  if (scaleDownDelayWindow !== null) {
    scaleDownDelayWindow = recordMax(scaleDownDelayWindow, Math.floor(nowMs / DECISION_TICK_MS), desired);
    const delayed = currentMax(scaleDownDelayWindow);
    if (delayed !== desired) reason = "scale-down-delayed";
    desired = delayed;
  }

  const bounded = clampToBounds(desired, minInstances, settings.maxInstances);
  if (bounded !== desired) reason = "bounded";
  desired = bounded;

  let zeroWantedSinceMs: number | null = null;
  if (desired === 0 && ready > 0) {
    // Knative keeps the last instance until the activator has been in the path for the grace.
    zeroWantedSinceMs = state.zeroWantedSinceMs ?? nowMs;
    if (nowMs - zeroWantedSinceMs < settings.scaleToZeroGraceMs) {
      desired = 1;
      reason = "zero-grace";
    }
  }

  return {
    desired,
    panic: panicSinceMs !== null,
    excessBurstCapacity: excessBurstCapacity(settings, ready, totalPerInstance, panicAverage),
    stableAverage,
    panicAverage,
    reason,
    state: { panicSinceMs, maxPanicInstances, scaleDownDelayWindow, zeroWantedSinceMs, initialScaleReached },
  };
}

/**
 * Knative's excess burst capacity, from the panic average so one quiet second does not pull the
 * activator out of the path: ready × total − targetBurstCapacity − panicAverage, floored.
 * E.g. 10 ready × 100 total − 211 − 500 in flight = 289.
 */
export function excessBurstCapacity(
  settings: ScalingSettings,
  readyInstances: number,
  totalPerInstance: number,
  panicAverage: number,
): number {
  if (settings.targetBurstCapacity === 0) return 0;
  if (settings.targetBurstCapacity < 0) return -1;
  return Math.floor(readyInstances * totalPerInstance - settings.targetBurstCapacity - panicAverage);
}
