/**
 * When the node report goes out (docs/functions-runtime.md: "sent at once when an instance changes
 * state and every intervalMs otherwise"): `request()` sends soon, coalescing every request of the
 * same event-loop turn and every request made while a report is in flight into one report after
 * it; with no request, the interval timer sends one (after calling `onTick`). A failed send is
 * not retried at once: the next tick or change sends the then-current state.
 */

export interface ReportSchedulerOptions {
  /** Builds and sends one report; may reject (logged by the caller). */
  send: () => Promise<void>;
  /** The current report interval, ms (it changes with control's answers). */
  intervalMs: () => number;
  /** Called on each interval tick, before the report it triggers. */
  onTick: () => void;
}

export class ReportScheduler {
  private readonly options: ReportSchedulerOptions;
  private sending: Promise<void> | null = null;
  private again = false;
  private scheduled = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  constructor(options: ReportSchedulerOptions) {
    this.options = options;
  }

  /** Sends a report soon (coalesced). No-op once closed. */
  request(): void {
    if (this.closed) return;
    if (this.sending) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.closed) this.sending = this.run();
    });
  }

  /** Waits for a report in flight, sends a last one, and stops: no timer, no further report. */
  async close(): Promise<void> {
    this.closed = true;
    this.disarm();
    await this.sending;
    await this.options.send().catch(() => undefined);
  }

  private async run(): Promise<void> {
    this.disarm();
    this.timer = setTimeout(() => {
      this.timer = null;
      this.options.onTick();
      this.request();
    }, this.options.intervalMs());
    await this.options.send().catch(() => undefined);
    this.sending = null;
    if (this.again) {
      this.again = false;
      this.request();
    }
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
