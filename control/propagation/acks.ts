/**
 * Has a change reached every gateway? Decided from what each gateway isolate last reported on its
 * snapshot requests (the version it serves, whether a long poll is open). Pure: time is a
 * parameter.
 *
 * A gateway isolate is either long-polling control (then it receives a newer snapshot within a
 * round trip), or it is idle and re-syncs before it routes its next request (worker/
 * snapshot-source.ts). So a change is acknowledged when every gateway that holds an open poll,
 * or reported within the last `quietMs`, serves a version that covers it; idle ones are safe.
 */

export interface GatewayReport {
  /** Isolate id the gateway sends (`Sluice-Gateway` header). */
  id: string;
  /** Snapshot version it serves (0: none yet). */
  version: number;
  /** A long poll was open at its last report. */
  pollOpen: boolean;
  /** Until when that poll may be held, Unix ms. */
  pollUntilMs: number;
  lastSeenMs: number;
}

/** `lagging` blocks acknowledgement; `idle` re-syncs before routing; `acknowledged` serves it. */
export type GatewayAckState = "acknowledged" | "lagging" | "idle";

export interface GatewayAck extends GatewayReport {
  state: GatewayAckState;
}

export interface AckOptions {
  /** A gateway that reported this recently may still route on what it has, ms (default 2000). */
  quietMs: number;
  /** An open poll is trusted this long past its `pollUntilMs`, ms (default 5000). */
  pollGraceMs: number;
}

export const DEFAULT_ACK_OPTIONS: AckOptions = { quietMs: 2000, pollGraceMs: 5000 };

/**
 * @param coveringVersion the first snapshot version that includes the change; null while none does.
 * @returns each gateway's state and whether the change is acknowledged everywhere.
 * @example
 *   // Version 7 covers the change; gateway a serves 7, gateway b holds a poll at 6:
 *   ackStates([{id: "a", version: 7, …}, {id: "b", version: 6, pollOpen: true, …}], 7, now)
 *   // → { acknowledged: false, gateways: [a: acknowledged, b: lagging] }
 */
export function ackStates(
  reports: readonly GatewayReport[],
  coveringVersion: number | null,
  nowMs: number,
  options: AckOptions = DEFAULT_ACK_OPTIONS,
): { acknowledged: boolean; gateways: GatewayAck[] } {
  const gateways = reports.map((r): GatewayAck => {
    if (coveringVersion !== null && r.version >= coveringVersion) return { ...r, state: "acknowledged" };
    const pollLive = r.pollOpen && nowMs <= r.pollUntilMs + options.pollGraceMs;
    const recent = nowMs - r.lastSeenMs < options.quietMs;
    return { ...r, state: pollLive || recent ? "lagging" : "idle" };
  });
  const acknowledged = coveringVersion !== null && gateways.every((g) => g.state !== "lagging");
  return { acknowledged, gateways };
}
