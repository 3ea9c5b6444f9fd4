/**
 * Blocking queries' waiting room (Consul-style `?index=N&wait=…`): each waiter holds a check that
 * returns its answer once there is one. `wake()` re-runs the checks after a change; a waiter ends
 * with its answer, or with its fallback when its wait runs out, its client goes away or the room
 * closes (shutdown). One timer per waiter; a change costs one check per waiter.
 */

type Waiter<V> = { check: () => V | null; finish: (value: V) => void; end: () => void };

export class Waiters<V> {
  private readonly waiting = new Set<Waiter<V>>();
  private closed = false;

  /**
   * @param check the answer when there is one, else null (called now and after each wake()).
   * @param fallback the answer when the wait ends without one.
   * @param waitMs longest wait, ms.
   * @param signal ends the wait early (the client went away).
   */
  wait(check: () => V | null, fallback: () => V, waitMs: number, signal?: AbortSignal): Promise<V> {
    const now = check();
    if (now !== null) return Promise.resolve(now);
    if (waitMs <= 0 || this.closed || signal?.aborted) return Promise.resolve(fallback());
    return new Promise((resolve) => {
      const end = () => waiter.finish(fallback());
      const timer = setTimeout(end, waitMs);
      const waiter: Waiter<V> = {
        check,
        end,
        finish: (value) => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", end);
          this.waiting.delete(waiter);
          resolve(value);
        },
      };
      signal?.addEventListener("abort", end, { once: true });
      this.waiting.add(waiter);
    });
  }

  /** Re-runs every waiter's check; those with an answer end. */
  wake(): void {
    for (const waiter of [...this.waiting]) {
      const value = waiter.check();
      if (value !== null) waiter.finish(value);
    }
  }

  /** Ends every wait with its fallback, and every later one at once (shutdown). */
  close(): void {
    this.closed = true;
    for (const waiter of [...this.waiting]) waiter.end();
  }
}
