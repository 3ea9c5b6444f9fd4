/**
 * `npm run bench:propagation`: how long a registry change takes to reach every gateway isolate,
 * and whether any request ever saw a half-applied snapshot. All on 127.0.0.1:
 *   - control in child processes: one on PGlite; then two replicas on a fresh PostgreSQL database
 *     (when DATABASE_URL is set), API writes through replica A, half the gateways polling A and
 *     half polling B (so B learns of A's snapshots by LISTEN/NOTIFY);
 *   - BENCH_GATEWAYS (8) gateway isolates: one workerd process each, on its own port, so each is
 *     probed on its own (the launcher's SO_REUSEPORT spreading is not what is measured here);
 *     answers carry Sluice-Snapshot-Version (SNAPSHOT_VERSION_HEADER=1);
 *   - one upstream child process with three named ports (u0, u1, u2).
 * A change moves the route's only instance to the next upstream (PUT …/instances/{id}). For each
 * change, the time from the PUT returning to the first answer from the new upstream, per gateway;
 * "all gateways" is the slowest of them. Probes: each gateway gets one request at a time with
 * BENCH_PROBE_GAP_MS (5) between them, so the resolution is a few ms.
 * Phases: `busy` (probes run throughout; BENCH_CHANGES = 100 changes) and `idle` (probes stop and
 * the isolates go idle — their poll loops end — before each of BENCH_IDLE_CHANGES = 10 changes;
 * probing starts when the PUT returns).
 * Consistency, over every answer: per gateway the version never goes back; every answer routed
 * by version V reached the upstream control's snapshot V names (the bench reads V after each
 * change from control). Any other answer counts as having seen a half-applied snapshot.
 * Every process started is stopped by PID at the end, also on Ctrl-C.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createScratchDatabase } from "../test/support/backends.ts";
import { startGateway } from "../worker/launcher/gateway.ts";
import { type BenchSecrets, benchSecrets, type ControlProcess, startControlProcess } from "./control-process.ts";
import { stopChild } from "./proc.ts";
import { runBenchMain, type Stop } from "./run-main.ts";
import { percentile } from "./stats.ts";

const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const CHANGES = env("BENCH_CHANGES", 100);
const IDLE_CHANGES = env("BENCH_IDLE_CHANGES", 10);
const GATEWAYS = env("BENCH_GATEWAYS", 8);
const PROBE_GAP_MS = env("BENCH_PROBE_GAP_MS", 5);
/** Gateways hold polls for 3 s and stop polling 1 s after their last request: idle within ~4 s. */
const WAIT_MS = 3000;
const IDLE_STOP_MS = 1000;
const CHANGE_TIMEOUT_MS = 10_000;

const stops: Stop[] = [];

interface Answer {
  sentMs: number;
  recvMs: number;
  upstream: string | null;
  version: number | null;
  status: number;
}

/** Sends one request at a time to one gateway and records every answer. */
class Prober {
  readonly answers: Answer[] = [];
  private running = false;
  private loop: Promise<void> | null = null;
  private waiting: { upstream: string; sinceMs: number; resolve: (atMs: number) => void } | null = null;
  readonly url: string;
  constructor(url: string) {
    this.url = url;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const sentMs = performance.now();
        let answer: Answer;
        try {
          const res = await fetch(`${this.url}/p`);
          const text = await res.text();
          const version = res.headers.get("sluice-snapshot-version");
          answer = {
            sentMs,
            recvMs: performance.now(),
            status: res.status,
            upstream: res.status === 200 ? (JSON.parse(text).upstream as string) : null,
            version: version ? Number(version) : null,
          };
        } catch {
          answer = { sentMs, recvMs: performance.now(), status: 0, upstream: null, version: null };
        }
        this.answers.push(answer);
        const w = this.waiting;
        if (w && answer.upstream === w.upstream && answer.recvMs >= w.sinceMs) {
          this.waiting = null;
          w.resolve(answer.recvMs);
        }
        await new Promise((r) => setTimeout(r, PROBE_GAP_MS));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Resolves with the receive time of the first answer from `upstream` received after `sinceMs`. */
  until(upstream: string, sinceMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `${this.url}: no answer from ${upstream} within ${CHANGE_TIMEOUT_MS} ms; last: ${JSON.stringify(this.answers.at(-1))}`,
            ),
          ),
        CHANGE_TIMEOUT_MS,
      );
      this.waiting = {
        upstream,
        sinceMs,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      };
    });
  }
}

interface PhaseResult {
  phase: string;
  /** Per change: slowest gateway, ms after the PUT returned. */
  allMs: number[];
  /** Per change and gateway, ms. */
  eachMs: number[];
  /** The same, for the gateways polling replica B (PostgreSQL; empty with one control). */
  viaBMs: number[];
}

interface ModeResult {
  mode: string;
  phases: PhaseResult[];
  answers: number;
  failed: number;
  /** Answers whose version went back, or that reached another upstream than their version names. */
  inconsistent: number;
  /** Answers routed by a version the bench never saw control serve (none expected). */
  unknownVersion: number;
  versions: number;
}

async function startUpstreams(): Promise<{ ports: number[] }> {
  const script = fileURLToPath(new URL("./named-upstream.ts", import.meta.url));
  const child: ChildProcess = spawn(process.execPath, [script, "u0", "u1", "u2"], { stdio: ["pipe", "pipe", "inherit"] });
  stops.push(() => stopChild(child));
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout?.once("data", (chunk: Buffer) => resolve(chunk.toString()));
    child.once("exit", () => reject(new Error("upstream exited")));
  });
  return { ports: line.trim().split(" ").slice(1).map(Number) };
}

async function api(control: ControlProcess, secrets: BenchSecrets, method: string, path: string, body?: unknown) {
  const res = await fetch(`${control.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${secrets.adminToken}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok && res.status !== 304) throw new Error(`${method} ${path} → ${res.status} ${text}`);
  return { res, json: text ? JSON.parse(text) : null };
}

/** The snapshot version control serves now (a conditional GET answered 304, headers only). */
async function servedVersion(control: ControlProcess, secrets: BenchSecrets): Promise<number> {
  const res = await fetch(`${control.url}/v1/snapshot`, {
    headers: { authorization: `Bearer ${secrets.adminToken}`, "if-none-match": "*" },
  });
  await res.body?.cancel();
  return Number(res.headers.get("sluice-snapshot-version"));
}

async function runMode(mode: "pglite" | "postgres", ports: number[]): Promise<ModeResult> {
  const secrets = await benchSecrets();
  const dataDir = await mkdtemp(join(os.tmpdir(), "sluice-bench-prop-"));
  stops.push(() => rm(dataDir, { recursive: true, force: true }));
  let databaseUrl: string | undefined;
  if (mode === "postgres") {
    const db = await createScratchDatabase(process.env.DATABASE_URL as string, "sluice_bench");
    stops.push(db.drop);
    databaseUrl = db.url;
  }
  const a = await startControlProcess({ dataDir, databaseUrl, secrets });
  stops.push(a.stop);
  const b = mode === "postgres" ? await startControlProcess({ dataDir, databaseUrl, secrets }) : a;
  if (b !== a) stops.push(b.stop);

  await api(a, secrets, "POST", "/v1/services", { appkey: "bench" });
  await api(a, secrets, "POST", "/v1/services/bench/groups", { name: "g" });
  const instance = (await api(a, secrets, "POST", "/v1/services/bench/groups/g/instances", { host: "127.0.0.1", port: ports[0] })).json;
  await api(a, secrets, "POST", "/v1/routes", { appkey: "bench", path: "/p", defaultGroup: "g" });

  const probers: Prober[] = [];
  for (let i = 0; i < GATEWAYS; i++) {
    const gateway = await startGateway({
      controlUrl: i < GATEWAYS / 2 ? a.url : b.url,
      gatewayToken: secrets.gatewayToken,
      snapshotPublicKey: secrets.publicKey,
      port: 0,
      processes: 1,
      snapshotWaitMs: WAIT_MS,
      snapshotIdleStopMs: IDLE_STOP_MS,
      snapshotVersionHeader: true,
      stdio: "ignore",
    });
    stops.push(gateway.close);
    probers.push(new Prober(gateway.url));
  }
  console.log(
    `${mode}: control ${mode === "postgres" ? `replicas pids ${a.pid}, ${b.pid}` : `pid ${a.pid}`}; ${GATEWAYS} gateway isolates`,
  );

  const expected = new Map<number, string>();
  const change = async (k: number): Promise<{ allMs: number; eachMs: number[]; viaBMs: number[] }> => {
    const target = k % ports.length;
    await api(a, secrets, "PUT", `/v1/services/bench/groups/g/instances/${instance.id}`, { host: "127.0.0.1", port: ports[target] });
    const returned = performance.now();
    for (const p of probers) p.start();
    const each = await Promise.all(probers.map((p) => p.until(`u${target}`, returned)));
    // The version every gateway now serves, as control names it: it must route to u<target>.
    expected.set(await servedVersion(a, secrets), `u${target}`);
    const eachMs = each.map((at) => at - returned);
    const viaBMs = b === a ? [] : eachMs.slice(GATEWAYS / 2);
    return { allMs: Math.max(...eachMs), eachMs, viaBMs };
  };

  // Warm up: every gateway routes to u0 on the setup's snapshot.
  for (const p of probers) p.start();
  await Promise.all(probers.map((p) => p.until("u0", 0)));
  expected.set(await servedVersion(a, secrets), "u0");
  for (const p of probers) p.answers.length = 0; // count from here: every isolate has a snapshot

  const busy: PhaseResult = { phase: "busy", allMs: [], eachMs: [], viaBMs: [] };
  for (let k = 1; k <= CHANGES; k++) {
    const r = await change(k);
    busy.allMs.push(r.allMs);
    busy.eachMs.push(...r.eachMs);
    busy.viaBMs.push(...r.viaBMs);
    await new Promise((r2) => setTimeout(r2, 50 + (k % 5) * 20));
  }
  const idle: PhaseResult = { phase: "idle", allMs: [], eachMs: [], viaBMs: [] };
  for (let k = CHANGES + 1; k <= CHANGES + IDLE_CHANGES; k++) {
    await Promise.all(probers.map((p) => p.stop()));
    await new Promise((r) => setTimeout(r, WAIT_MS + IDLE_STOP_MS + 500));
    const r = await change(k);
    idle.allMs.push(r.allMs);
    idle.eachMs.push(...r.eachMs);
    idle.viaBMs.push(...r.viaBMs);
  }
  await Promise.all(probers.map((p) => p.stop()));

  // Consistency over every answer.
  let inconsistent = 0;
  let unknownVersion = 0;
  let failed = 0;
  let answers = 0;
  for (const p of probers) {
    let last = 0;
    for (const answer of p.answers) {
      answers += 1;
      if (answer.status !== 200) {
        failed += 1;
        continue;
      }
      const version = answer.version ?? -1;
      const want = expected.get(version);
      if (want === undefined) unknownVersion += 1;
      if (version < last || (want !== undefined && want !== answer.upstream)) inconsistent += 1;
      last = Math.max(last, version);
    }
  }
  const name = mode === "postgres" ? "PostgreSQL, 2 control replicas" : "PGlite, 1 control";
  return { mode: name, phases: [busy, idle], answers, failed, inconsistent, unknownVersion, versions: expected.size };
}

/** Nearest-rank percentile of unsorted `values`. */
function pct(values: number[], p: number): number {
  return percentile(
    [...values].sort((x, y) => x - y),
    p,
  );
}

function table(results: ModeResult[]): string {
  const rows = [
    "| control | phase | changes | all gateways p50 / p99 / max ms | per gateway p50 / p99 ms | via replica B p50 / p99 ms | answers | failed | half-applied | unknown version |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    for (const ph of r.phases) {
      if (ph.allMs.length === 0) continue;
      const f = (x: number) => x.toFixed(0);
      rows.push(
        `| ${r.mode} | ${ph.phase} | ${ph.allMs.length} | ${f(pct(ph.allMs, 0.5))} / ${f(pct(ph.allMs, 0.99))} / ${f(Math.max(...ph.allMs))} | ` +
          `${f(pct(ph.eachMs, 0.5))} / ${f(pct(ph.eachMs, 0.99))} | ${ph.viaBMs.length ? `${f(pct(ph.viaBMs, 0.5))} / ${f(pct(ph.viaBMs, 0.99))}` : "—"} | ${ph === r.phases[0] ? r.answers : "″"} | ${ph === r.phases[0] ? r.failed : "″"} | ${ph === r.phases[0] ? r.inconsistent : "″"} | ${ph === r.phases[0] ? r.unknownVersion : "″"} |`,
      );
    }
  }
  return rows.join("\n");
}

async function main(): Promise<void> {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  console.log(`machine: ${os.availableParallelism()} cores, ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; node ${process.version}`);
  console.log(
    `method: ${GATEWAYS} isolates, ${CHANGES} busy + ${IDLE_CHANGES} idle changes, probe gap ${PROBE_GAP_MS} ms, long-poll wait ${WAIT_MS} ms`,
  );
  const { ports } = await startUpstreams();
  const modes: ("pglite" | "postgres")[] = process.env.DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];
  const results: ModeResult[] = [];
  for (const mode of modes) {
    const result = await runMode(mode, ports);
    results.push(result);
    console.log(table([result]));
  }
  console.log(`\n${table(results)}`);
  if (!process.env.DATABASE_URL) console.log("DATABASE_URL not set: the PostgreSQL replica run was skipped.");
}

await runBenchMain(main, stops);
