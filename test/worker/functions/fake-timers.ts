/** A manual clock for worker/functions/activator.ts Timers: time moves only in advance(). */
import type { Timers } from "../../../worker/functions/activator.ts";

export class FakeTimers implements Timers {
  private nowMs: number;
  private readonly pending = new Map<number, { atMs: number; fn: () => void }>();
  private nextId = 1;

  constructor(startMs = 1_000_000) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  set(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.pending.set(id, { atMs: this.nowMs + Math.max(0, ms), fn });
    return id;
  }

  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Timers set now (for leak checks). */
  get size(): number {
    return this.pending.size;
  }

  /** Moves the clock `ms` forward, firing due timers in time order (then set order), then lets promise callbacks run. */
  async advance(ms: number): Promise<void> {
    const endMs = this.nowMs + ms;
    for (;;) {
      let due: [number, { atMs: number; fn: () => void }] | undefined;
      for (const entry of this.pending) if (entry[1].atMs <= endMs && (!due || entry[1].atMs < due[1].atMs)) due = entry;
      if (!due) break;
      this.pending.delete(due[0]);
      this.nowMs = due[1].atMs;
      due[1].fn();
      await settle();
    }
    this.nowMs = endMs;
    await settle();
  }
}

/** Lets already-resolved promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
