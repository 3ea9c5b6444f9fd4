/**
 * One measured run of one target: an autocannon warm-up, then a timed autocannon run bracketed
 * by CPU readings of the target's processes, the upstream and this (client) process. Every
 * request carries `?uid=N`, N cycling 0…999, so the gateway's demo policy (`int(uid) % 100 < 10`
 * → canary) takes both outcomes, 10 % / 90 %.
 */
import autocannon, { type Result } from "autocannon";
import { CLOCK_TICKS, cpuTicks, systemBusyTicks } from "./proc.ts";
import { percentile } from "./stats.ts";

/** Something to put load on. */
export interface Target {
  /** Row label in the results. */
  name: string;
  /** Origin, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Processes whose CPU is charged to the target as "proxy CPU" (empty for the bare upstream). */
  pids: number[];
}

/** The upstream every target ends at, with per-port answer counters (bench/upstream-process.ts). */
export interface UpstreamProbe {
  pid: number;
  /** Requests answered so far on the stable and the canary port. */
  counts(): Promise<{ stable: number; canary: number }>;
}

export interface LoadSettings {
  connections: number;
  /** Measured window, s. */
  seconds: number;
  /** Unmeasured warm-up before it, s (0: none). */
  warmupSeconds: number;
  /** Aborts a running autocannon (Ctrl-C). */
  signal: AbortSignal;
}

export interface Run {
  target: string;
  /** Responses received in the measured window (any status). */
  completed: number;
  reqPerSec: number;
  /** Latency of all responses, ms. */
  p50Ms: number;
  p99Ms: number;
  /** Slowest response, ms: where workerd's GC pauses show. */
  maxMs: number;
  non2xx: number;
  /** Status code → count, for responses outside 2xx. */
  non2xxByStatus: Record<string, number>;
  /** Connection errors and timeouts (timeouts are included in errors). */
  errors: number;
  timeouts: number;
  /** CPU of the target's processes per completed request, µs; null when it has none. */
  proxyCpuUs: number | null;
  /** CPU of the upstream process per completed request, µs. */
  upstreamCpuUs: number;
  /** CPU of this process (autocannon, plus control's idle share) per completed request, µs. */
  clientCpuUs: number;
  /**
   * Cores' worth of CPU used during the window by processes other than the target, the upstream
   * and this one (other engineers' tests, idle targets): the machine's quietness.
   */
  otherCores: number;
  /** Requests the upstream answered on each port during the window (the policy's outcomes). */
  upstreamStable: number;
  upstreamCanary: number;
}

/** The uid of the next request, cycling 0…999 across runs. */
let nextUid = 0;

function nextPath(): string {
  const uid = nextUid;
  nextUid = (nextUid + 1) % 1000;
  return `/bench?uid=${uid}`;
}

/**
 * Runs autocannon for `seconds` against `url` with the uid variation.
 * @returns its result and every response's latency in ms, ascending (autocannon's own histogram
 *   keeps whole milliseconds only, too coarse for sub-ms proxies).
 */
async function load(
  url: string,
  connections: number,
  seconds: number,
  signal: AbortSignal,
): Promise<{ result: Result; latenciesMs: Float64Array }> {
  signal.throwIfAborted();
  const instance = autocannon({
    url,
    connections,
    duration: seconds,
    requests: [{ method: "GET", setupRequest: (request) => ({ ...request, path: nextPath() }) }],
  });
  const latencies: number[] = [];
  instance.on("response", (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  const stop = () => instance.stop();
  signal.addEventListener("abort", stop, { once: true });
  try {
    const result = await instance;
    return { result, latenciesMs: Float64Array.from(latencies).sort() };
  } finally {
    signal.removeEventListener("abort", stop);
  }
}

/** µs of CPU per request from a tick delta. */
function usPerRequest(ticks: number, requests: number): number {
  return requests > 0 ? (ticks * 1e6) / CLOCK_TICKS / requests : Number.NaN;
}

/** Warm-up, then the measured window. @throws when aborted or when a measured process exits. */
export async function measure(target: Target, upstream: UpstreamProbe, settings: LoadSettings): Promise<Run> {
  if (settings.warmupSeconds > 0) await load(target.url, settings.connections, settings.warmupSeconds, settings.signal);

  const countsBefore = await upstream.counts();
  const proxyBefore = cpuTicks(target.pids);
  const upstreamBefore = cpuTicks([upstream.pid]);
  const clientBefore = process.cpuUsage();
  const busyBefore = systemBusyTicks();
  const started = performance.now();
  const { result, latenciesMs } = await load(target.url, settings.connections, settings.seconds, settings.signal);
  const client = process.cpuUsage(clientBefore);
  const busyTicks = systemBusyTicks() - busyBefore;
  const elapsedSeconds = (performance.now() - started) / 1000;
  const proxyTicks = cpuTicks(target.pids) - proxyBefore;
  const upstreamTicks = cpuTicks([upstream.pid]) - upstreamBefore;
  const countsAfter = await upstream.counts();
  settings.signal.throwIfAborted();

  const completed = result.requests.total;
  const ownTicks = proxyTicks + upstreamTicks + ((client.user + client.system) / 1e6) * CLOCK_TICKS;
  const non2xxByStatus: Record<string, number> = {};
  for (const [status, { count }] of Object.entries(result.statusCodeStats)) {
    if (!status.startsWith("2")) non2xxByStatus[status] = count;
  }
  return {
    target: target.name,
    completed,
    reqPerSec: completed / result.duration,
    p50Ms: percentile(latenciesMs, 0.5),
    p99Ms: percentile(latenciesMs, 0.99),
    maxMs: percentile(latenciesMs, 1),
    non2xx: result.non2xx,
    non2xxByStatus,
    errors: result.errors,
    timeouts: result.timeouts,
    proxyCpuUs: target.pids.length > 0 ? usPerRequest(proxyTicks, completed) : null,
    upstreamCpuUs: usPerRequest(upstreamTicks, completed),
    clientCpuUs: completed > 0 ? (client.user + client.system) / completed : Number.NaN,
    otherCores: Math.max(0, busyTicks - ownTicks) / CLOCK_TICKS / elapsedSeconds,
    upstreamStable: countsAfter.stable - countsBefore.stable,
    upstreamCanary: countsAfter.canary - countsBefore.canary,
  };
}
