/**
 * The health-check state machine of one instance, as APISIX's active checks: consecutive
 * successes make an unhealthy instance healthy, consecutive failures make a healthy one
 * unhealthy; a result of the other kind resets the count. An instance starts unhealthy (it
 * registers as `starting`) and turns healthy after `healthySuccesses` passes. Pure.
 */

export interface CheckState {
  healthy: boolean;
  /** Consecutive passes, while unhealthy. */
  successes: number;
  /** Consecutive failures, while healthy. */
  failures: number;
}

export interface CheckThresholds {
  healthySuccesses: number;
  unhealthyFailures: number;
}

export const INITIAL_CHECK_STATE: CheckState = { healthy: false, successes: 0, failures: 0 };

/**
 * @example
 *   // thresholds 2 / 3: pass, pass → healthy; fail, fail, fail → unhealthy
 *   nextCheckState({healthy: false, successes: 1, failures: 0}, true, {healthySuccesses: 2, unhealthyFailures: 3})
 *   // → {healthy: true, successes: 0, failures: 0}
 */
export function nextCheckState(state: CheckState, passed: boolean, thresholds: CheckThresholds): CheckState {
  if (state.healthy) {
    if (passed) return { healthy: true, successes: 0, failures: 0 };
    const failures = state.failures + 1;
    return failures >= thresholds.unhealthyFailures
      ? { healthy: false, successes: 0, failures: 0 }
      : { healthy: true, successes: 0, failures };
  }
  if (!passed) return { healthy: false, successes: 0, failures: 0 };
  const successes = state.successes + 1;
  return successes >= thresholds.healthySuccesses
    ? { healthy: true, successes: 0, failures: 0 }
    : { healthy: false, successes, failures: 0 };
}
