/**
 * Turns runs into results: per-target medians, one markdown table (pasteable into
 * bench/RESULTS.md) and the PASS/MISS verdicts of the gateway against the pass-through Worker.
 */
import type { Run } from "./load.ts";

/** Gateway req/s must reach this fraction of the pass-through's. */
export const THROUGHPUT_RATIO = 0.9;
/** Gateway CPU per request may exceed the pass-through's by at most this many µs. */
export const CPU_BUDGET_US = 10;

export interface Summary {
  target: string;
  runs: Run[];
  /** Medians over runs. */
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** µs per request; null when the target has no processes of its own. */
  proxyCpuUs: number | null;
  upstreamCpuUs: number;
  clientCpuUs: number;
  /** Sums over runs. */
  non2xx: number;
  non2xxByStatus: Record<string, number>;
  errors: number;
  timeouts: number;
}

/** Median; of an even count, the mean of the middle two. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function summarize(target: string, runs: Run[]): Summary {
  const non2xxByStatus: Record<string, number> = {};
  for (const run of runs) {
    for (const [status, count] of Object.entries(run.non2xxByStatus)) non2xxByStatus[status] = (non2xxByStatus[status] ?? 0) + count;
  }
  const proxy = runs.map((r) => r.proxyCpuUs).filter((v): v is number => v !== null);
  const sum = (pick: (r: Run) => number) => runs.reduce((acc, r) => acc + pick(r), 0);
  return {
    target,
    runs,
    reqPerSec: median(runs.map((r) => r.reqPerSec)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    proxyCpuUs: proxy.length > 0 ? median(proxy) : null,
    upstreamCpuUs: median(runs.map((r) => r.upstreamCpuUs)),
    clientCpuUs: median(runs.map((r) => r.clientCpuUs)),
    non2xx: sum((r) => r.non2xx),
    non2xxByStatus,
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
  };
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n: number) => n.toFixed(n < 10 ? 2 : 1);

function non2xxCell(s: Summary): string {
  const detail = Object.entries(s.non2xxByStatus).map(([status, count]) => `${status}: ${int(count)}`);
  return detail.length > 0 ? `${int(s.non2xx)} (${detail.join(", ")})` : int(s.non2xx);
}

function errorsCell(s: Summary): string {
  return s.timeouts > 0 ? `${int(s.errors)} (${int(s.timeouts)} timeouts)` : int(s.errors);
}

/** One row per target; ratios are against `baseline` (the pass-through Worker). */
export function markdownTable(summaries: Summary[], baseline: Summary): string {
  const header = [
    "Target",
    "req/s (median)",
    "× pass-through req/s",
    "p50 ms",
    "p99 ms",
    "non-2xx",
    "errors",
    "proxy CPU µs/req",
    "× pass-through CPU",
    "upstream CPU µs/req",
    "client CPU µs/req",
    "req/s per run",
  ];
  const rows = summaries.map((s) => [
    s.target,
    int(s.reqPerSec),
    (s.reqPerSec / baseline.reqPerSec).toFixed(2),
    ms(s.p50Ms),
    ms(s.p99Ms),
    non2xxCell(s),
    errorsCell(s),
    s.proxyCpuUs === null ? "—" : int(s.proxyCpuUs),
    s.proxyCpuUs === null || baseline.proxyCpuUs === null ? "—" : (s.proxyCpuUs / baseline.proxyCpuUs).toFixed(2),
    int(s.upstreamCpuUs),
    int(s.clientCpuUs),
    s.runs.map((r) => int(r.reqPerSec)).join(" / "),
  ]);
  // Padded as biome formats markdown, so the pasted table passes `npm run lint` unchanged.
  const widths = header.map((_, i) => Math.max(header[i].length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The two targets, each as a line ending in PASS or MISS. */
export function verdicts(gateway: Summary, passthrough: Summary): string[] {
  const minReqPerSec = THROUGHPUT_RATIO * passthrough.reqPerSec;
  const lines = [
    `gateway req/s ≥ ${THROUGHPUT_RATIO} × pass-through: ${int(gateway.reqPerSec)} vs ${int(minReqPerSec)} ` +
      `(${(gateway.reqPerSec / passthrough.reqPerSec).toFixed(2)}×) → ${gateway.reqPerSec >= minReqPerSec ? "PASS" : "MISS"}`,
  ];
  if (gateway.proxyCpuUs !== null && passthrough.proxyCpuUs !== null) {
    const maxCpu = passthrough.proxyCpuUs + CPU_BUDGET_US;
    const extra = gateway.proxyCpuUs - passthrough.proxyCpuUs;
    lines.push(
      `gateway CPU/request ≤ pass-through + ${CPU_BUDGET_US} µs: ${int(gateway.proxyCpuUs)} µs vs ${int(maxCpu)} µs ` +
        `(${extra >= 0 ? "+" : ""}${int(extra)} µs) → ${gateway.proxyCpuUs <= maxCpu ? "PASS" : "MISS"}`,
    );
  }
  return lines;
}
