/**
 * Heartbeats held in memory: when each instance was last heard from and what its agent's checks
 * said. A heartbeat that changes nothing writes nothing to the database; only the sweeper's
 * verdicts (sweeper.ts) and recoveries are persisted.
 *
 * An instance this replica has not heard from yet counts as seen when the sweep first meets it
 * (`lastSeenOrNow`): a control process restarted after an outage, a replica that just took over
 * the sweep, or an instance another replica registered a moment ago, each get a full timeout to
 * beat again instead of expiring at once. A sweep that finds itself late by more than
 * its tolerance (the process stalled: GC, a stopped VM, a blocked event loop) calls `shift()`, so
 * time in which this replica could not listen is not counted as the instances' silence.
 */

interface Beat {
  lastSeenMs: number;
  reportedHealthy: boolean | undefined;
}

export class HeartbeatTable {
  private readonly beats = new Map<number, Beat>();

  /**
   * Records a heartbeat (or a registration) of instance `id` at `nowMs`.
   * @param healthy what the agent's checks say; undefined when it runs none.
   * @returns true when the reported health differs from the previous beat's.
   */
  record(id: number, healthy: boolean | undefined, nowMs: number): boolean {
    const beat = this.beats.get(id);
    if (!beat) {
      this.beats.set(id, { lastSeenMs: nowMs, reportedHealthy: healthy });
      return healthy === false;
    }
    const changed = beat.reportedHealthy !== healthy;
    if (nowMs > beat.lastSeenMs) beat.lastSeenMs = nowMs;
    beat.reportedHealthy = healthy;
    return changed;
  }

  /** Last heartbeat of `id`, Unix ms; when none was heard, `nowMs` (which is recorded as such). */
  lastSeenOrNow(id: number, nowMs: number): number {
    const beat = this.beats.get(id);
    if (beat) return beat.lastSeenMs;
    this.beats.set(id, { lastSeenMs: nowMs, reportedHealthy: undefined });
    return nowMs;
  }

  /** What the last heartbeat of `id` said of its checks. */
  reported(id: number): boolean | undefined {
    return this.beats.get(id)?.reportedHealthy;
  }

  /** Forgets `id` (deregistered or removed). */
  forget(id: number): void {
    this.beats.delete(id);
  }

  /** Moves every last-seen time forward by `gapMs`: a stall is not silence. */
  shift(gapMs: number): void {
    for (const beat of this.beats.values()) beat.lastSeenMs += gapMs;
  }

  /** Instances with a recorded beat. */
  get size(): number {
    return this.beats.size;
  }
}
