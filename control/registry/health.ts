/**
 * The registry's health verdict for one registered instance, from its heartbeats and the health
 * results its agent reports. Pure: time is a parameter.
 *
 * Semantics as Nacos' ephemeral instances (defaults per service: beat every 5 s, unhealthy after
 * 15 s of silence, removed after 30 s). Persistent instances (checked by their agent, as APISIX's
 * active checks) turn unhealthy on silence too but are never removed. Either kind is unhealthy
 * while its agent reports a failing check. The protect threshold (protect.ts) may still overrule
 * an `unhealthy` or `remove` verdict.
 */

/** `remove`: deregister (ephemeral instances only). */
export type HealthVerdict = "healthy" | "unhealthy" | "remove";

export interface HealthInput {
  registration: "ephemeral" | "persistent";
  /** When the last heartbeat (or registration) was received, Unix ms. */
  lastSeenMs: number;
  /** What the last heartbeat said of the agent's checks; undefined when it said nothing. */
  reportedHealthy: boolean | undefined;
}

export interface HealthTimings {
  /** Silence after which the instance is unhealthy, ms (Nacos: 15000). */
  unhealthyAfterMs: number;
  /** Silence after which an ephemeral instance is removed, ms (Nacos: 30000); ≥ unhealthyAfterMs. */
  removeAfterMs: number;
}

/**
 * @example
 *   // 16 s of silence with the Nacos defaults:
 *   decideHealth({ registration: "ephemeral", lastSeenMs: 0, reportedHealthy: true },
 *                { unhealthyAfterMs: 15000, removeAfterMs: 30000 }, 16000)   // → "unhealthy"
 */
export function decideHealth(input: HealthInput, timings: HealthTimings, nowMs: number): HealthVerdict {
  const silenceMs = nowMs - input.lastSeenMs;
  if (input.registration === "ephemeral" && silenceMs > timings.removeAfterMs) return "remove";
  if (silenceMs > timings.unhealthyAfterMs) return "unhealthy";
  return input.reportedHealthy === false ? "unhealthy" : "healthy";
}
