/**
 * The load generators of `npm run bench`, behind one interface: wrk (preferred; Debian/Ubuntu
 * `apt-get install wrk`, Homebrew `brew install wrk`, or build github.com/wg/wrk; found on PATH
 * or at /usr/bin/wrk) with bench/wrk/load.lua, or autocannon (an npm dev dependency, in this
 * process) when wrk is absent.
 *
 * Closed loop (saturation): `connections` keep-alive connections, each sending its next request
 * when the previous answer arrives. Fixed rate: wrk paces every request to a global schedule of
 * `rate` req/s (load.lua's delay(), 1 ms timer resolution, open-loop catch-up after a stall, late
 * sends counted). autocannon's `overallRate` instead gives each connection a quota per second
 * that it sends as fast as it can at the start of each second: bursts, so its fixed-rate
 * latencies are pessimistic; the report says which generator ran.
 * Latency is per response from its send (wrk: 1 µs histogram; autocannon: every response kept).
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { CLOCK_TICKS, findExecutable } from "./proc.ts";
import { percentile } from "./stats.ts";

export interface LoadOptions {
  connections: number;
  seconds: number;
  /** Fixed rate, req/s over all connections; null: closed loop (saturation). */
  rate: number | null;
  /** Send only Host (no CLIENT_FIELDS), as wrk does by default. */
  bareClient?: boolean;
  /** Fields sent on every request besides CLIENT_FIELDS (e.g. an `apikey` for key-auth). */
  fields?: Record<string, string>;
  signal: AbortSignal;
}

/**
 * Fields every bench request carries unless `bareClient`: what curl sends besides Host (browsers
 * and most SDKs send both too). They matter on Bun, whose gateway proxies such a request through
 * Bun's own fetch() and any other through node:http (worker/runtime/bun.ts); load.lua and the
 * autocannon fallback send the same.
 */
export const CLIENT_FIELDS: Record<string, string> = { "User-Agent": "sluice-bench/1.0", Accept: "*/*" };

/** The fields a run's requests carry besides Host. */
function requestFields(options: LoadOptions): Record<string, string> {
  return { ...(options.bareClient ? {} : CLIENT_FIELDS), ...options.fields };
}

/** One load-generator run, as the generator saw it. */
export interface LoadResult {
  /** Responses received (any status). */
  requests: number;
  /** Length of the run, s, as the generator timed it. */
  durationS: number;
  /** Latency percentiles and maximum, ms. */
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** Responses with an error status (wrk: ≥ 400; autocannon: outside 2xx). */
  non2xx: number;
  /** Connect, read, write errors and timeouts (timeouts included). */
  errors: number;
  timeouts: number;
  /** Fixed rate only (wrk): sends more than 1 ms behind their slot, and the largest lag, ms. */
  lateSends: number | null;
  lagMaxMs: number | null;
  /** CPU of the generator over the run, µs (wrk: its process; autocannon: this process, incl. control). */
  clientCpuUs: number;
}

export interface LoadGenerator {
  /** e.g. `wrk 4.1.0 -t1`, `autocannon 9.0.0`. */
  name: string;
  /** True when it runs in this process (its CPU is this process's). */
  inProcess: boolean;
  run(url: string, options: LoadOptions): Promise<LoadResult>;
}

const LUA_SCRIPT = fileURLToPath(new URL("./wrk/load.lua", import.meta.url));

/** wrk with one thread (`-t1`, as the issue measured), bench/wrk/load.lua. */
function wrkGenerator(bin: string): LoadGenerator {
  const version = /wrk (\S+)/.exec(spawnSync(bin, ["-v"], { encoding: "utf8" }).stdout)?.[1] ?? "?";
  return {
    name: `wrk ${version} -t1`,
    inProcess: false,
    run(url, options) {
      options.signal.throwIfAborted();
      const args = ["-t1", `-c${options.connections}`, `-d${options.seconds}s`, "--timeout", "10s", "-s", LUA_SCRIPT, `${url}/bench`];
      const env = {
        ...process.env,
        SLUICE_WRK_RATE: options.rate === null ? "0" : String(options.rate),
        SLUICE_WRK_FIELDS: JSON.stringify(requestFields(options)),
      };
      const child = spawn(bin, args, { stdio: ["ignore", "pipe", "inherit"], env });
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
      });
      const kill = () => child.kill("SIGKILL");
      options.signal.addEventListener("abort", kill, { once: true });
      return new Promise<LoadResult>((resolve, reject) => {
        child.once("error", reject);
        child.once("exit", (code, signal) => {
          options.signal.removeEventListener("abort", kill);
          if (options.signal.aborted) return reject(options.signal.reason);
          const line = out.split("\n").find((l) => l.startsWith("SLUICE_WRK "));
          if (code !== 0 || !line) return reject(new Error(`wrk exited (code ${code}, signal ${signal}): ${out.slice(-500)}`));
          const r = JSON.parse(line.slice("SLUICE_WRK ".length)) as Record<string, number>;
          const ms = (us: number) => us / 1000;
          const timeouts = r.timeouts ?? 0;
          resolve({
            requests: r.requests,
            durationS: r.durationUs / 1e6,
            p50Ms: ms(r.p50Us),
            p99Ms: ms(r.p99Us),
            p999Ms: ms(r.p999Us),
            maxMs: ms(r.maxUs),
            non2xx: r.statusErrors,
            errors: r.connectErrors + r.readErrors + r.writeErrors + timeouts,
            timeouts,
            lateSends: options.rate === null ? null : r.late,
            lagMaxMs: options.rate === null ? null : r.lagMaxMs,
            clientCpuUs: (r.cpuTicks * 1e6) / CLOCK_TICKS,
          });
        });
      });
    },
  };
}

/** The uid of autocannon's next request, cycling 0…999 across runs. */
let nextUid = 0;

/** autocannon in this process, every response's latency kept (its histogram has whole ms only). */
function autocannonGenerator(): LoadGenerator {
  const pkg = new URL("../node_modules/autocannon/package.json", import.meta.url);
  const { version } = JSON.parse(readFileSync(pkg, "utf8")) as { version: string };
  return {
    name: `autocannon ${version}`,
    inProcess: true,
    async run(url, options) {
      options.signal.throwIfAborted();
      const cpuBefore = process.cpuUsage();
      const instance = autocannon({
        url,
        connections: options.connections,
        duration: options.seconds,
        ...(options.rate === null ? {} : { overallRate: Math.round(options.rate) }),
        requests: [
          {
            method: "GET",
            headers: requestFields(options),
            setupRequest: (request) => {
              const uid = nextUid;
              nextUid = (nextUid + 1) % 1000;
              return { ...request, path: `/bench?uid=${uid}` };
            },
          },
        ],
      });
      const latencies: number[] = [];
      instance.on("response", (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
      const stop = () => instance.stop();
      options.signal.addEventListener("abort", stop, { once: true });
      try {
        const result = await instance;
        options.signal.throwIfAborted();
        const sorted = Float64Array.from(latencies).sort();
        const cpu = process.cpuUsage(cpuBefore);
        return {
          requests: result.requests.total,
          durationS: result.duration,
          p50Ms: percentile(sorted, 0.5),
          p99Ms: percentile(sorted, 0.99),
          p999Ms: percentile(sorted, 0.999),
          maxMs: percentile(sorted, 1),
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          lateSends: null,
          lagMaxMs: null,
          clientCpuUs: cpu.user + cpu.system,
        };
      } finally {
        options.signal.removeEventListener("abort", stop);
      }
    },
  };
}

/** wrk when installed, else autocannon (with a note on stderr saying how to get wrk); BENCH_LOAD=autocannon forces autocannon. */
export async function loadGenerator(): Promise<LoadGenerator> {
  if (process.env.BENCH_LOAD === "autocannon") return autocannonGenerator();
  const wrk = await findExecutable("wrk", ["/usr/bin", "/usr/local/bin"]);
  if (wrk) return wrkGenerator(wrk);
  console.error("bench: wrk not found, using autocannon (get wrk: `apt-get install wrk`, `brew install wrk`, or github.com/wg/wrk)");
  return autocannonGenerator();
}
