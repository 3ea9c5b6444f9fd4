/**
 * A real Prometheus server for tests: Debian's `prometheus` (2.x) started on 127.0.0.1 on a free
 * port, with a generated configuration in a temporary directory (scrape jobs that authenticate with
 * a Bearer token read from a 0600 `credentials_file`, optional rule files), its TSDB in that same
 * directory. Queries go through the HTTP API (`/api/v1/query`, `/api/v1/targets`, `/api/v1/alerts`).
 * `close()` stops the process by its PID (SIGTERM, then SIGKILL) and removes the directory.
 *
 * Every wait is bounded: start-up, `waitFor`, `waitForScrapeAfter`, `waitForAlert` and `close`
 * each give up (throw, or SIGKILL) after a timeout.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../worker/launcher/ports.ts";

/** The Prometheus server binary; Debian's `prometheus` package installs it on PATH. */
export const PROMETHEUS_BIN = "prometheus";
/** The rule checker of the same package. */
export const PROMTOOL_BIN = "promtool";

/** True when `bin --version` runs (the Debian `prometheus` package is installed). */
export function haveBinary(bin: string): boolean {
  const result = spawnSync(bin, ["--version"], { stdio: "ignore", timeout: 10_000 });
  return result.error === undefined && result.status === 0;
}

/**
 * Whether tests that need a real Prometheus run: `run` when `prometheus` and `promtool` are on
 * PATH; otherwise `skip` with a message naming the package to install — except under CI
 * (`process.env.CI` set), where `.ci/run` installs the package, so its absence is a failure
 * (`fail`), never a silent skip.
 */
export function prometheusAvailability(): { state: "run" | "skip" | "fail"; message: string } {
  if (haveBinary(PROMETHEUS_BIN) && haveBinary(PROMTOOL_BIN)) return { state: "run", message: "" };
  const message =
    "prometheus/promtool not found on PATH: install Debian's `prometheus` package " +
    "(apt-get install prometheus; .ci/run does this in CI)";
  return { state: process.env.CI ? "fail" : "skip", message };
}

/** One scrape job of the generated configuration. */
export interface ScrapeJob {
  /** `job_name`, the `job` label of its series. */
  name: string;
  /** Base URL of the target, e.g. `http://127.0.0.1:7400` (only scheme, host and port are used). */
  url: string;
  /** Bearer token, written to a 0600 file given as `authorization.credentials_file`; none: no header. */
  token?: string;
  /** Path of the metrics (default `/metrics`). */
  metricsPath?: string;
}

export interface PrometheusOptions {
  jobs: ScrapeJob[];
  /** Rule files (absolute paths) to load with `rule_files`. */
  ruleFiles?: string[];
  /** `global.scrape_interval`, seconds (default 1; `scrape_timeout` is the same). */
  scrapeIntervalS?: number;
  /** `global.evaluation_interval` of the rules, seconds (default 1). */
  evaluationIntervalS?: number;
  /** How long to wait for `/-/ready`, ms (default 20000). */
  readyTimeoutMs?: number;
}

/** A PromQL instant vector sample: its labels and value. */
export interface VectorSample {
  metric: Record<string, string>;
  value: number;
}

/** A target as `/api/v1/targets` reports it (active targets only). */
export interface Target {
  job: string;
  instance: string;
  health: "up" | "down" | "unknown";
  lastError: string;
  /** Start of the last scrape, ms since epoch (0 before the first). */
  lastScrapeMs: number;
}

/** An alert as `/api/v1/alerts` reports it. */
export interface Alert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: "pending" | "firing" | "inactive";
  value: string;
}

export interface RunningPrometheus {
  /** Base URL, `http://127.0.0.1:<port>`. */
  url: string;
  pid: number;
  /** The generated prometheus.yml (for failure messages). */
  config: string;
  /** stdout + stderr lines so far. */
  lines: string[];
  /** Instant query at the current time; @throws when Prometheus answers an error or a non-vector. */
  query(promql: string): Promise<VectorSample[]>;
  /**
   * Repeats `query(promql)` every 250 ms until `predicate` holds on its result; resolves with that
   * result. @throws after `timeoutMs` (default 15000), naming the last result.
   */
  waitFor(promql: string, predicate: (result: VectorSample[]) => boolean, timeoutMs?: number): Promise<VectorSample[]>;
  /** The active scrape targets. */
  targets(): Promise<Target[]>;
  /** `up` of each job, by job name (1: the last scrape succeeded, 0: it failed). */
  targetsUp(): Promise<Record<string, number>>;
  /**
   * Resolves once every target of `job` has finished a scrape that started after `afterMs` (ms
   * since epoch) — a scrape that sees everything the target did before `afterMs`. @throws after
   * `timeoutMs` (default 15000).
   */
  waitForScrapeAfter(job: string, afterMs: number, timeoutMs?: number): Promise<Target[]>;
  /** The alerts of the loaded rules, pending or firing. */
  alerts(): Promise<Alert[]>;
  /** Resolves with the alert `alertname` once it is in `state`. @throws after `timeoutMs` (default 20000). */
  waitForAlert(alertname: string, state: "pending" | "firing", timeoutMs?: number): Promise<Alert>;
  /** SIGTERM by PID, SIGKILL after 5 s; then removes the temporary directory. Idempotent. */
  close(): Promise<void>;
}

/** A YAML string scalar (JSON strings are valid YAML double-quoted scalars). */
const q = (s: string) => JSON.stringify(s);

/** The prometheus.yml for `options`, with each job's token file in `dir`. */
function renderConfig(options: PrometheusOptions, tokenFiles: Map<string, string>): string {
  const interval = `${options.scrapeIntervalS ?? 1}s`;
  const lines = [
    "global:",
    `  scrape_interval: ${interval}`,
    `  scrape_timeout: ${interval}`,
    `  evaluation_interval: ${options.evaluationIntervalS ?? 1}s`,
  ];
  if (options.ruleFiles?.length) lines.push("rule_files:", ...options.ruleFiles.map((f) => `  - ${q(f)}`));
  lines.push("scrape_configs:");
  for (const job of options.jobs) {
    const url = new URL(job.url);
    lines.push(
      `  - job_name: ${q(job.name)}`,
      `    scheme: ${url.protocol.replace(":", "")}`,
      `    metrics_path: ${q(job.metricsPath ?? "/metrics")}`,
    );
    const tokenFile = tokenFiles.get(job.name);
    if (tokenFile) lines.push("    authorization:", "      type: Bearer", `      credentials_file: ${q(tokenFile)}`);
    lines.push("    static_configs:", `      - targets: [${q(url.host)}]`);
  }
  return `${lines.join("\n")}\n`;
}

async function api<T>(base: string, path: string): Promise<T> {
  const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (res.status !== 200 || body.status !== "success") throw new Error(`prometheus ${path}: ${res.status} ${body.error ?? ""}`);
  return body.data;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts Prometheus on 127.0.0.1 on a free port and resolves once `/-/ready` answers 200.
 * @throws when the binary is missing, exits early, or is not ready within `readyTimeoutMs`
 * (the process is stopped and the directory removed first).
 */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), "sluice-prometheus-"));
  const tokenFiles = new Map<string, string>();
  for (const [i, job] of options.jobs.entries()) {
    if (job.token === undefined) continue;
    const file = join(dir, `token-${i}`);
    await writeFile(file, job.token, { mode: 0o600 });
    tokenFiles.set(job.name, file);
  }
  const config = renderConfig(options, tokenFiles);
  const configFile = join(dir, "prometheus.yml");
  await writeFile(configFile, config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;

  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const lines: string[] = [];
  const onData = (chunk: Buffer) => lines.push(...chunk.toString().split("\n").filter(Boolean));
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once("exit", () => {
      exited = true;
      resolve();
    });
    child.once("error", (err) => {
      lines.push(String(err));
      exited = true;
      resolve();
    });
  });

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    if (!exited && child.pid !== undefined) {
      const pid = child.pid;
      // Only this child, by its PID; ESRCH (it exited meanwhile) is fine.
      const signal = (sig: NodeJS.Signals) => {
        try {
          process.kill(pid, sig);
        } catch {}
      };
      signal("SIGTERM");
      const killTimer = setTimeout(() => {
        if (!exited) signal("SIGKILL");
      }, 5000);
      await exitedPromise;
      clearTimeout(killTimer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exited) {
      await close();
      throw new Error(`prometheus exited before it was ready:\n${lines.join("\n")}\nconfig:\n${config}`);
    }
    const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await close();
      throw new Error(`prometheus not ready within ${readyTimeoutMs} ms:\n${lines.join("\n")}`);
    }
    await sleep(100);
  }

  const query = async (promql: string): Promise<VectorSample[]> => {
    const data = await api<{ resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }>(
      url,
      `/api/v1/query?query=${encodeURIComponent(promql)}`,
    );
    if (data.resultType !== "vector") throw new Error(`${promql}: a ${data.resultType}, not a vector`);
    return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };

  const targets = async (): Promise<Target[]> => {
    const data = await api<{
      activeTargets: { labels: Record<string, string>; health: Target["health"]; lastError: string; lastScrape: string }[];
    }>(url, "/api/v1/targets?state=active");
    return data.activeTargets.map((t) => ({
      job: t.labels.job,
      instance: t.labels.instance,
      health: t.health,
      lastError: t.lastError,
      // Before the first scrape Prometheus reports year 1 (0001-01-01T00:00:00Z), a negative time.
      lastScrapeMs: Math.max(0, Date.parse(t.lastScrape)),
    }));
  };

  const alerts = async (): Promise<Alert[]> => (await api<{ alerts: Alert[] }>(url, "/api/v1/alerts")).alerts;

  /** Polls `probe` every 250 ms until it returns a value; @throws after `timeoutMs` with `describe()`. */
  const poll = async <T>(probe: () => Promise<T | undefined>, timeoutMs: number, describe: () => string): Promise<T> => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const found = await probe();
      if (found !== undefined) return found;
      if (Date.now() > end) throw new Error(`${describe()} (after ${timeoutMs} ms)`);
      await sleep(250);
    }
  };

  return {
    url,
    pid: child.pid ?? -1,
    config,
    lines,
    query,
    async waitFor(promql, predicate, timeoutMs = 15_000) {
      let last: VectorSample[] = [];
      return poll(
        async () => {
          last = await query(promql);
          return predicate(last) ? last : undefined;
        },
        timeoutMs,
        () => `${promql}: predicate never held; last result ${JSON.stringify(last)}`,
      );
    },
    targets,
    async targetsUp() {
      const up: Record<string, number> = {};
      for (const s of await query("up")) up[s.metric.job] = s.value;
      return up;
    },
    async waitForScrapeAfter(job, afterMs, timeoutMs = 15_000) {
      let last: Target[] = [];
      return poll(
        async () => {
          last = (await targets()).filter((t) => t.job === job);
          return last.length > 0 && last.every((t) => t.lastScrapeMs > afterMs) ? last : undefined;
        },
        timeoutMs,
        () => `job ${job}: no scrape started after ${new Date(afterMs).toISOString()}; targets ${JSON.stringify(last)}`,
      );
    },
    alerts,
    async waitForAlert(alertname, state, timeoutMs = 20_000) {
      let last: Alert[] = [];
      return poll(
        async () => {
          last = await alerts();
          return last.find((a) => a.labels.alertname === alertname && a.state === state);
        },
        timeoutMs,
        () => `alert ${alertname} never ${state}; alerts ${JSON.stringify(last)}`,
      );
    },
    close,
  };
}
