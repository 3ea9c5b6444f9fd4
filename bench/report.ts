/**
 * Turns runs into results: per-target medians, markdown tables (pasteable into
 * bench/RESULTS.md; padded as biome formats markdown) and the target verdicts.
 * Units: req/s; latency in ms; CPU in µs per response.
 */
import { DEFAULT_RUNTIME } from "../worker/launcher/gateway.ts";
import type { Run, Target, TargetKind } from "./load.ts";

/** Gateway req/s must reach this fraction of its runtime's bare pass-through. */
export const THROUGHPUT_RATIO = 0.9;
/** Gateway CPU per request may exceed its pass-through's by at most this many µs. */
export const CPU_BUDGET_US = 10;
/** Gateway req/s must reach this fraction of nginx proxy_pass's (same process count). */
export const NGINX_RATIO = 0.5;
/** Largest p99 at half of the gateway's saturation throughput, ms. */
export const HALF_RATE_P99_MS = 10;
/** The 50-policy gateway must reach this multiple of the Oceanus-style baseline's req/s. */
export const OCEANUS_MULTIPLE = 2;
/** Gateway CPU per request with telemetry on (metrics, access log) may exceed telemetry off by at most this many µs. */
export const TELEMETRY_BUDGET_US = 5;

/** Issue 16's budget: key-auth + a local limit-count + a header rewrite cost at most this much CPU per request over a plain route, µs. */
export const EDGE_BUDGET_US = 10;

export interface Summary {
  target: string;
  kind: TargetKind | null;
  /** Gateway runtime of pass-through and gateway rows, else null. */
  runtime: string | null;
  runs: Run[];
  /** Medians over runs. */
  reqPerSec: number;
  /** Offered rate, req/s (median); null at saturation. */
  rate: number | null;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  /** The slowest response of all runs, ms. */
  maxMs: number;
  /** µs per request; null when the target has no processes of its own. */
  proxyCpuUs: number | null;
  upstreamCpuUs: number;
  clientCpuUs: number;
  /** Sums over runs. */
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Fixed rate: sends > 1 ms behind schedule (sum) and the largest lag (ms); null at saturation or without wrk. */
  lateSends: number | null;
  lagMaxMs: number | null;
}

/** Median; of an even count, the mean of the middle two. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function summarize(target: Target, runs: Run[]): Summary {
  const proxy = runs.map((r) => r.proxyCpuUs).filter((v): v is number => v !== null);
  const sum = (pick: (r: Run) => number) => runs.reduce((acc, r) => acc + pick(r), 0);
  const late = runs.map((r) => r.lateSends).filter((v): v is number => v !== null);
  const lag = runs.map((r) => r.lagMaxMs).filter((v): v is number => v !== null);
  const rates = runs.map((r) => r.rate).filter((v): v is number => v !== null);
  return {
    target: target.name,
    kind: target.kind ?? null,
    runtime: target.runtime ?? null,
    runs,
    reqPerSec: median(runs.map((r) => r.reqPerSec)),
    rate: rates.length > 0 ? median(rates) : null,
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    p999Ms: median(runs.map((r) => r.p999Ms)),
    maxMs: Math.max(...runs.map((r) => r.maxMs)),
    proxyCpuUs: proxy.length > 0 ? median(proxy) : null,
    upstreamCpuUs: median(runs.map((r) => r.upstreamCpuUs)),
    clientCpuUs: median(runs.map((r) => r.clientCpuPerReqUs)),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    lateSends: late.length > 0 ? late.reduce((a, b) => a + b, 0) : null,
    lagMaxMs: lag.length > 0 ? Math.max(...lag) : null,
  };
}

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "—");
const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 2 : 1) : "—");
const cpu = (n: number | null) => (n === null ? "—" : int(n));

function table(header: string[], rows: string[][]): string {
  const widths = header.map((_, i) => Math.max((header[i] as string).length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] as number)).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The bare pass-through of `s`'s runtime among `all`, for gateway and pass-through rows. */
function passthroughOf(s: Summary, all: Summary[]): Summary | undefined {
  return s.runtime ? all.find((o) => o.kind === "passthrough" && o.runtime === s.runtime) : undefined;
}

function errorsCell(s: Summary): string {
  const parts = [`${int(s.non2xx)} / ${int(s.errors)}`];
  if (s.timeouts > 0) parts.push(`(${int(s.timeouts)} timeouts)`);
  return parts.join(" ");
}

/** Saturation (closed loop): one row per target; ratios against the same runtime's bare pass-through. */
export function saturationTable(summaries: Summary[]): string {
  const header = [
    "Target (saturation)",
    "req/s",
    "× pass-through",
    "proxy CPU µs/req",
    "Δ CPU µs/req",
    "p50 ms",
    "p99 ms",
    "p99.9 ms",
    "max ms",
    "error status / errors",
    "upstream CPU µs/req",
    "client CPU µs/req",
    "req/s per run",
  ];
  const rows = summaries.map((s) => {
    const pt = passthroughOf(s, summaries);
    const ratio = pt && pt !== s ? (s.reqPerSec / pt.reqPerSec).toFixed(2) : "—";
    const delta = pt && pt !== s && s.proxyCpuUs !== null && pt.proxyCpuUs !== null ? s.proxyCpuUs - pt.proxyCpuUs : null;
    return [
      s.target,
      int(s.reqPerSec),
      ratio,
      cpu(s.proxyCpuUs),
      delta === null ? "—" : `${delta >= 0 ? "+" : ""}${int(delta)}`,
      ms(s.p50Ms),
      ms(s.p99Ms),
      ms(s.p999Ms),
      ms(s.maxMs),
      errorsCell(s),
      int(s.upstreamCpuUs),
      int(s.clientCpuUs),
      s.runs.map((r) => int(r.reqPerSec)).join(" / "),
    ];
  });
  return table(header, rows);
}

/** Fixed rate: each target at half of its own saturation req/s. */
export function halfRateTable(summaries: Summary[]): string {
  const header = [
    "Target (½ saturation)",
    "offered req/s",
    "achieved req/s",
    "p50 ms",
    "p99 ms",
    "p99.9 ms",
    "max ms",
    "late sends",
    "max lag ms",
    "proxy CPU µs/req",
    "error status / errors",
  ];
  const rows = summaries.map((s) => [
    s.target,
    s.rate === null ? "—" : int(s.rate),
    int(s.reqPerSec),
    ms(s.p50Ms),
    ms(s.p99Ms),
    ms(s.p999Ms),
    ms(s.maxMs),
    s.lateSends === null ? "—" : int(s.lateSends),
    s.lagMaxMs === null ? "—" : ms(s.lagMaxMs),
    cpu(s.proxyCpuUs),
    errorsCell(s),
  ]);
  return table(header, rows);
}

/** The row of `kind` in `list`, on runtime `rt` when given. */
function find(list: Summary[], kind: TargetKind, rt?: string): Summary | undefined {
  return list.find((s) => s.kind === kind && (rt === undefined || s.runtime === rt));
}

/** One side of a TelemetryComparison: its row's medians. */
export interface TelemetrySide {
  target: string;
  reqPerSec: number;
  proxyCpuUs: number | null;
  p50Ms: number;
  p99Ms: number;
  /** p99 at half of its own saturation req/s; null without phase 2. */
  halfRateP99Ms: number | null;
}

/** The gateway on one runtime with telemetry on (its `gateway` row) against off (its `gatewayTelemetryOff` row), at saturation. */
export interface TelemetryComparison {
  runtime: string;
  on: TelemetrySide;
  off: TelemetrySide;
  /** CPU per request, on − off, µs; null when a CPU figure is missing. */
  cpuDeltaUs: number | null;
  /** req/s, on ÷ off. */
  reqPerSecRatio: number;
  budgetUs: number;
  /** cpuDeltaUs ≤ budgetUs; null when not measured. */
  met: boolean | null;
}

/** The telemetry comparison on `runtime`, or null when either row was not measured there. */
export function telemetryComparison(runtime: string, saturation: Summary[], half: Summary[]): TelemetryComparison | null {
  const side = (kind: TargetKind): TelemetrySide | null => {
    const s = find(saturation, kind, runtime);
    if (!s) return null;
    const h = find(half, kind, runtime);
    return {
      target: s.target,
      reqPerSec: s.reqPerSec,
      proxyCpuUs: s.proxyCpuUs,
      p50Ms: s.p50Ms,
      p99Ms: s.p99Ms,
      halfRateP99Ms: h ? h.p99Ms : null,
    };
  };
  const on = side("gateway");
  const off = side("gatewayTelemetryOff");
  if (!on || !off) return null;
  const cpuDeltaUs = on.proxyCpuUs !== null && off.proxyCpuUs !== null ? on.proxyCpuUs - off.proxyCpuUs : null;
  return {
    runtime,
    on,
    off,
    cpuDeltaUs,
    reqPerSecRatio: on.reqPerSec / off.reqPerSec,
    budgetUs: TELEMETRY_BUDGET_US,
    met: cpuDeltaUs === null ? null : cpuDeltaUs <= TELEMETRY_BUDGET_US,
  };
}

const signed = (n: number, digits: number) => `${n >= 0 ? "+" : ""}${n.toFixed(digits)}`;
const cpu1 = (n: number | null) => (n === null ? "—" : n.toFixed(1));

/** "Telemetry on vs off": both rows (CPU µs/req to 0.1 µs, req/s, p50, p99, p99 at ½ rate), then on − off with the verdict. */
export function telemetryTable(c: TelemetryComparison): string {
  const header = [`Telemetry, ${c.runtime} (saturation)`, "req/s", "proxy CPU µs/req", "p50 ms", "p99 ms", "p99 ms at ½ rate"];
  const row = (label: string, s: TelemetrySide) => [
    `${label}: ${s.target}`,
    int(s.reqPerSec),
    cpu1(s.proxyCpuUs),
    ms(s.p50Ms),
    ms(s.p99Ms),
    s.halfRateP99Ms === null ? "—" : ms(s.halfRateP99Ms),
  ];
  const verdict = c.met === null ? "not measured" : c.met ? "met" : "MISSED";
  const halfDelta = c.on.halfRateP99Ms === null || c.off.halfRateP99Ms === null ? "—" : signed(c.on.halfRateP99Ms - c.off.halfRateP99Ms, 2);
  return table(header, [
    row("on", c.on),
    row("off", c.off),
    [
      "on − off",
      `${c.reqPerSecRatio.toFixed(3)}×`,
      `${c.cpuDeltaUs === null ? "—" : signed(c.cpuDeltaUs, 1)} (≤ +${c.budgetUs}: ${verdict})`,
      signed(c.on.p50Ms - c.off.p50Ms, 2),
      signed(c.on.p99Ms - c.off.p99Ms, 2),
      halfDelta,
    ],
  ]);
}

export interface Verdict {
  /** What is required, e.g. `gateway ≥ 0.9× its bare pass-through req/s`. */
  target: string;
  /** null: not measured (a row was skipped). */
  met: boolean | null;
  /** The numbers. */
  detail: string;
}

/**
 * The targets for the gateway on `runtime`: against its bare pass-through (req/s, CPU),
 * nginx proxy_pass (req/s), its own half-rate p99, (50 policies) the Oceanus-style baseline, and
 * (default runtime) itself with telemetry off (CPU).
 */
export function verdicts(runtime: string, saturation: Summary[], half: Summary[]): Verdict[] {
  const gw = find(saturation, "gateway", runtime);
  const pt = find(saturation, "passthrough", runtime);
  const nginx = find(saturation, "nginx");
  const gwHalf = find(half, "gateway", runtime);
  const gw50 = find(saturation, "gateway50", runtime);
  const oceanus = find(saturation, "oceanus");
  const out: Verdict[] = [];
  const missing = (what: string) => `not measured (${what} skipped)`;

  const t1 = `gateway ≥ ${THROUGHPUT_RATIO}× its bare pass-through req/s`;
  if (gw && pt) {
    const min = THROUGHPUT_RATIO * pt.reqPerSec;
    out.push({
      target: t1,
      met: gw.reqPerSec >= min,
      detail: `${int(gw.reqPerSec)} vs ${int(pt.reqPerSec)} req/s (${(gw.reqPerSec / pt.reqPerSec).toFixed(2)}×; needs ≥ ${int(min)})`,
    });
  } else out.push({ target: t1, met: null, detail: missing(gw ? "pass-through" : "gateway") });

  const t2 = `gateway CPU ≤ pass-through + ${CPU_BUDGET_US} µs/req`;
  if (gw?.proxyCpuUs != null && pt?.proxyCpuUs != null) {
    const extra = gw.proxyCpuUs - pt.proxyCpuUs;
    out.push({
      target: t2,
      met: extra <= CPU_BUDGET_US,
      detail: `${int(gw.proxyCpuUs)} vs ${int(pt.proxyCpuUs)} µs/req (${extra >= 0 ? "+" : ""}${int(extra)} µs)`,
    });
  } else out.push({ target: t2, met: null, detail: missing(gw ? "pass-through" : "gateway") });

  const t3 = `gateway ≥ ${NGINX_RATIO}× nginx proxy_pass req/s (same process count)`;
  if (gw && nginx) {
    out.push({
      target: t3,
      met: gw.reqPerSec >= NGINX_RATIO * nginx.reqPerSec,
      detail: `${int(gw.reqPerSec)} vs ${int(nginx.reqPerSec)} req/s (${(gw.reqPerSec / nginx.reqPerSec).toFixed(2)}×)`,
    });
  } else out.push({ target: t3, met: null, detail: missing(gw ? "nginx" : "gateway") });

  const t4 = `gateway p99 ≤ ${HALF_RATE_P99_MS} ms at half of its saturation req/s`;
  if (gwHalf && gwHalf.rate !== null) {
    out.push({
      target: t4,
      met: gwHalf.p99Ms <= HALF_RATE_P99_MS,
      detail:
        `p99 ${ms(gwHalf.p99Ms)} ms (p50 ${ms(gwHalf.p50Ms)}, p99.9 ${ms(gwHalf.p999Ms)}) at ${int(gwHalf.rate)} req/s offered, ` +
        `${int(gwHalf.reqPerSec)} achieved` +
        (gwHalf.lateSends ? `; ${int(gwHalf.lateSends)} late sends, max lag ${ms(gwHalf.lagMaxMs ?? Number.NaN)} ms` : ""),
    });
  } else out.push({ target: t4, met: null, detail: missing("gateway half-rate run") });

  const t5 = `gateway with 50 policies ≥ ${OCEANUS_MULTIPLE}× the Oceanus-style baseline req/s`;
  if (gw50 && oceanus) {
    out.push({
      target: t5,
      met: gw50.reqPerSec >= OCEANUS_MULTIPLE * oceanus.reqPerSec,
      detail:
        `${int(gw50.reqPerSec)} vs ${int(oceanus.reqPerSec)} req/s (${(gw50.reqPerSec / oceanus.reqPerSec).toFixed(2)}×); ` +
        `CPU ${cpu(gw50.proxyCpuUs)} vs ${cpu(oceanus.proxyCpuUs)} µs/req`,
    });
  } else out.push({ target: t5, met: null, detail: missing(gw50 ? "Oceanus-style baseline" : "50-policy gateway") });

  // The telemetry-off row runs on the default runtime only: elsewhere the verdict is left out rather than "not measured".
  const t6 = `gateway CPU with telemetry on ≤ telemetry off + ${TELEMETRY_BUDGET_US} µs/req`;
  const tel = telemetryComparison(runtime, saturation, half);
  if (tel && tel.cpuDeltaUs !== null) {
    out.push({
      target: t6,
      met: tel.met,
      detail:
        `${cpu1(tel.on.proxyCpuUs)} vs ${cpu1(tel.off.proxyCpuUs)} µs/req (${signed(tel.cpuDeltaUs, 1)} µs); ` +
        `req/s ${tel.reqPerSecRatio.toFixed(3)}×; p99 ${ms(tel.on.p99Ms)} vs ${ms(tel.off.p99Ms)} ms`,
    });
  } else if (runtime === DEFAULT_RUNTIME) out.push({ target: t6, met: null, detail: missing(gw ? "telemetry-off gateway" : "gateway") });
  return out;
}

/** One line per verdict: `met`, `MISSED` or `not measured`. */
export function verdictLines(list: Verdict[]): string[] {
  return list.map((v) => `- ${v.met === null ? "not measured" : v.met ? "met" : "MISSED"}: ${v.target}: ${v.detail}`);
}

/** One edge-protection row against the plain gateway row of the same runtime and run. */
export interface EdgeRow {
  target: string;
  kind: TargetKind;
  reqPerSec: number;
  proxyCpuUs: number | null;
  /** Its CPU µs/req minus the plain route's. */
  cpuDeltaUs: number | null;
  /** Its req/s ÷ the plain route's. */
  reqPerSecRatio: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses other than 2xx (a limit that rejected would show here). */
  non2xx: number;
  /** gatewayEdge only: cpuDeltaUs ≤ EDGE_BUDGET_US; null for the cluster row (reported, no target). */
  met: boolean | null;
}

/** The edge-protection rows of `runtime` (saturation) against its plain gateway row; empty when either is missing. */
export function edgeComparison(runtime: string, saturation: Summary[]): { plain: Summary; rows: EdgeRow[] } | null {
  const plain = find(saturation, "gateway", runtime);
  if (!plain) return null;
  const rows = saturation
    .filter((s) => (s.kind === "gatewayEdge" || s.kind === "gatewayEdgeCluster") && s.runtime === runtime)
    .map((s): EdgeRow => {
      const cpuDeltaUs = s.proxyCpuUs !== null && plain.proxyCpuUs !== null ? s.proxyCpuUs - plain.proxyCpuUs : null;
      return {
        target: s.target,
        kind: s.kind as TargetKind,
        reqPerSec: s.reqPerSec,
        proxyCpuUs: s.proxyCpuUs,
        cpuDeltaUs,
        reqPerSecRatio: s.reqPerSec / plain.reqPerSec,
        p50Ms: s.p50Ms,
        p99Ms: s.p99Ms,
        non2xx: s.non2xx,
        met: s.kind === "gatewayEdge" && cpuDeltaUs !== null ? cpuDeltaUs <= EDGE_BUDGET_US : null,
      };
    });
  return rows.length > 0 ? { plain, rows } : null;
}

/** "Edge protection cost": the plain route, then each edge row with its CPU difference and verdict. */
export function edgeTable(c: { plain: Summary; rows: EdgeRow[] }): string {
  const header = [
    "Route (saturation)",
    "req/s",
    "× plain req/s",
    "proxy CPU µs/req",
    "Δ CPU µs/req",
    "p50 ms",
    "p99 ms",
    "non-2xx",
    "target",
  ];
  const rows = [
    [
      `plain: ${c.plain.target}`,
      int(c.plain.reqPerSec),
      "1.00",
      cpu1(c.plain.proxyCpuUs),
      "—",
      ms(c.plain.p50Ms),
      ms(c.plain.p99Ms),
      int(c.plain.non2xx),
      "",
    ],
    ...c.rows.map((r) => [
      r.target,
      int(r.reqPerSec),
      r.reqPerSecRatio.toFixed(2),
      cpu1(r.proxyCpuUs),
      r.cpuDeltaUs === null ? "—" : signed(r.cpuDeltaUs, 1),
      ms(r.p50Ms),
      ms(r.p99Ms),
      int(r.non2xx),
      r.met === null ? "reported" : r.met ? `met (≤ +${EDGE_BUDGET_US} µs)` : `MISSED (> +${EDGE_BUDGET_US} µs)`,
    ]),
  ];
  return table(header, rows);
}
