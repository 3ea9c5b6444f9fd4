/**
 * Per-isolate request counts of anti-scraping `rate` criteria: for each (route, rule) a fixed
 * window aligned to the epoch (as APISIX limit-count's fixed window) counting requests per client
 * address. Created once per isolate and handed to every snapshot's anti-scraping plugins, so
 * counts survive snapshot swaps: a rule keeps its counts while its route id, name and window stay.
 * Bounded memory: at most `maxWindows` windows (the oldest dropped beyond) of at most
 * `maxClients` addresses each (the oldest address dropped beyond; a window's map is emptied when
 * its period ends). Under a flood of distinct addresses an evicted address restarts from zero:
 * the bound wins over exactness.
 */

/** Default bounds: windows per isolate, and addresses per window. */
export const ANTI_SCRAPING_MAX_WINDOWS = 1024;
export const ANTI_SCRAPING_MAX_CLIENTS = 10_000;

/** One rule's fixed window: requests per client address in the current period. */
export class ClientWindow {
  /** The period, ms. */
  readonly windowMs: number;
  private readonly maxClients: number;
  private period = -1;
  private readonly counts = new Map<string, number>();

  /** @param windowMs the period, ms (> 0). @param maxClients addresses kept per period (≥ 1). */
  constructor(windowMs: number, maxClients: number) {
    this.windowMs = windowMs;
    this.maxClients = maxClients;
  }

  /** Counts one request of `client` at `nowMs` (Unix ms) and returns its count in the current period, this one included. */
  hit(client: string, nowMs: number): number {
    const period = Math.floor(nowMs / this.windowMs);
    if (period !== this.period) {
      this.period = period;
      this.counts.clear();
    }
    const count = (this.counts.get(client) ?? 0) + 1;
    if (count === 1 && this.counts.size >= this.maxClients) {
      const oldest = this.counts.keys().next();
      if (!oldest.done) this.counts.delete(oldest.value);
    }
    this.counts.set(client, count);
    return count;
  }

  /** Milliseconds from `nowMs` until the current period ends (1 … windowMs). */
  resetInMs(nowMs: number): number {
    return this.windowMs - (((nowMs % this.windowMs) + this.windowMs) % this.windowMs);
  }

  /** Addresses counted in the current period. */
  get clients(): number {
    return this.counts.size;
  }
}

/** The isolate's anti-scraping windows, by scope (route id, rule name, window length). */
export class AntiScrapingState {
  readonly maxWindows: number;
  readonly maxClients: number;
  private readonly windows = new Map<string, ClientWindow>();

  /** @param maxWindows windows kept (≥ 1). @param maxClients addresses per window (≥ 1). */
  constructor(maxWindows: number = ANTI_SCRAPING_MAX_WINDOWS, maxClients: number = ANTI_SCRAPING_MAX_CLIENTS) {
    this.maxWindows = maxWindows;
    this.maxClients = maxClients;
  }

  /** The window of rule `ruleName` on route `routeId` with period `windowMs`, created on first use. */
  window(routeId: number, ruleName: string, windowMs: number): ClientWindow {
    const scope = `${routeId}\u0000${ruleName}\u0000${windowMs}`;
    let window = this.windows.get(scope);
    if (!window) {
      if (this.windows.size >= this.maxWindows) {
        const oldest = this.windows.keys().next();
        if (!oldest.done) this.windows.delete(oldest.value);
      }
      window = new ClientWindow(windowMs, this.maxClients);
      this.windows.set(scope, window);
    }
    return window;
  }

  /** Windows held now. */
  get size(): number {
    return this.windows.size;
  }
}

/** Creates an isolate's state; call once per isolate (module scope of the gateway). */
export function createAntiScrapingState(maxWindows?: number, maxClients?: number): AntiScrapingState {
  return new AntiScrapingState(maxWindows, maxClients);
}
