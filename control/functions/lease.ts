/**
 * The lease of a function instance (docs/functions-runtime.md, "Leases"): an agent reports every
 * second, and a node silent for 3 × that interval loses its instances. Declared once: the
 * scaler's sweep (scaler/sweep.ts) deletes expired rows, and the snapshot loader counts only
 * instances with a live lease, by the same rule.
 */

/** How long an instance row stays live after its last report, ms (3 × the agents' 1 s report interval). */
export const FUNCTION_LEASE_MS = 3000;

/** Rows whose `reported_at` is before this instant have lost their lease at `nowMs` (Unix ms). */
export function leaseCutoff(nowMs: number): Date {
  return new Date(nowMs - FUNCTION_LEASE_MS);
}

/** How often an agent reports its instances' load, ms: control tells agents this (assignments' `reportIntervalMs`), so 3 reports fit in a lease. */
export const REPORT_INTERVAL_MS = FUNCTION_LEASE_MS / 3;
