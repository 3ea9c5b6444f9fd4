/**
 * `npm run bench:heartbeat`: sustained heartbeats per second on one control process, with latency,
 * on PGlite and (when DATABASE_URL is set) on PostgreSQL. All on 127.0.0.1:
 *   - control/main.ts in a child process (its own core's worth of event loop), a fresh data
 *     directory / database; one service, BENCH_INSTANCES (1000) ephemeral instances registered
 *     through the agent API with an agent token;
 *   - autocannon in this process: BENCH_CONNECTIONS (32) keep-alive connections, closed loop,
 *     POST /v1/registry/heartbeats, instance ids cycling; a BENCH_WARMUP_SECONDS (3) warm-up then
 *     a BENCH_SECONDS (15) measured window, for 1 beat per request (one agent per instance) and
 *     for 10 beats per request (an agent on a host with ten instances).
 * Also measured: control's CPU per beat (/proc), and that nothing was written (a heartbeat that
 * changes nothing writes nothing): no revision, no instance row updated during the window.
 * Every process started is stopped by PID at the end, also on Ctrl-C.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { createScratchDatabase } from "../test/support/backends.ts";
import { benchSecrets, type ControlProcess, startControlProcess } from "./control-process.ts";
import { CLOCK_TICKS, cpuTicks, systemBusyTicks } from "./proc.ts";
import { runBenchMain, type Stop } from "./run-main.ts";
import { percentile } from "./stats.ts";

const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const INSTANCES = env("BENCH_INSTANCES", 1000);
const CONNECTIONS = env("BENCH_CONNECTIONS", 32);
const SECONDS = env("BENCH_SECONDS", 15);
const WARMUP_SECONDS = env("BENCH_WARMUP_SECONDS", 3);

const stops: Stop[] = [];

interface Row {
  backend: string;
  beatsPerRequest: number;
  reqPerSec: number;
  beatsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  non2xx: number;
  errors: number;
  cpuUsPerBeat: number;
  revisions: number;
  /** Instance rows whose updated_at falls in the window. */
  rowsWritten: number;
  /** Cores used meanwhile by processes other than control and this one (machine quietness). */
  otherCores: number;
}

async function call(control: ControlProcess, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${control.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function load(url: string, token: string, ids: number[], perRequest: number, seconds: number) {
  let next = 0;
  const body = () => {
    const beats = [];
    for (let i = 0; i < perRequest; i++) {
      beats.push({ id: ids[next] });
      next = (next + 1) % ids.length;
    }
    return JSON.stringify({ beats });
  };
  const instance = autocannon({
    url: `${url}/v1/registry/heartbeats`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        setupRequest: (request) => ({ ...request, body: body() }),
      },
    ],
  });
  const latencies: number[] = [];
  instance.on("response", (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  const result = await instance;
  return { result, latencies: Float64Array.from(latencies).sort() };
}

/** Instances of service hb updated after `sinceMs` (Unix ms), from the admin API. */
async function rowsUpdatedSince(control: ControlProcess, adminToken: string, sinceMs: number): Promise<number> {
  const listed = await call(control, adminToken, "GET", "/v1/services/hb/groups/g/instances");
  return listed.items.filter((i: { updatedAt: string }) => Date.parse(i.updatedAt) >= sinceMs).length;
}

async function runBackend(backend: "pglite" | "postgres"): Promise<Row[]> {
  const secrets = await benchSecrets();
  const dataDir = await mkdtemp(join(os.tmpdir(), "sluice-bench-hb-"));
  stops.push(() => rm(dataDir, { recursive: true, force: true }));
  let databaseUrl: string | undefined;
  if (backend === "postgres") {
    const db = await createScratchDatabase(process.env.DATABASE_URL as string, "sluice_bench");
    stops.push(db.drop);
    databaseUrl = db.url;
  }
  const control = await startControlProcess({ dataDir, databaseUrl, secrets });
  stops.push(control.stop);
  const admin = secrets.adminToken;
  await call(control, admin, "POST", "/v1/services", { appkey: "hb" });
  await call(control, admin, "POST", "/v1/services/hb/groups", { name: "g" });
  const token = (await call(control, admin, "POST", "/v1/agent-tokens", { name: "bench", appkeys: ["hb"] })).token as string;
  const ids: number[] = [];
  const started = Date.now();
  for (let i = 0; i < INSTANCES; i += 8) {
    const batch = Array.from({ length: Math.min(8, INSTANCES - i) }, (_, j) =>
      call(control, token, "POST", "/v1/registry/instances", { appkey: "hb", group: "g", host: "10.0.0.1", port: 10_000 + i + j }),
    );
    for (const r of await Promise.all(batch)) ids.push(r.instance.id);
  }
  console.log(
    `${backend}: control pid ${control.pid}; registered ${ids.length} instances in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  for (let i = 0; i < ids.length; i += 1000)
    await call(control, token, "POST", "/v1/registry/heartbeats", { beats: ids.slice(i, i + 1000).map((id) => ({ id })) });

  const rows: Row[] = [];
  for (const perRequest of [1, 10]) {
    if (WARMUP_SECONDS > 0) await load(control.url, token, ids, perRequest, WARMUP_SECONDS);
    const revisionsBefore = (await call(control, admin, "GET", "/v1/revisions?limit=1")).items[0].id as number;
    const windowStart = Date.now();
    const cpuBefore = cpuTicks([control.pid]);
    const busyBefore = systemBusyTicks();
    const selfBefore = process.cpuUsage();
    const { result, latencies } = await load(control.url, token, ids, perRequest, SECONDS);
    const cpu = cpuTicks([control.pid]) - cpuBefore;
    const self = process.cpuUsage(selfBefore);
    const otherTicks = systemBusyTicks() - busyBefore - cpu - ((self.user + self.system) / 1e6) * CLOCK_TICKS;
    const rowsWritten = await rowsUpdatedSince(control, admin, windowStart);
    const revisionsAfter = (await call(control, admin, "GET", "/v1/revisions?limit=1")).items[0].id as number;
    const requests = result.requests.total;
    const beats = requests * perRequest;
    rows.push({
      backend: backend === "postgres" ? "PostgreSQL 15" : "PGlite",
      beatsPerRequest: perRequest,
      reqPerSec: requests / result.duration,
      beatsPerSec: beats / result.duration,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      maxMs: percentile(latencies, 1),
      non2xx: result.non2xx,
      errors: result.errors,
      cpuUsPerBeat: ((cpu / CLOCK_TICKS) * 1e6) / beats,
      revisions: revisionsAfter - revisionsBefore,
      rowsWritten,
      otherCores: Math.max(0, otherTicks / CLOCK_TICKS / result.duration),
    });
    console.log(table(rows.slice(-1)));
  }
  const listed = await call(control, admin, "GET", "/v1/services/hb/groups/g/instances");
  const unhealthy = listed.items.filter((i: { healthy: boolean }) => !i.healthy).length;
  console.log(`${backend}: ${listed.items.length} instances after the runs, ${unhealthy} unhealthy`);
  return rows;
}

function table(rows: Row[]): string {
  const lines = [
    "| backend | beats/request | requests/s | beats/s | p50 ms | p99 ms | max ms | non-2xx | errors | control CPU µs/beat | revisions written | instance rows written | other load (cores) |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.backend} | ${r.beatsPerRequest} | ${Math.round(r.reqPerSec).toLocaleString("en")} | ${Math.round(r.beatsPerSec).toLocaleString("en")} | ` +
        `${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.maxMs.toFixed(1)} | ${r.non2xx} | ${r.errors} | ${r.cpuUsPerBeat.toFixed(1)} | ${r.revisions} | ${r.rowsWritten} | ${r.otherCores.toFixed(2)} |`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  console.log(`machine: ${os.availableParallelism()} cores, ${os.cpus()[0]?.model ?? "?"}, node ${process.version}`);
  console.log(`method: ${INSTANCES} instances, ${CONNECTIONS} connections, ${WARMUP_SECONDS} s warm-up + ${SECONDS} s measured per row`);
  const rows: Row[] = [];
  for (const backend of process.env.DATABASE_URL ? (["pglite", "postgres"] as const) : (["pglite"] as const)) {
    rows.push(...(await runBackend(backend)));
    for (const stop of stops.splice(0).reverse()) await stop();
  }
  console.log(`\n${table(rows)}`);
  if (!process.env.DATABASE_URL) console.log("DATABASE_URL not set: the PostgreSQL run was skipped.");
}

await runBenchMain(main, stops);
