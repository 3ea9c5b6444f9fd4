/**
 * The isolate's background telemetry loop: every METRICS_PUSH_MS (default 5 s) it pushes the
 * metrics recorded since the last push to control (wire.ts), and every LOG_FLUSH_MS it writes the
 * buffered access-log lines and exports finished trace spans. While the isolate has function
 * traffic (worker/functions/load.ts) it pushes at least every FUNCTION_METRICS_PUSH_MS (default
 * 1 s), the autoscaler's input (docs/functions-runtime.md).
 *
 * Workers run code only inside a request, so like the snapshot poll (worker/snapshot-source.ts)
 * the loop is started by a request, runs in its `waitUntil`, and stops once traffic has stopped
 * and a last push (the trailing flush) has carried everything recorded; the next request starts
 * it again. A loop whose request context was cancelled (Cloudflare ends waitUntil 30 s after the
 * response) stops beating and is replaced by the next request.
 *
 * Exactly-once counting over an unreliable link: each push carries (isolate id, seq). A push that
 * got no 2xx is kept and sent again unchanged — same seq — at the next tick, and nothing newer is
 * sent before it is accepted; control counts a seq once (docs/metrics.md). So a control that is
 * down or slow loses nothing that the isolate lives to push: what is recorded meanwhile waits in
 * the aggregator (bounded by its series cap). A push refused with a 4xx would be refused again,
 * so it is dropped and logged.
 */
import type { WaitUntil } from "../snapshot-source.ts";
import type { MetricsAggregator } from "./metrics.ts";
import { DURATION_BUCKETS_SECONDS, type FunctionLoadSeries, METRICS_PUSH_FORMAT, METRICS_PUSH_PATH, type MetricsPush } from "./wire.ts";

/** How often buffered access-log lines and trace spans are written out, ms. */
export const LOG_FLUSH_MS = 250;

/** A push is abandoned (and retried at the next tick) after this long, ms. */
const PUSH_TIMEOUT_MS = 5000;

export interface PusherConfig {
  /** Base URL of control. */
  controlUrl: string;
  gatewayToken: string;
  /** Push interval, ms; 0 turns pushing off (the loop then only flushes logs and traces). */
  pushMs: number;
  /** Push interval while `functions.active`, ms, when shorter than pushMs (default: pushMs). */
  functionPushMs?: number;
}

/** The function load a push carries (worker/functions/load.ts). */
export interface FunctionLoadSource {
  /** Whether some function version has load to report (then pushes come every functionPushMs). */
  active(): boolean;
  /** The load since the last drain, ending at `nowMs` (Unix ms). */
  drain(nowMs: number): FunctionLoadSeries[];
}

/** What the loop needs of the gateway at each push and tick. */
export interface PusherSources {
  aggregator: MetricsAggregator;
  /** The isolate id and launcher slot the pushes carry. */
  gatewayId(): string;
  slot: number | null;
  /** The gauges at this moment. */
  gauges(): MetricsPush["gauges"];
  /** Writes buffered output (access log, trace spans); called every LOG_FLUSH_MS and at the loop's end. */
  flush(): Promise<void> | void;
  /** Reports a push that control refused for good (4xx), with its reason. */
  refused(status: number, message: string): void;
  /** Function load, when the isolate serves functions. */
  functions?: FunctionLoadSource;
}

export class TelemetryPusher {
  private readonly config: PusherConfig;
  private readonly sources: PusherSources;
  private seq = 0;
  /** The push sent and not yet acknowledged: re-sent as it is. */
  private pending: MetricsPush | null = null;
  private lastCutMs = Date.now();
  private lastPushMs = 0;
  private generation = 0;
  private running = false;
  private beatMs = 0;
  private lastRequestMs = 0;
  private readonly tickMs: number;
  private readonly functionPushMs: number;
  private readonly stuckAfterMs: number;

  constructor(config: PusherConfig, sources: PusherSources) {
    this.config = config;
    this.sources = sources;
    this.functionPushMs = Math.min(config.pushMs, config.functionPushMs ?? config.pushMs);
    this.tickMs = config.pushMs > 0 ? Math.min(LOG_FLUSH_MS, this.functionPushMs) : LOG_FLUSH_MS;
    this.stuckAfterMs = Math.max(this.tickMs, config.pushMs) + PUSH_TIMEOUT_MS * 2;
  }

  /** Pushes control has answered so far — counted, duplicate, or refused for good (4xx) — i.e. the seq of the last: the status document's `telemetry.metricsPushesAnswered`. */
  get answered(): number {
    return this.pending ? this.pending.seq - 1 : this.seq;
  }

  /** Call on every request, when it arrives and when it ends: starts the loop in `ctx` unless one is running and beating. */
  touch(ctx: WaitUntil, nowMs: number): void {
    this.lastRequestMs = nowMs;
    if (this.running && nowMs - this.beatMs < this.stuckAfterMs) return;
    this.generation += 1;
    this.running = true;
    this.beatMs = nowMs;
    ctx.waitUntil(this.run(this.generation));
  }

  private async run(generation: number): Promise<void> {
    try {
      for (;;) {
        await sleep(this.tickMs);
        if (generation !== this.generation) return;
        const now = Date.now();
        this.beatMs = now;
        await this.sources.flush();
        if (this.config.pushMs === 0) {
          if (now - this.lastRequestMs >= LOG_FLUSH_MS) break;
          continue;
        }
        const functions = this.sources.functions?.active() ?? false;
        if (now - this.lastPushMs < (functions ? this.functionPushMs : this.config.pushMs)) continue;
        const quiet = now - this.lastRequestMs >= this.config.pushMs;
        const carried = this.pending !== null || !this.sources.aggregator.empty || functions;
        // Traffic stopped and the last push (the trailing flush) carried everything: stop.
        if (quiet && !carried) break;
        await this.push(now);
      }
    } finally {
      if (generation === this.generation) {
        this.running = false;
        await this.sources.flush();
      }
    }
  }

  /** Sends the pending push, or cuts a new one; never throws. */
  async push(nowMs: number = Date.now()): Promise<void> {
    this.lastPushMs = nowMs;
    if (!this.pending) {
      this.seq += 1;
      const functions = this.sources.functions?.drain(nowMs) ?? [];
      this.pending = {
        format: METRICS_PUSH_FORMAT,
        gateway: this.sources.gatewayId(),
        seq: this.seq,
        slot: this.sources.slot,
        intervalMs: nowMs - this.lastCutMs,
        bucketsSeconds: DURATION_BUCKETS_SECONDS,
        gauges: this.sources.gauges(),
        ...this.sources.aggregator.drain(),
        ...(functions.length > 0 ? { functions } : {}),
      };
      this.lastCutMs = nowMs;
    }
    const push = this.pending;
    try {
      const response = await fetch(`${this.config.controlUrl}${METRICS_PUSH_PATH}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${this.config.gatewayToken}`,
          "content-type": "application/json",
          "sluice-gateway": push.gateway,
        },
        body: JSON.stringify(push),
        signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
      });
      const text = await response.text();
      if (response.ok) {
        if (this.pending === push) this.pending = null;
      } else if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
        if (this.pending === push) this.pending = null;
        this.sources.refused(response.status, text.slice(0, 500));
      }
    } catch {
      // Unreachable or timed out: kept, sent again at the next tick.
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
