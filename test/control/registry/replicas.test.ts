/**
 * Several control replicas on one real PostgreSQL (skipped without DATABASE_URL): a change made
 * through one replica reaches a long poll and a blocking query held on the other (LISTEN/NOTIFY);
 * heartbeats sent to the follower keep an instance healthy on the leader (gossip); exactly one
 * replica runs the health sweep, and the other takes over when it stops (advisory lock);
 * concurrent writes through both replicas end in one snapshot version that covers them all,
 * served identically by both; a replica skips the echo of its own write's notification.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningControl, startControl } from "../../../control/server.ts";
import { backends, type TestDatabase } from "../../support/backends.ts";
import { type Client, clientFor, httpTarget } from "../../support/client.ts";
import { eventually } from "../../support/stack.ts";

const postgres = backends().find((b) => b.name === "postgres");

describe.skipIf(!postgres)("control replicas on PostgreSQL", () => {
  let database: TestDatabase;
  let dataDir: string;
  let a: RunningControl;
  let b: RunningControl;
  let adminA: Client;
  let adminB: Client;
  let agentB: Client;

  const start = () =>
    startControl({
      dataDir,
      databaseUrl: database.url,
      port: 0,
      debounceMs: 10,
      sweepIntervalMs: 50,
      leaderRetryMs: 200,
      env: {},
      logger: pino({ level: "warn" }),
    });

  beforeAll(async () => {
    database = await (postgres as NonNullable<typeof postgres>).open();
    // One data directory: both replicas read the same tokens and signing key.
    dataDir = await mkdtemp(join(tmpdir(), "sluice-replicas-"));
    a = await start();
    await eventually(async () => a.isLeader(), 5000);
    b = await start();
    adminA = clientFor(httpTarget(a.url), a.tokens.adminToken);
    adminB = clientFor(httpTarget(b.url), b.tokens.adminToken);
    expect(
      (await adminA.post("/v1/services", { appkey: "rep", heartbeatIntervalMs: 100, unhealthyAfterMs: 600, removeAfterMs: 5000 })).status,
    ).toBe(201);
    expect((await adminA.post("/v1/services/rep/groups", { name: "main" })).status).toBe(201);
    expect((await adminA.post("/v1/routes", { appkey: "rep", path: "/", defaultGroup: "main" })).status).toBe(201);
    const token = (await adminA.post("/v1/agent-tokens", { name: "rep", appkeys: ["rep"] })).body.token;
    agentB = clientFor(httpTarget(b.url), token);
    await eventually(async () => (await agentB.get("/v1/registry/instances?appkey=rep")).status === 200, 2000);
  }, 60_000);

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("runs the sweep on exactly one replica", () => {
    expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);
  });

  it("wakes a snapshot long poll and a blocking query on B when the change goes through A", async () => {
    await Promise.all([a.builder.rebuild(), b.builder.rebuild()]);
    await eventually(async () => a.builder.current?.version === b.builder.current?.version, 2000);
    const version = String(b.builder.current?.version);
    const index = (await adminB.get("/v1/registry/instances?appkey=rep")).body.index;
    const started = Date.now();
    const snapshot = fetch(`${b.url}/v1/snapshot?index=${version}&wait=10s`, {
      headers: { authorization: `Bearer ${b.tokens.gatewayToken}` },
    });
    const registry = adminB.get(`/v1/registry/instances?appkey=rep&index=${index}&wait=10s`);
    await new Promise((r) => setTimeout(r, 100));
    expect((await adminA.post("/v1/services/rep/groups/main/instances", { host: "127.0.0.1", port: 9500 })).status).toBe(201);
    const [snap, reg] = await Promise.all([snapshot, registry]);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(snap.status).toBe(200);
    expect(BigInt(snap.headers.get("sluice-snapshot-version") as string)).toBeGreaterThan(BigInt(version));
    await snap.arrayBuffer();
    expect(reg.body.items.map((i: { port: number }) => i.port)).toEqual([9500]);
  });

  it("applies another replica's write when its notification arrives, and skips the echo of its own", async () => {
    // Wrapped after start: runWrite's own apply (onCommitted) is not counted, only notifications.
    const heard = { a: [] as number[], b: [] as number[] };
    for (const [name, control] of [
      ["a", a],
      ["b", b],
    ] as const) {
      const apply = control.registry.applyChange;
      control.registry.applyChange = (notice) => {
        heard[name].push(notice.revisionId);
        apply(notice);
      };
    }
    const write = await adminA.post("/v1/services/rep/groups", { name: "echo" });
    expect(write.status).toBe(201);
    await eventually(async () => heard.b.length > 0, 5000);
    await new Promise((resolve) => setTimeout(resolve, 300)); // A's echo, if any, has arrived by now
    expect(heard.a).toEqual([]);
    expect(heard.b).toHaveLength(1);
    expect((await adminA.del("/v1/services/rep/groups/echo")).status).toBe(204);
  });

  it("keeps an instance healthy on the leader with heartbeats sent only to the follower", async () => {
    const r = await agentB.post("/v1/registry/instances", { appkey: "rep", group: "main", host: "127.0.0.1", port: 9501 });
    expect(r.status).toBe(201);
    const id = r.body.instance.id;
    const beat = setInterval(() => void agentB.post("/v1/registry/heartbeats", { beats: [{ id }] }), 100);
    const healthy = async () => (await adminA.get(`/v1/services/rep/groups/main/instances/${id}`)).body.healthy as boolean;
    try {
      // 2 s: more than three times the 600 ms timeout.
      for (let i = 0; i < 10; i++) {
        await new Promise((r) => setTimeout(r, 200));
        expect(await healthy()).toBe(true);
      }
    } finally {
      clearInterval(beat);
    }
    // 1 of 2 instances (the static one counts as healthy): 50 %, not over the threshold.
    await eventually(async () => !(await healthy()), 3000);
  });

  it("publishes one version covering concurrent writes through both replicas, served by both", async () => {
    const writes = Array.from({ length: 20 }, (_, i) =>
      (i % 2 ? adminA : adminB).post("/v1/services/rep/groups/main/instances", { host: "127.0.0.1", port: 9600 + i }),
    );
    expect((await Promise.all(writes)).map((w) => w.status)).toEqual(Array(20).fill(201));
    const latest = (await adminA.get("/v1/revisions?limit=1")).body.items[0].id as number;
    await eventually(
      async () => (a.builder.current?.coversRevision ?? 0) >= latest && (b.builder.current?.coversRevision ?? 0) >= latest,
      5000,
    );
    expect(a.builder.current?.version).toBe(b.builder.current?.version);
    expect(a.builder.current?.etag).toBe(b.builder.current?.etag);
    expect(Buffer.from(a.builder.current?.body ?? []).equals(Buffer.from(b.builder.current?.body ?? []))).toBe(true);
  });

  it("hands the sweep to the other replica when the leader stops", async () => {
    await a.close();
    await eventually(async () => b.isLeader(), 5000);
    a = await start(); // afterAll closes it again
    expect(a.isLeader()).toBe(false);
  });
});
