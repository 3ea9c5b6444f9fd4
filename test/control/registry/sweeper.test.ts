/**
 * The registry inside a running control (PGlite, and PostgreSQL when DATABASE_URL is set), over
 * HTTP on 127.0.0.1: heartbeat timeouts turn an instance unhealthy and then remove it, a beat
 * recovers it, the published snapshot follows, a stall is not counted as silence; the snapshot
 * long poll answers on change and records what the gateway serves; GET /v1/propagation says when
 * every gateway has a change. Timings are shortened per service (beat 100 ms, unhealthy after
 * 400 ms, removed after 1200 ms; protect threshold off: registry-protect.test.ts covers it) and
 * the sweep runs every 50 ms.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningControl, startControl } from "../../../control/server.ts";
import { type Backend, backends, type TestDatabase } from "../../support/backends.ts";
import { type Client, clientFor, httpTarget } from "../../support/client.ts";
import { eventually } from "../../support/stack.ts";

describe.each(backends())("registry in a running control on $name", (backend: Backend) => {
  let control: RunningControl;
  let admin: Client;
  let agent: Client;
  let dataDir: string;
  let database: TestDatabase | null = null;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "sluice-registry-"));
    database = backend.name === "postgres" ? await backend.open() : null;
    control = await startControl({
      dataDir,
      databaseUrl: database?.url,
      port: 0,
      debounceMs: 10,
      sweepIntervalMs: 50,
      env: {},
      logger: pino({ level: "warn" }),
    });
    admin = clientFor(httpTarget(control.url), control.tokens.adminToken);
    expect(
      (
        await admin.post("/v1/services", {
          appkey: "svc",
          heartbeatIntervalMs: 100,
          unhealthyAfterMs: 400,
          removeAfterMs: 1200,
          protectThresholdPct: 100,
        })
      ).status,
    ).toBe(201);
    expect((await admin.post("/v1/services/svc/groups", { name: "main" })).status).toBe(201);
    expect((await admin.post("/v1/routes", { appkey: "svc", path: "/", defaultGroup: "main" })).status).toBe(201);
    const minted = await admin.post("/v1/agent-tokens", { name: "svc-agent", appkeys: ["svc"] });
    agent = clientFor(httpTarget(control.url), minted.body.token);
  }, 60_000);

  afterAll(async () => {
    await control?.close();
    await database?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const register = async (port: number) => {
    const r = await agent.post("/v1/registry/instances", { appkey: "svc", group: "main", host: "127.0.0.1", port });
    expect(r.status).toBe(201);
    return r.body.instance.id as number;
  };
  const instance = async (id: number) => (await admin.get(`/v1/services/svc/groups/main/instances/${id}`)).body;
  const kinds = async (id: number) =>
    (await admin.get("/v1/events?appkey=svc")).body.items
      .filter((e: { details: { instanceId?: number } }) => e.details.instanceId === id)
      .map((e: { kind: string }) => e.kind);

  it("turns a silent instance unhealthy, recovers it on a beat, removes it after longer silence", async () => {
    // A companion that keeps beating, so the silent one is 1 of 2 (50 %, not over the threshold).
    const steady = await register(9301);
    const silent = await register(9302);
    const beat = setInterval(() => void agent.post("/v1/registry/heartbeats", { beats: [{ id: steady }] }), 100);
    try {
      const unhealthyAfter = await eventually(async () => (await instance(silent)).healthy === false, 5000);
      // 400 ms of silence + one sweep (50 ms) + write; well under 2 s.
      expect(unhealthyAfter).toBeLessThan(2000);
      expect((await instance(steady)).healthy).toBe(true);
      // The snapshot publishes it as dead: the gateway will not pick it.
      expect((await agent.post("/v1/registry/heartbeats", { beats: [{ id: silent }] })).body.accepted).toBe(1);
      await eventually(async () => (await instance(silent)).healthy === true, 2000);
      await eventually(async () => (await admin.get(`/v1/services/svc/groups/main/instances/${silent}`)).status === 404, 5000);
      expect(await kinds(silent)).toEqual(["instance_unhealthy", "instance_healthy", "instance_unhealthy", "instance_removed"]);
      expect((await agent.post("/v1/registry/heartbeats", { beats: [{ id: silent }] })).body.rejected).toEqual([
        { id: silent, reason: "not_found" },
      ]);
    } finally {
      clearInterval(beat);
    }
  });

  it("refuses an oversized body by its Content-Length with 413, before reading it", async () => {
    const res = await fetch(`${control.url}/v1/registry/heartbeats`, {
      method: "POST",
      headers: { authorization: `Bearer ${control.tokens.adminToken}`, "content-type": "application/json" },
      body: `{"beats":[${'{"id":1},'.repeat(600_000)}{"id":1}]}`,
    });
    expect(res.status).toBe(413);
    expect((await res.json()).error).toBe("payload_too_large");
  });

  it("does not count a stall of this process as the instances' silence", async () => {
    const id = await register(9303);
    await control.sweeper.stop();
    try {
      // 5 s later by the clock, but the sweep fired 5 s late: the heartbeat table is shifted.
      await control.sweeper.sweep(Date.now() + 5000, 5000);
      expect((await instance(id)).healthy).toBe(true);
      const events = (await admin.get("/v1/events?kind=sweep_stalled")).body.items;
      expect(events.length).toBeGreaterThan(0);
      // Without the stall the same clock reading expires it.
      await control.sweeper.sweep(Date.now() + 10_000, 0);
      expect((await admin.get(`/v1/services/svc/groups/main/instances/${id}`)).status).toBe(404);
    } finally {
      control.sweeper.start();
    }
  });

  it("holds a snapshot long poll until a change, reports the gateway's version, and acknowledges propagation", async () => {
    const gatewayToken = control.tokens.gatewayToken;
    const poll = (index: string, wait: string) =>
      fetch(`${control.url}/v1/snapshot?index=${index}&wait=${wait}`, {
        headers: { authorization: `Bearer ${gatewayToken}`, "sluice-gateway": "gw-test-1" },
      });
    await control.builder.rebuild(); // nothing pending from the tests before
    const current = await fetch(`${control.url}/v1/snapshot`, { headers: { authorization: `Bearer ${gatewayToken}` } });
    const version = current.headers.get("sluice-snapshot-version") as string;
    await current.arrayBuffer();

    let started = Date.now();
    const idle = await poll(version, "200ms");
    expect(idle.status).toBe(304);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);

    started = Date.now();
    const held = poll(version, "10s");
    await new Promise((r) => setTimeout(r, 100));
    const stopping = await agent.post("/v1/registry/instances", { appkey: "svc", group: "main", host: "127.0.0.1", port: 9304 });
    const revision = stopping.body.revision as number;
    const answer = await held;
    expect(answer.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2000);
    const newVersion = answer.headers.get("sluice-snapshot-version") as string;
    expect(BigInt(newVersion)).toBeGreaterThan(BigInt(version));
    await answer.arrayBuffer();

    // The gateway last reported the old version and is between polls: not yet acknowledged.
    const lagging = (await agent.get(`/v1/propagation?revision=${revision}`)).body;
    expect(lagging.version).toBe(Number(newVersion));
    expect(lagging.acknowledged).toBe(false);
    expect(lagging.gateways).toEqual([expect.objectContaining({ id: "gw-test-1", version: Number(version), state: "lagging" })]);

    // Its next poll names the new version: acknowledged.
    const next = poll(newVersion, "2s");
    await eventually(async () => (await agent.get(`/v1/propagation?revision=${revision}`)).body.acknowledged === true, 2000);
    await (await next).arrayBuffer();
    const listed = (await admin.get("/v1/gateways")).body.items;
    expect(listed).toEqual([expect.objectContaining({ id: "gw-test-1", version: Number(newVersion), pollOpen: false })]);
  });
});
