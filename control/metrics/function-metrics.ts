/**
 * Control's metrics of the function runtime (docs/metrics.md, "Functions"), fed by three
 * sources: the scaler's decisions (instances by state, panic), agents' reports (cold starts,
 * crashes, rejected requests) and gateways' metrics pushes (activation waits, buffered requests).
 * Labels are the version's `appkey`, `function` and `version`: bounded by the configuration.
 */
import { Counter, Gauge, Histogram, type Registry, type RegistryContentType } from "prom-client";
import { familyMetric, histogramSamples } from "./gateway-exposition.ts";
import type { HistogramSeries, Labels } from "./gateway-series.ts";

/** The labels of one function version. */
export interface VersionLabels {
  appkey: string;
  function: string;
  version: number;
}

/** Bucket bounds of `sluice_function_cold_start_seconds`, seconds (a workerd start is 20–80 ms; a slow one seconds). */
export const COLD_START_BUCKETS_S = [0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Instance states counted by `sluice_function_instances` (plus `desired`, the scaler's target). */
export const COUNTED_STATES = ["starting", "ready", "draining"] as const;

/** One gateway's load of one version, as pushed (worker/telemetry/wire.ts FunctionLoadSeries). */
export interface PushedFunctionLoad extends VersionLabels {
  buffered: number;
  activationWait: { count: number; sumSeconds: number; buckets: number[] };
}

/** One version's row of the scaler's gauges. */
export interface ScaleGaugeRow extends VersionLabels {
  desired: number;
  panic: boolean;
  counts: Record<(typeof COUNTED_STATES)[number], number>;
}

/** A buffered count older than this is no longer summed, ms (a gateway pushes every second while it buffers). */
export const BUFFERED_STALE_MS = 10_000;

const labelsOf = (v: VersionLabels): Labels => ({ appkey: v.appkey, function: v.function, version: String(v.version) });

export class FunctionMetrics {
  /** `sluice_function_instances{appkey,function,version,state}`: set by the scaler each decision. */
  readonly instances: Gauge<"appkey" | "function" | "version" | "state">;
  /** `sluice_function_panic{appkey,function,version}`: 1 while the version's scaler is in panic mode. */
  readonly panic: Gauge<"appkey" | "function" | "version">;
  /** `sluice_function_cold_start_seconds`: an instance's process start to ready, observed once per instance. */
  readonly coldStart: Histogram<"appkey" | "function" | "version">;
  /** `sluice_function_instance_crashes_total`: ready instances that exited unexpectedly (agents' reports). */
  readonly crashes: Counter<"appkey" | "function" | "version">;
  /** `sluice_function_rejected_requests_total`: requests a queue-proxy refused (overflow; agents' reports). */
  readonly rejected: Counter<"appkey" | "function" | "version">;
  private readonly activation = new Map<string, HistogramSeries>();
  private readonly buffered = new Map<string, { labels: Labels; value: number; atMs: number }>();
  private readonly now: () => number;
  private readonly boundsSeconds: readonly number[];

  /**
   * @param boundsSeconds bucket bounds of the pushed activation histograms (the push's bucketsSeconds).
   * @param now clock for the buffered gauge's expiry, ms.
   */
  constructor(registry: Registry<RegistryContentType>, boundsSeconds: readonly number[], now: () => number = Date.now) {
    const registers = [registry];
    const labelNames = ["appkey", "function", "version"] as const;
    this.now = now;
    this.boundsSeconds = boundsSeconds;
    this.instances = new Gauge({
      name: "sluice_function_instances",
      help: "Function instances by state (starting, ready, draining) and the scaler's desired count, per version.",
      labelNames: [...labelNames, "state"],
      registers,
    });
    this.panic = new Gauge({
      name: "sluice_function_panic",
      help: "1 while a version's autoscaler is in panic mode.",
      labelNames,
      registers,
    });
    this.coldStart = new Histogram({
      name: "sluice_function_cold_start_seconds",
      help: "Function instance start to ready, seconds (agents' reports).",
      labelNames,
      buckets: COLD_START_BUCKETS_S,
      registers,
    });
    this.crashes = new Counter({
      name: "sluice_function_instance_crashes_total",
      help: "Ready function instances that exited unexpectedly.",
      labelNames,
      registers,
    });
    this.rejected = new Counter({
      name: "sluice_function_rejected_requests_total",
      help: "Requests a function instance's queue-proxy refused (overflow).",
      labelNames,
      registers,
    });
    registry.registerMetric(
      familyMetric(
        "sluice_function_activation_seconds",
        "Time requests waited in a gateway's activation buffer for a function instance, seconds.",
        "histogram",
        () => histogramSamples("sluice_function_activation_seconds", this.boundsSeconds, [...this.activation.values()]),
      ),
    );
    registry.registerMetric(
      familyMetric("sluice_function_buffered_requests", "Requests waiting in gateways' activation buffers, per version.", "gauge", () =>
        this.bufferedSamples(),
      ),
    );
  }

  /** Adds one accepted push's function series: activation waits (deltas) and each isolate's buffered count. */
  recordPush(gateway: string, loads: readonly PushedFunctionLoad[]): void {
    const nowMs = this.now();
    for (const load of loads) {
      const labels = labelsOf(load);
      const key = JSON.stringify(labels);
      const series = this.activation.get(key) ?? { labels, count: 0, sum: 0, buckets: new Array(this.boundsSeconds.length + 1).fill(0) };
      series.count += load.activationWait.count;
      series.sum += load.activationWait.sumSeconds;
      load.activationWait.buckets.forEach((n, i) => {
        series.buckets[i] += n;
      });
      this.activation.set(key, series);
      this.buffered.set(`${gateway} ${key}`, { labels, value: load.buffered, atMs: nowMs });
    }
  }

  /** Adds one instance's report counts over its interval: unexpected exits and refused requests. */
  countReport(version: VersionLabels, counts: { crashes: number; rejected: number }): void {
    if (counts.crashes > 0) this.crashes.inc(labelsOf(version), counts.crashes);
    if (counts.rejected > 0) this.rejected.inc(labelsOf(version), counts.rejected);
  }

  /** Records an instance's cold start (once per instance: the caller decides when it turned ready). */
  observeColdStart(version: VersionLabels, coldStartMs: number): void {
    this.coldStart.observe(labelsOf(version), coldStartMs / 1000);
  }

  /** Replaces the per-version instance and panic gauges with the scaler's latest view. */
  setScale(rows: readonly ScaleGaugeRow[]): void {
    this.instances.reset();
    this.panic.reset();
    for (const row of rows) {
      const labels = labelsOf(row);
      this.instances.set({ ...labels, state: "desired" }, row.desired);
      for (const state of COUNTED_STATES) this.instances.set({ ...labels, state }, row.counts[state]);
      this.panic.set(labels, row.panic ? 1 : 0);
    }
  }

  private bufferedSamples(): { labels: Labels; value: number }[] {
    const cutoff = this.now() - BUFFERED_STALE_MS;
    const sums = new Map<string, { labels: Labels; value: number }>();
    for (const [key, entry] of this.buffered) {
      if (entry.atMs < cutoff) {
        this.buffered.delete(key);
        continue;
      }
      const id = JSON.stringify(entry.labels);
      const sum = sums.get(id) ?? { labels: entry.labels, value: 0 };
      sum.value += entry.value;
      sums.set(id, sum);
    }
    return [...sums.values()];
  }
}
