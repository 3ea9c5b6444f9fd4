/**
 * `npm run bench:config`: how fast a config release reaches its watchers (docs/config-center.md),
 * issue 17's figure. All on 127.0.0.1: two control replicas as child processes on a fresh
 * database of the real PostgreSQL at DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test),
 * BENCH_WATCHERS (500) watchers in this process spread evenly over the two replicas, each holding
 * a long poll (`GET /v1/config/watch`, wait 60 s) on one properties namespace. Releases are
 * published through replica A only, so the watchers on B learn of them through PostgreSQL's
 * LISTEN/NOTIFY.
 *   - `in a row`: BENCH_RELEASES (100) releases one after the other, each published once every
 *     watcher has seen the previous one (or BENCH_RELEASE_TIMEOUT_MS, 10 s, passed): per delivery
 *     the time from sending the release's POST to the watcher's answer naming it; a watcher that
 *     has not seen a release when the next is published counts as missed; a watcher that is told
 *     of a release older than one it saw counts as out of order.
 *   - `burst`: BENCH_BURST (100) releases sent back to back: every watcher must end on the last
 *     and never go back (long polls coalesce: a watcher sees the newest release when it asks).
 * Prints a table with p50 / p99 / max and their ratio to the issue's target (p99 < 1 s), missed and
 * out-of-order counts, and writes the same to build/bench/config.json. Every process it started
 * is stopped by PID at the end, also on Ctrl-C.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createScratchDatabase } from "../test/support/backends.ts";
import { benchSecrets, type ControlProcess, startControlProcess } from "./control-process.ts";
import { runBenchMain, type Stop } from "./run-main.ts";
import { percentile } from "./stats.ts";

const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const WATCHERS = env("BENCH_WATCHERS", 500);
const RELEASES = env("BENCH_RELEASES", 100);
const BURST = env("BENCH_BURST", 100);
const RELEASE_TIMEOUT_MS = env("BENCH_RELEASE_TIMEOUT_MS", 10_000);
const TARGET_P99_MS = 1000;
const DATABASE_URL = process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test";
const JSON_PATH = fileURLToPath(new URL("../build/bench/config.json", import.meta.url));
const APPKEY = "bench-config";
const ENV = "prod";
const NAMESPACE = "application";

const stops: Stop[] = [];

/** One admin API call. @throws with the answer unless 2xx. */
async function admin(base: string, token: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

/** A watcher: one long poll at a time on one replica; records when it learns of each release. */
class Watcher {
  known = 0;
  /** Release id → when this watcher was told of it (performance.now() ms). */
  readonly seen = new Map<number, number>();
  outOfOrder = 0;
  private running = true;
  private loop: Promise<void> | null = null;
  /** Cuts the poll in flight at stop (a held poll would otherwise last up to 66 s). */
  private readonly abort = new AbortController();

  private readonly base: string;
  private readonly token: string;
  private readonly id: number;

  constructor(base: string, token: string, id: number) {
    this.base = base;
    this.token = token;
    this.id = id;
  }

  start(initial: number): void {
    this.known = initial;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const query = new URLSearchParams({
        appkey: APPKEY,
        env: ENV,
        known: `${NAMESPACE}:${this.known}`,
        wait: "60",
        instanceId: String(this.id),
      });
      try {
        const res = await fetch(`${this.base}/v1/config/watch?${query}`, {
          // Node's fetch: one pool per origin without a connection cap, so every poll has its own connection.
          headers: { authorization: `Bearer ${this.token}` },
          signal: this.abort.signal,
        });
        if (res.status === 304) continue;
        if (process.env.BENCH_DEBUG && res.status !== 200) console.error(`watcher ${this.id}: ${res.status} ${await res.clone().text()}`);
        const body = (await res.json()) as { changed?: { namespace: string; release: number }[] };
        const at = performance.now();
        if (process.env.BENCH_DEBUG) console.error(`watcher ${this.id}: ${JSON.stringify(body)} known ${this.known}`);
        for (const c of body.changed ?? []) {
          if (c.namespace !== NAMESPACE) continue;
          if (c.release < this.known) this.outOfOrder++;
          else if (c.release > this.known) {
            this.seen.set(c.release, at);
            this.known = c.release;
          }
        }
      } catch (error) {
        if (process.env.BENCH_DEBUG) console.error(`watcher ${this.id}: ${(error as Error).message}`);
        if (!this.running) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop?.catch(() => {});
  }
}

async function main(): Promise<void> {
  const secrets = await benchSecrets();
  const database = await createScratchDatabase(DATABASE_URL, "bench_config");
  stops.push(database.drop);
  const replicas: ControlProcess[] = [];
  for (const name of ["a", "b"]) {
    const dataDir = await mkdtemp(join(os.tmpdir(), `sluice-bench-config-${name}-`));
    stops.push(() => rm(dataDir, { recursive: true, force: true }));
    const replica = await startControlProcess({ dataDir, databaseUrl: database.url, secrets });
    stops.push(replica.stop);
    replicas.push(replica);
  }
  const [a, b] = replicas as [ControlProcess, ControlProcess];
  const token = secrets.adminToken;
  await admin(a.url, token, "POST", "/v1/services", { appkey: APPKEY });
  await admin(a.url, token, "POST", "/v1/config/namespaces", { appkey: APPKEY, env: ENV, name: NAMESPACE, format: "properties" });
  const publish = async (n: number): Promise<{ id: number; sentMs: number }> => {
    await admin(a.url, token, "PUT", `/v1/config/namespaces/${APPKEY}/${ENV}/${NAMESPACE}/draft`, { content: `feature.level=${n}\n` });
    const sentMs = performance.now();
    const release = (await admin(a.url, token, "POST", `/v1/config/namespaces/${APPKEY}/${ENV}/${NAMESPACE}/releases`, {
      comment: `bench ${n}`,
    })) as { id: number };
    return { id: release.id, sentMs };
  };
  const first = await publish(0);

  const watchers = Array.from({ length: WATCHERS }, (_, i) => new Watcher(i % 2 === 0 ? a.url : b.url, token, i + 1));
  stops.push(async () => {
    await Promise.all(watchers.map((w) => w.stop()));
  });
  for (const w of watchers) w.start(first.id);
  // Let every watcher park its first poll before measuring.
  await new Promise((r) => setTimeout(r, 2000));

  const allSeen = (id: number) => watchers.every((w) => w.known >= id);
  const waitAll = async (id: number): Promise<void> => {
    const deadline = performance.now() + RELEASE_TIMEOUT_MS;
    while (!allSeen(id) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 2));
  };

  console.log(`# bench:config, ${new Date().toISOString()}
machine: nproc ${os.availableParallelism()}, ${os.cpus()[0]?.model ?? "?"}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB
${WATCHERS} watchers (half on replica A, half on B), 2 control replicas on PostgreSQL, releases through A; ${RELEASES} releases in a row, then a burst of ${BURST}`);

  // In a row: each release once everyone has the previous one.
  const latencies: number[] = [];
  const latenciesB: number[] = [];
  let missed = 0;
  for (let n = 1; n <= RELEASES; n++) {
    const { id, sentMs } = await publish(n);
    await waitAll(id);
    for (const [k, w] of watchers.entries()) {
      const at = w.seen.get(id);
      if (at === undefined) {
        missed++;
        continue;
      }
      latencies.push(at - sentMs);
      if (k % 2 === 1) latenciesB.push(at - sentMs);
    }
  }
  // Burst: back to back; every watcher must end on the last, never going back.
  let last = 0;
  for (let n = 1; n <= BURST; n++) last = (await publish(RELEASES + n)).id;
  await waitAll(last);
  const notConverged = watchers.filter((w) => w.known !== last).length;
  const outOfOrder = watchers.reduce((sum, w) => sum + w.outOfOrder, 0);

  const sorted = Float64Array.from(latencies).sort();
  const sortedB = Float64Array.from(latenciesB).sort();
  const p50 = percentile(sorted, 0.5);
  const p99 = percentile(sorted, 0.99);
  const max = sorted[sorted.length - 1] ?? Number.NaN;
  const row = (label: string, s: Float64Array) =>
    `| ${label} | ${s.length} | ${percentile(s, 0.5).toFixed(1)} | ${percentile(s, 0.99).toFixed(1)} | ${(s[s.length - 1] ?? Number.NaN).toFixed(1)} | ${(percentile(s, 0.99) / TARGET_P99_MS).toFixed(3)} |`;
  console.log(`
## Release → watcher (ms, from sending the release's POST to the watcher's answer)

| watchers | deliveries | p50 ms | p99 ms | max ms | p99 ÷ target (1 s) |
| --- | ---: | ---: | ---: | ---: | ---: |
${row("all (A and B)", sorted)}
${row("on replica B (via LISTEN/NOTIFY)", sortedB)}

In a row: ${RELEASES} releases × ${WATCHERS} watchers, **${missed} missed** (not seen before the next release), out of order ${outOfOrder}.
Burst: ${BURST} releases back to back; watchers not ending on the last: **${notConverged}**.
Target p99 < ${TARGET_P99_MS} ms: ${p99 < TARGET_P99_MS && missed === 0 && notConverged === 0 && outOfOrder === 0 ? "**met**" : "**MISSED**"}.`);

  mkdirSync(dirname(JSON_PATH), { recursive: true });
  writeFileSync(
    JSON_PATH,
    `${JSON.stringify(
      {
        bench: "config",
        date: new Date().toISOString(),
        machine: {
          nproc: os.availableParallelism(),
          cpu: os.cpus()[0]?.model ?? "?",
          memGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
        },
        settings: { watchers: WATCHERS, releases: RELEASES, burst: BURST, replicas: 2, database: "postgresql" },
        units: { latency: "ms" },
        inARow: {
          deliveries: latencies.length,
          p50Ms: p50,
          p99Ms: p99,
          maxMs: max,
          replicaB: { p50Ms: percentile(sortedB, 0.5), p99Ms: percentile(sortedB, 0.99), maxMs: sortedB[sortedB.length - 1] ?? null },
          missed,
          outOfOrder,
        },
        burst: { releases: BURST, notConverged },
        targetP99Ms: TARGET_P99_MS,
        met: p99 < TARGET_P99_MS && missed === 0 && notConverged === 0 && outOfOrder === 0,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nJSON: ${JSON_PATH}`);
}

await runBenchMain(main, stops);
