/**
 * Instances as they turn ready, for held activation requests (POST /v1/gateway/activations with
 * `wait`; docs/functions-runtime.md, "The activator"): Knative's activator sends a buffered
 * request to a pod as soon as the pod is ready, not when the route is reprogrammed. A node
 * report's route announces its newly ready instances once applyNodeReport has committed them, so
 * an announced address is one the database (the snapshot's source) already routes to; a held
 * activation of that version answers with it at once, while the snapshot that carries the
 * instance is still being built.
 *
 * Announcements are events, not state: only waits registered before one see it, so an address
 * is never handed out after it may have gone (a later wait gets it from the snapshot instead).
 */
import { Waiters } from "../../propagation/waiters.ts";

/** Where a gateway reaches a ready instance: its queue-proxy. */
export interface ReadyAddress {
  host: string;
  port: number;
}

export class ReadyAnnouncements {
  private readonly waiters = new Waiters<ReadyAddress[] | null>();
  /** The announcement being delivered, set only during wake(). */
  private current: { versionId: number; instances: readonly ReadyAddress[] } | null = null;

  /** Instances `instances` of version `versionId` turned ready (their report is committed). */
  announce(versionId: number, instances: readonly ReadyAddress[]): void {
    if (instances.length === 0) return;
    this.current = { versionId, instances };
    try {
      this.waiters.wake();
    } finally {
      this.current = null;
    }
  }

  /**
   * Waits for the next announcement of `versionId`, at most `waitMs`.
   * @param signal ends the wait early (the client went away, or the caller gave up).
   * @returns the announced addresses, or null when none came in time.
   */
  wait(versionId: number, waitMs: number, signal?: AbortSignal): Promise<ReadyAddress[] | null> {
    const check = () => (this.current?.versionId === versionId ? [...this.current.instances] : null);
    return this.waiters.wait(check, () => null, waitMs, signal);
  }

  /** Ends every wait with null (shutdown). */
  close(): void {
    this.waiters.close();
  }
}
