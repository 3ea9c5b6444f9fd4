/**
 * One measured run of one target: a warm-up run (same rate), then the measured run bracketed by
 * CPU readings (/proc/<pid>/stat) of the target's processes, the upstream's, this process's and
 * the whole machine's. Requests are `GET /bench?uid=N`, N cycling 0…999, so the demo policy
 * (`int(uid) % 100 < 10` → canary) takes both outcomes, 10 % / 90 %.
 */
import { CLOCK_TICKS, cpuTicks, systemBusyTicks } from "./proc.ts";
import type { LoadGenerator, LoadResult } from "./wrk.ts";

/**
 * What a row of the results is. gatewayBare: the Sluice gateway driven by a client sending Host
 * only (Target.bareClient); gatewayTelemetryOff: the Sluice gateway started with TELEMETRY_OFF
 * (bench/targets.ts) beside the `gateway` row, which runs with telemetry as `npm start` has it.
 */
export type TargetKind =
  | "upstream"
  | "passthrough"
  | "gateway"
  | "gatewayBare"
  | "gatewayTelemetryOff"
  | "gateway50"
  | "gatewayEdge"
  | "gatewayEdgeCluster"
  | "nginx"
  | "oceanus";

/** Something to put load on. */
export interface Target {
  /** Row label in the results. */
  name: string;
  /** Origin, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Processes whose CPU is charged to the target as "proxy CPU" (empty for the bare upstream); updated in place on a restart. */
  pids: number[];
  kind?: TargetKind;
  /** Gateway runtime of pass-through and gateway rows. */
  runtime?: string;
  /** The client sends Host only, no User-Agent or Accept (wrk.ts CLIENT_FIELDS). */
  bareClient?: boolean;
  /** Fields the client sends besides CLIENT_FIELDS (wrk.ts LoadOptions.fields). */
  fields?: Record<string, string>;
  /** Sluice gateways: the file their stdout and stderr (access log included) are written to. */
  logFile?: string;
}

export interface LoadSettings {
  generator: LoadGenerator;
  connections: number;
  /** Measured window, s. */
  seconds: number;
  /** Unmeasured warm-up before it, s (0: none). */
  warmupSeconds: number;
  /** The upstream's processes (its CPU is reported apart). */
  upstreamPids: number[];
  /** Aborts a running load (Ctrl-C). */
  signal: AbortSignal;
}

export interface Run extends LoadResult {
  target: string;
  /** Offered rate, req/s; null for a closed-loop (saturation) run. */
  rate: number | null;
  /** Responses per second of the measured window. */
  reqPerSec: number;
  /** CPU of the target's processes per response, µs; null when it has none. */
  proxyCpuUs: number | null;
  /** CPU of the upstream's processes per response, µs. */
  upstreamCpuUs: number;
  /** CPU of the load generator per response, µs. */
  clientCpuPerReqUs: number;
  /**
   * Cores' worth of CPU used during the window by processes other than the target, the upstream,
   * the load generator and this one (other engineers' tests, idle targets): the machine's quietness.
   */
  otherCores: number;
}

/** µs of CPU per request from a tick delta. */
function usPerRequest(ticks: number, requests: number): number {
  return requests > 0 ? (ticks * 1e6) / CLOCK_TICKS / requests : Number.NaN;
}

/**
 * Warm-up, then the measured window, at saturation (`rate` null) or at `rate` req/s.
 * @throws when aborted, when the generator fails, or when a measured process has exited.
 */
export async function measure(target: Target, settings: LoadSettings, rate: number | null): Promise<Run> {
  const { generator, connections, signal } = settings;
  if (settings.warmupSeconds > 0)
    await generator.run(target.url, {
      connections,
      seconds: settings.warmupSeconds,
      rate,
      bareClient: target.bareClient,
      fields: target.fields,
      signal,
    });

  const proxyBefore = cpuTicks(target.pids);
  const upstreamBefore = cpuTicks(settings.upstreamPids);
  const selfBefore = process.cpuUsage();
  const busyBefore = systemBusyTicks();
  const started = performance.now();
  const result = await generator.run(target.url, {
    connections,
    seconds: settings.seconds,
    rate,
    bareClient: target.bareClient,
    fields: target.fields,
    signal,
  });
  const self = process.cpuUsage(selfBefore);
  const busyTicks = systemBusyTicks() - busyBefore;
  const elapsedSeconds = (performance.now() - started) / 1000;
  const proxyTicks = cpuTicks(target.pids) - proxyBefore;
  const upstreamTicks = cpuTicks(settings.upstreamPids) - upstreamBefore;
  signal.throwIfAborted();

  const selfTicks = ((self.user + self.system) / 1e6) * CLOCK_TICKS;
  const clientTicks = generator.inProcess ? 0 : (result.clientCpuUs / 1e6) * CLOCK_TICKS;
  const ownTicks = proxyTicks + upstreamTicks + selfTicks + clientTicks;
  return {
    ...result,
    target: target.name,
    rate,
    reqPerSec: result.requests / result.durationS,
    proxyCpuUs: target.pids.length > 0 ? usPerRequest(proxyTicks, result.requests) : null,
    upstreamCpuUs: usPerRequest(upstreamTicks, result.requests),
    clientCpuPerReqUs: result.requests > 0 ? result.clientCpuUs / result.requests : Number.NaN,
    otherCores: Math.max(0, busyTicks - ownTicks) / CLOCK_TICKS / elapsedSeconds,
  };
}
