/**
 * Timing for `npm run bench:policy`: CPU ns per routing decision of one approach — the CPU time
 * of the process that runs the decisions (Node: this process, process.cpuUsage(); workerd: its
 * process's utime + stime from /proc, 10 ms ticks, so runs last ~TARGET_MS) divided by the
 * decisions. CPU rather than wall time, because the machine is shared: time spent waiting for a
 * core is not the approach's cost. Each measurement is calibrated, repeated ROUNDS times
 * interleaved with the other approaches, and the median kept. The CPU other processes used
 * meanwhile is recorded, so a noisy run shows (contention still slows caches and memory).
 */
import { CLOCK_TICKS, cpuTicks, systemBusyTicks } from "./proc.ts";

export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const TARGET_MS = Number(process.env.BENCH_TARGET_MS ?? 500);

/** Runs `iters` decisions and resolves when done (a local loop, or a request to workerd). */
export type Runner = (iters: number) => Promise<void>;

/** Iterations for ~TARGET_MS, from a quick probe. */
export async function calibrate(run: Runner): Promise<number> {
  let iters = 100;
  for (;;) {
    const t = performance.now();
    await run(iters);
    const ms = performance.now() - t;
    if (ms > 40 || iters >= 50_000_000) return Math.max(100, Math.round((iters * TARGET_MS) / Math.max(ms, 1)));
    iters *= 8;
  }
}

/** CPU ns per iteration of one run; `pid` is the process running it (null: this one). */
export async function timeRun(run: Runner, iters: number, pid: number | null): Promise<number> {
  if (pid === null) {
    const t = process.cpuUsage();
    await run(iters);
    const u = process.cpuUsage(t);
    return ((u.user + u.system) * 1e3) / iters;
  }
  const t = cpuTicks([pid]);
  await run(iters);
  return (((cpuTicks([pid]) - t) / CLOCK_TICKS) * 1e9) / iters;
}

/** Tracks the CPU of other processes during measurements. */
export class Quietness {
  private readonly samples: number[] = [];
  private readonly own: number[];
  private start = { busy: 0, own: 0, at: 0 };
  constructor(ownPids: number[]) {
    this.own = ownPids;
  }
  begin(): void {
    this.start = { busy: systemBusyTicks(), own: cpuTicks(this.own), at: performance.now() };
  }
  end(): void {
    const seconds = (performance.now() - this.start.at) / 1000;
    const other = systemBusyTicks() - this.start.busy - (cpuTicks(this.own) - this.start.own);
    if (seconds > 0.05) this.samples.push(Math.max(0, other / CLOCK_TICKS / seconds));
  }
  /** Median and max cores used by other processes. */
  summary(): { median: number; max: number } {
    const s = [...this.samples].sort((a, b) => a - b);
    return { median: s[Math.floor(s.length / 2)] ?? 0, max: s[s.length - 1] ?? 0 };
  }
}
