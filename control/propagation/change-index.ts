/**
 * The registry's index for Consul-style blocking queries (`?index=N&wait=30s`): for each service,
 * the id of the last committed revision that touched it. Fed by `sluice_change` notifications
 * (this replica's writes and every other replica's), so a blocking query returns as soon as the
 * service changes, wherever the change was made. A change that may touch any service (a policy,
 * a route, an agent token) raises every service's index.
 */
import type { ChangeNotice } from "../config/write.ts";
import { Waiters } from "./waiters.ts";

export class ChangeIndex {
  private floor: number;
  private readonly byAppkey = new Map<string, number>();
  private readonly waiters = new Waiters<number>();

  /** @param startIndex the largest revision id at start (every service's index starts there). */
  constructor(startIndex: number) {
    this.floor = startIndex;
  }

  /** The index of `appkey`, or of the whole registry when null. */
  indexOf(appkey: string | null): number {
    if (appkey === null) return Math.max(this.floor, ...this.byAppkey.values());
    return Math.max(this.floor, this.byAppkey.get(appkey) ?? 0);
  }

  /** Applies a committed change and wakes the queries it answers. */
  record(notice: ChangeNotice): void {
    if (notice.appkeys === null) this.floor = Math.max(this.floor, notice.revisionId);
    else for (const appkey of notice.appkeys) this.byAppkey.set(appkey, Math.max(this.byAppkey.get(appkey) ?? 0, notice.revisionId));
    this.waiters.wake();
  }

  /**
   * Blocks until the index of `appkey` (null: anything) exceeds `index`, or `waitMs` passes.
   * @returns the index then (unchanged on timeout).
   */
  wait(appkey: string | null, index: number, waitMs: number, signal?: AbortSignal): Promise<number> {
    const check = () => {
      const now = this.indexOf(appkey);
      return now > index ? now : null;
    };
    return this.waiters.wait(check, () => this.indexOf(appkey), waitMs, signal);
  }

  /** Releases every blocking query (shutdown). */
  close(): void {
    this.waiters.close();
  }
}
