/**
 * Snapshot propagation lag: seconds from this control publishing (or adopting from another
 * replica) snapshot version V to a gateway isolate first reporting that it serves V (the `index`
 * of its GET /v1/snapshot with `Sluice-Gateway`, control/api/snapshot.ts). Observed into
 * `sluice_snapshot_propagation_seconds`. Pure: the caller passes the time.
 *
 * Each (isolate, version) is observed at most once, and only when it is meaningful:
 * - a report of a version not above the highest the isolate reported before is ignored;
 * - an isolate first seen by this control after V was published is not observed for V (its lag
 *   would include the time before it started or reached this replica);
 * - a version this control has not published or adopted yet, or no longer remembers (the
 *   MAX_REMEMBERED_VERSIONS latest are kept), is not observed.
 * Isolates silent for FORGET_ISOLATE_MS are forgotten; at most MAX_TRACKED_ISOLATES are kept.
 */
import { FORGET_ISOLATE_MS, MAX_TRACKED_ISOLATES } from "./push-dedup.ts";

/** Bucket bounds of `sluice_snapshot_propagation_seconds`, seconds (10 ms … 60 s). */
export const PROPAGATION_BUCKETS_S = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Publish times kept, the latest versions. */
export const MAX_REMEMBERED_VERSIONS = 100;

export class PropagationLag {
  /** version → when this control started serving it, ms; Map order = publish order. */
  private readonly publishedMs = new Map<bigint, number>();
  /** isolate id → first seen, highest version reported, last heard; Map order = least recently heard first. */
  private readonly isolates = new Map<string, { firstSeenMs: number; highest: bigint; heardMs: number }>();

  /** This control started serving `version` at `nowMs` (ms since epoch). */
  published(version: bigint, nowMs: number): void {
    if (this.publishedMs.has(version)) return;
    this.publishedMs.set(version, nowMs);
    while (this.publishedMs.size > MAX_REMEMBERED_VERSIONS) this.publishedMs.delete(this.publishedMs.keys().next().value as bigint);
  }

  /**
   * Isolate `gateway` reports at `nowMs` that it serves `version` (0 = none yet).
   * @returns the lag to observe, seconds, or null when nothing is to be observed.
   */
  served(gateway: string, version: bigint, nowMs: number): number | null {
    this.forgetSilent(nowMs);
    const known = this.isolates.get(gateway);
    this.isolates.delete(gateway);
    if (!known) {
      this.isolates.set(gateway, { firstSeenMs: nowMs, highest: version, heardMs: nowMs });
      this.evictBeyondCap();
      return null;
    }
    known.heardMs = nowMs;
    this.isolates.set(gateway, known);
    if (version <= known.highest) return null;
    known.highest = version;
    const publishedMs = this.publishedMs.get(version);
    if (publishedMs === undefined || known.firstSeenMs > publishedMs) return null;
    return Math.max(0, nowMs - publishedMs) / 1000;
  }

  private forgetSilent(nowMs: number): void {
    for (const [id, entry] of this.isolates) {
      if (nowMs - entry.heardMs < FORGET_ISOLATE_MS) break;
      this.isolates.delete(id);
    }
  }

  private evictBeyondCap(): void {
    while (this.isolates.size > MAX_TRACKED_ISOLATES) this.isolates.delete(this.isolates.keys().next().value as string);
  }
}
