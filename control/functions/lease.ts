/**
 * The lease of a function instance (docs/functions-runtime.md "Leases"): an agent reports its
 * node's whole instance set every report interval, and an instance whose last report
 * (`function_instances.reported_at`) is older than LEASE_MISSED_REPORTS intervals is gone — no
 * gateway routes to it, and control removes its row. Declared once: the snapshot loader
 * (control/db/config.ts, `reported_at > now() − FUNCTION_LEASE_MS`) and whatever sweeps expired
 * rows use these.
 */

/** Missed reports after which an instance's lease lapses (Knative and Consul use 3 as well). */
export const LEASE_MISSED_REPORTS = 3;

/** The agents' report interval, ms, that assignments hand out (`reportIntervalMs`). */
export const FUNCTION_REPORT_INTERVAL_MS = 1000;

/**
 * How long a report keeps an instance live, ms: 3 × the report interval = 3000. The interval is
 * not stored per node, so the lease assumes the interval control hands out.
 */
export const FUNCTION_LEASE_MS = LEASE_MISSED_REPORTS * FUNCTION_REPORT_INTERVAL_MS;
