/**
 * Issue 12, item 1 and the chaos must-show: a real control process on a PostgreSQL server of the
 * test's own (test/support/private-postgres.ts; the shared server keeps serving other files) is
 * written to by four concurrent clients while the server is (1) stopped for 1.5 s and started
 * again, then (2) restarted at once — both with transactions in flight, which end with 57P01
 * admin_shutdown or a dead connection. Control must stay up, answer 503 with Retry-After (never a
 * 500) while the database is away, say so on /readyz, keep every acknowledged write, apply no
 * write halfway (each service row has its one revision, and no revision lacks its row), and
 * resume writes and snapshot builds by itself.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { benchSecrets, type ControlProcess, startControlProcess } from "../../bench/control-process.ts";
import { canStartPrivatePostgres, type PrivatePostgres, startPrivatePostgres } from "../support/private-postgres.ts";

interface Write {
  appkey: string;
  status: number;
  retryAfter: string | null;
  error?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!canStartPrivatePostgres())("control through PostgreSQL restarts with writes in flight", () => {
  let server: PrivatePostgres;
  let control: ControlProcess;
  let dataDir: string;
  let adminToken: string;
  const writes: Write[] = [];
  const readiness: { phase: string; status: number }[] = [];

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${control.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  };

  /** Until `stop()`, creates services one after another; records every answer. */
  function writer(id: number) {
    let running = true;
    const done = (async () => {
      for (let i = 0; running; i++) {
        const appkey = `chaos-${id}-${i}`;
        try {
          const res = await api("POST", "/v1/services", { appkey, description: "written during a database restart" });
          writes.push({ appkey, status: res.status, retryAfter: res.headers.get("retry-after"), error: res.body?.error });
          if (res.status === 503) await sleep(100);
        } catch (error) {
          writes.push({ appkey, status: 0, retryAfter: null, error: String(error) }); // control unreachable
          await sleep(100);
        }
      }
    })();
    return async () => {
      running = false;
      await done;
    };
  }

  async function untilWriteSucceeds(label: string, timeoutMs = 20_000): Promise<number> {
    const started = Date.now();
    for (let i = 0; ; i++) {
      const res = await api("POST", "/v1/services", { appkey: `resume-${label}-${i}` });
      if (res.status === 201) return Date.now() - started;
      if (Date.now() - started > timeoutMs) throw new Error(`writes did not resume within ${timeoutMs} ms (last ${res.status})`);
      await sleep(100);
    }
  }

  beforeAll(async () => {
    server = await startPrivatePostgres();
    dataDir = await mkdtemp(join(tmpdir(), "sluice-chaos-"));
    const secrets = await benchSecrets();
    adminToken = secrets.adminToken;
    control = await startControlProcess({ dataDir, databaseUrl: server.url, secrets });
  }, 90_000);

  afterAll(async () => {
    await control?.stop();
    server?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("stays up, answers 503 + Retry-After while the database is away, loses and half-applies nothing, and resumes", async () => {
    const stops = [0, 1, 2, 3].map(writer);
    await sleep(800);

    // (1) Stopped for 1.5 s.
    server.stop();
    await sleep(300);
    readiness.push({ phase: "down", status: (await fetch(`${control.url}/readyz`)).status });
    await sleep(1200);
    server.start();
    const resumedAfterStopMs = await untilWriteSucceeds("after-stop");
    readiness.push({ phase: "up", status: (await fetch(`${control.url}/readyz`)).status });
    await sleep(800);

    // (2) Restarted at once.
    server.stop();
    server.start();
    const resumedAfterRestartMs = await untilWriteSucceeds("after-restart");
    await sleep(500);
    for (const stop of stops) await stop();

    const byStatus = new Map<number, number>();
    for (const w of writes) byStatus.set(w.status, (byStatus.get(w.status) ?? 0) + 1);
    console.log(
      `writes: ${JSON.stringify(Object.fromEntries(byStatus))}; resumed ${resumedAfterStopMs} ms after the start, ${resumedAfterRestartMs} ms after the restart`,
    );

    expect(control.child.exitCode).toBeNull(); // control survived both
    expect([...byStatus.keys()].every((s) => s === 201 || s === 503)).toBe(true);
    expect(byStatus.get(503) ?? 0).toBeGreaterThan(0); // the outage was seen
    for (const w of writes.filter((w) => w.status === 503)) {
      expect(w.retryAfter).toMatch(/^[0-9]+$/);
      expect(w.error).toBe("database_unavailable");
    }
    expect(readiness).toEqual([
      { phase: "down", status: 503 },
      { phase: "up", status: 200 },
    ]);

    // Nothing acknowledged is lost; nothing is half-applied.
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      const rows = (await client.query<{ appkey: string }>("select appkey from services where appkey like 'chaos-%'")).rows;
      const stored = new Set(rows.map((r) => r.appkey));
      for (const w of writes.filter((w) => w.status === 201)) expect(stored.has(w.appkey), w.appkey).toBe(true);
      const revisions = (
        await client.query<{ resource_id: string; n: string }>(
          "select resource_id, count(*) as n from revisions where resource = 'service' and action = 'create' and resource_id like 'chaos-%' group by resource_id",
        )
      ).rows;
      const revised = new Map(revisions.map((r) => [r.resource_id, Number(r.n)]));
      for (const appkey of stored) expect(revised.get(appkey), appkey).toBe(1);
      for (const appkey of revised.keys()) expect(stored.has(appkey), appkey).toBe(true);
    } finally {
      await client.end();
    }
  }, 120_000);

  it("builds snapshots again by itself: a write after the restarts reaches GET /v1/snapshot", async () => {
    const before = await fetch(`${control.url}/v1/snapshot`, { headers: { authorization: `Bearer ${adminToken}` } });
    const beforeTag = before.headers.get("etag");
    await before.arrayBuffer();
    expect((await api("POST", "/v1/services/chaos-0-0/groups", { name: "after" })).status).toBeLessThan(300);
    expect((await api("POST", "/v1/services/chaos-0-0/groups/after/instances", { host: "127.0.0.1", port: 9 })).status).toBe(201);
    expect((await api("POST", "/v1/routes", { appkey: "chaos-0-0", path: "/after", defaultGroup: "after" })).status).toBe(201);
    const deadline = Date.now() + 10_000;
    let tag = beforeTag;
    while (tag === beforeTag && Date.now() < deadline) {
      await sleep(100);
      const res = await fetch(`${control.url}/v1/snapshot`, { headers: { authorization: `Bearer ${adminToken}` } });
      tag = res.headers.get("etag");
      await res.arrayBuffer();
    }
    expect(tag).not.toBe(beforeTag);
    expect(control.child.exitCode).toBeNull();
  }, 30_000);
});
