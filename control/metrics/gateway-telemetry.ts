/**
 * What control keeps of the gateway metrics pushes, behind one entry point: `receive()` counts a
 * push exactly once (push-dedup.ts) into the cumulative series (gateway-series.ts), the gauges
 * (gateway-gauges.ts) and the one-hour history (request-history.ts). Propagation lag
 * (propagation-lag.ts) is fed by the snapshot polls, not by pushes. One per control replica:
 * each replica exposes what it received (docs/metrics.md).
 */
import { GatewayGauges } from "./gateway-gauges.ts";
import type { GatewayPush } from "./gateway-push.ts";
import { GatewaySeriesStore } from "./gateway-series.ts";
import { PropagationLag } from "./propagation-lag.ts";
import { PushDedup } from "./push-dedup.ts";
import { RequestHistory } from "./request-history.ts";

export interface GatewayTelemetryOptions {
  /** Bucket bounds of the request histograms, seconds (control's HTTP_DURATION_BUCKETS_S). */
  boundsSeconds: readonly number[];
  /** The clock, ms since epoch (default Date.now). */
  now?: () => number;
  /** Most series kept (gateway-series.ts MAX_GATEWAY_SERIES). */
  maxSeries?: number;
}

export class GatewayTelemetry {
  readonly dedup = new PushDedup();
  readonly series: GatewaySeriesStore;
  readonly gauges = new GatewayGauges();
  readonly history: RequestHistory;
  readonly propagationLag = new PropagationLag();
  readonly now: () => number;

  constructor(options: GatewayTelemetryOptions) {
    this.now = options.now ?? Date.now;
    this.series = new GatewaySeriesStore({ maxSeries: options.maxSeries });
    this.history = new RequestHistory({ boundsSeconds: options.boundsSeconds, now: this.now });
  }

  /**
   * Counts a validated push unless its isolate's `seq` was already counted.
   * @returns `accepted: false` for a duplicate (nothing was changed).
   */
  receive(push: GatewayPush): { accepted: boolean } {
    const nowMs = this.now();
    if (!this.dedup.accept(push.gateway, push.seq, nowMs)) return { accepted: false };
    this.series.add(push);
    this.gauges.record(push, nowMs);
    this.history.record(push.requests);
    return { accepted: true };
  }
}
