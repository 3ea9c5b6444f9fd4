/**
 * Exactly-once counting of at-least-once pushes: per gateway isolate, the last `seq` counted. A
 * push is counted only when its `seq` is greater (worker/telemetry/wire.ts: a push that got no
 * 2xx is sent again unchanged, with the same `seq`). Pure: the caller passes the time.
 *
 * Bounded memory: an isolate not heard from for `forgetAfterMs` is forgotten (its ids are random
 * per isolate start, so a dead isolate's id never comes back), and at most `maxIsolates` are
 * tracked; a new one beyond that evicts the one heard from longest ago. A forgotten isolate that
 * pushes again is counted from its next push on, so only a retry of a push counted before it was
 * forgotten could be counted twice.
 */

/** An isolate silent this long is forgotten, ms (10 minutes, as control/propagation/tracker.ts). */
export const FORGET_ISOLATE_MS = 10 * 60_000;

/** Most isolates whose last `seq` is remembered. */
export const MAX_TRACKED_ISOLATES = 10_000;

export interface PushDedupOptions {
  /** Default FORGET_ISOLATE_MS. */
  forgetAfterMs?: number;
  /** Default MAX_TRACKED_ISOLATES. */
  maxIsolates?: number;
}

export class PushDedup {
  /** isolate id → last counted seq and when it was heard; Map order = least recently heard first. */
  private readonly last = new Map<string, { seq: number; heardMs: number }>();
  private readonly forgetAfterMs: number;
  private readonly maxIsolates: number;

  constructor(options: PushDedupOptions = {}) {
    this.forgetAfterMs = options.forgetAfterMs ?? FORGET_ISOLATE_MS;
    this.maxIsolates = options.maxIsolates ?? MAX_TRACKED_ISOLATES;
  }

  /**
   * Whether isolate `gateway`'s push number `seq` is new; when it is, remembers it as counted.
   * A duplicate or older `seq` changes nothing but the isolate's last-heard time.
   * @param nowMs the time the push was received, ms since epoch.
   */
  accept(gateway: string, seq: number, nowMs: number): boolean {
    this.forgetSilent(nowMs);
    const known = this.last.get(gateway);
    const fresh = known === undefined || seq > known.seq;
    // Re-inserting moves the isolate to the end: the Map stays ordered by last heard.
    this.last.delete(gateway);
    this.last.set(gateway, { seq: fresh ? seq : (known?.seq ?? seq), heardMs: nowMs });
    while (this.last.size > this.maxIsolates) {
      const oldest = this.last.keys().next().value as string;
      this.last.delete(oldest);
    }
    return fresh;
  }

  /** Isolates currently remembered. */
  get size(): number {
    return this.last.size;
  }

  private forgetSilent(nowMs: number): void {
    for (const [id, entry] of this.last) {
      if (nowMs - entry.heardMs < this.forgetAfterMs) break; // ordered by last heard: the rest are younger
      this.last.delete(id);
    }
  }
}
