/**
 * The registry API over a real database (PGlite, and PostgreSQL when DATABASE_URL is set): agent
 * tokens (minted by an admin, hashed, scoped to appkeys), registration (idempotent), heartbeats
 * (answered from memory: no revision, no write), status and deregistration (revisions),
 * Consul-style blocking queries, events, and bad input answered with 4xx naming the field.
 */
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { agentTokens, revisions } from "../../../control/db/schema.ts";
import { backends } from "../../support/backends.ts";
import { clientFor } from "../../support/client.ts";
import { useApi } from "../../support/fixture.ts";

describe.each(backends())("registry API on $name", (backend) => {
  const api = useApi(backend);
  const revisionCount = async () => Number((await api.db.select({ n: sql<string>`count(*)::text` }).from(revisions))[0].n);

  async function setup(appkey: string) {
    expect(
      (await api.client.post("/v1/services", { appkey, heartbeatIntervalMs: 1000, unhealthyAfterMs: 3000, removeAfterMs: 6000 })).status,
    ).toBe(201);
    expect((await api.client.post(`/v1/services/${appkey}/groups`, { name: "main" })).status).toBe(201);
    const minted = await api.client.post("/v1/agent-tokens", { name: `${appkey}-agent`, appkeys: [appkey] });
    expect(minted.status).toBe(201);
    return { token: minted.body.token as string, agent: clientFor(api.app, minted.body.token) };
  }

  it("mints agent tokens once, stores only their hash, and never lists or audits the secret", async () => {
    const { token } = await setup("reg.mint");
    expect(token).toMatch(/^sluice_agent_[A-Za-z0-9_-]{43}$/);
    const [row] = await api.db.select().from(agentTokens).where(eq(agentTokens.name, "reg.mint-agent"));
    expect(row.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(token);
    const listed = await api.client.get("/v1/agent-tokens");
    expect(JSON.stringify(listed.body)).not.toContain(token.slice(13));
    const audit = await api.client.get("/v1/revisions?limit=50");
    const created = audit.body.items.find((r: { resource: string }) => r.resource === "agent_token");
    expect(created.body.after).toMatchObject({ name: "reg.mint-agent", appkeys: ["reg.mint"] });
    expect(JSON.stringify(audit.body)).not.toContain(token.slice(13));
    expect(JSON.stringify(audit.body)).not.toContain(row.tokenHash);
  });

  it("refuses tokens for unknown services (422) and bad names (400), naming the field", async () => {
    const missing = await api.client.post("/v1/agent-tokens", { name: "x-agent", appkeys: ["reg.absent"] });
    expect(missing.status).toBe(422);
    expect(missing.body).toMatchObject({ reason: "service_not_found", field: "appkeys[0]" });
    const bad = await api.client.post("/v1/agent-tokens", { name: "has space", appkeys: [] });
    expect(bad.status).toBe(400);
    expect(bad.body.fields.map((f: { path: string }) => f.path).sort()).toEqual(["appkeys", "name"]);
  });

  it("registers idempotently, heartbeats from memory, sets status and deregisters, with revisions", async () => {
    const { agent } = await setup("reg.life");
    const body = {
      appkey: "reg.life",
      group: "main",
      host: "127.0.0.1",
      port: 9001,
      zone: "z1",
      idc: "dc1",
      region: "r1",
      metadata: { commit: "abc" },
    };
    const first = await agent.post("/v1/registry/instances", body);
    expect(first.status).toBe(201);
    expect(first.body.instance).toMatchObject({
      ...body,
      registration: "ephemeral",
      status: "alive",
      healthy: true,
      env: "prod",
      role: "primary",
    });
    expect(first.body.heartbeat).toEqual({ intervalMs: 1000, unhealthyAfterMs: 3000, removeAfterMs: 6000 });
    const id = first.body.instance.id;

    const before = await revisionCount();
    const again = await agent.post("/v1/registry/instances", body);
    expect(again.status).toBe(200);
    expect(again.body.instance.id).toBe(id);
    // Unchanged: no revision; the answer names the latest one (what to wait for).
    expect(await revisionCount()).toBe(before);
    expect(again.body.revision).toBe(first.body.revision);

    for (let i = 0; i < 20; i++) {
      const beat = await agent.post("/v1/registry/heartbeats", { beats: [{ id, healthy: true }, { id: 999_999 }] });
      expect(beat.status).toBe(200);
      expect(beat.body).toEqual({ accepted: 1, rejected: [{ id: 999_999, reason: "not_found" }] });
    }
    expect(await revisionCount()).toBe(before); // heartbeats wrote nothing

    const stopping = await agent.put(`/v1/registry/instances/${id}/status`, { status: "stopping" });
    expect(stopping.status).toBe(200);
    expect(stopping.body.instance.status).toBe("stopping");
    expect(stopping.body.revision).toBeGreaterThan(first.body.revision);
    expect(await revisionCount()).toBe(before + 1);

    const gone = await agent.del(`/v1/registry/instances/${id}`);
    expect(gone.status).toBe(204);
    expect(Number(gone.headers.get("sluice-revision"))).toBeGreaterThan(stopping.body.revision);
    expect((await agent.post("/v1/registry/heartbeats", { beats: [{ id }] })).body.rejected).toEqual([{ id, reason: "not_found" }]);
  });

  it("scopes agent tokens to their appkeys", async () => {
    const { agent } = await setup("reg.mine");
    await setup("reg.theirs");
    const theirs = await api.client.post("/v1/registry/instances", { appkey: "reg.theirs", group: "main", host: "127.0.0.1", port: 9002 });
    expect(theirs.status).toBe(201);
    const foreign = await agent.post("/v1/registry/instances", { appkey: "reg.theirs", group: "main", host: "127.0.0.1", port: 9003 });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error).toBe("forbidden");
    const theirId = theirs.body.instance.id;
    expect((await agent.post("/v1/registry/heartbeats", { beats: [{ id: theirId }] })).body.rejected).toEqual([
      { id: theirId, reason: "forbidden" },
    ]);
    expect((await agent.put(`/v1/registry/instances/${theirId}/status`, { status: "stopping" })).status).toBe(403);
    expect((await agent.del(`/v1/registry/instances/${theirId}`)).status).toBe(403);
    expect((await agent.get("/v1/registry/instances?appkey=reg.theirs")).status).toBe(403);
    // Agent tokens reach nothing but the registry and propagation.
    for (const [method, path] of [
      ["GET", "/v1/services"],
      ["POST", "/v1/agent-tokens"],
      ["GET", "/v1/snapshot"],
      ["GET", "/v1/events"],
    ]) {
      expect({ path, status: (await agent.call(method, path, method === "POST" ? {} : undefined)).status }).toEqual({ path, status: 401 });
    }
  });

  it("refuses a revoked token at once", async () => {
    const { agent } = await setup("reg.revoke");
    const list = await api.client.get("/v1/agent-tokens");
    const id = list.body.items.find((t: { name: string }) => t.name === "reg.revoke-agent").id;
    expect((await agent.get("/v1/registry/instances?appkey=reg.revoke")).status).toBe(200);
    expect((await api.client.del(`/v1/agent-tokens/${id}`)).status).toBe(204);
    expect((await agent.get("/v1/registry/instances?appkey=reg.revoke")).status).toBe(401);
  });

  it("answers a blocking query as soon as the service changes, and at the wait's end otherwise", async () => {
    const { agent } = await setup("reg.watch");
    const now = await agent.get("/v1/registry/instances?appkey=reg.watch");
    const index = now.body.index;
    expect(now.headers.get("sluice-index")).toBe(String(index));

    let started = Date.now();
    const idle = await agent.get(`/v1/registry/instances?appkey=reg.watch&index=${index}&wait=300ms`);
    // 300 ms plus up to 1/16 jitter
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(idle.body.index).toBe(index);

    started = Date.now();
    const held = agent.get(`/v1/registry/instances?appkey=reg.watch&index=${index}&wait=10s`);
    await new Promise((r) => setTimeout(r, 100));
    await agent.post("/v1/registry/instances", { appkey: "reg.watch", group: "main", host: "127.0.0.1", port: 9100 });
    const changed = await held;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(changed.body.index).toBeGreaterThan(index);
    expect(changed.body.items.map((i: { port: number }) => i.port)).toEqual([9100]);
  });

  it("refuses bad input with 400 naming the field, and leaves nothing half-applied", async () => {
    const { agent } = await setup("reg.bad");
    const before = await revisionCount();
    const cases: [string, string, unknown, string[]][] = [
      ["POST", "/v1/registry/instances", { appkey: "reg.bad", group: "main", host: "127.0.0.1", port: 0 }, ["port"]],
      ["POST", "/v1/registry/instances", { appkey: "reg.bad", group: "main", host: "127.0.0.1", port: 1, env: "dev" }, ["env"]],
      ["POST", "/v1/registry/instances", { appkey: "reg.bad", group: "main", host: "127.0.0.1", port: 1, status: "dead" }, ["status"]],
      [
        "POST",
        "/v1/registry/instances",
        { appkey: "reg.bad", group: "main", host: "127.0.0.1", port: 1, registration: "static" },
        ["registration"],
      ],
      [
        "POST",
        "/v1/registry/instances",
        { appkey: "reg.bad", group: "main", host: "127.0.0.1", port: 1, metadata: { "bad key": "v" } },
        ["metadata.bad key"],
      ],
      [
        "POST",
        "/v1/registry/instances",
        { appkey: "reg.bad", group: "main", host: "127.0.0.1", port: 1, warmupSeconds: 4000 },
        ["warmupSeconds"],
      ],
      ["POST", "/v1/registry/heartbeats", { beats: [] }, ["beats"]],
      ["POST", "/v1/registry/heartbeats", { beats: [{ id: "7" }] }, ["beats[0].id"]],
      ["POST", "/v1/registry/heartbeats", { beats: [{ id: 7, extra: 1 }] }, ["beats[0].extra"]],
      ["GET", "/v1/registry/instances?appkey=reg.bad&index=1&wait=10h", undefined, ["wait"]],
      ["GET", "/v1/propagation?revision=-1", undefined, ["revision"]],
    ];
    for (const [method, path, body, fields] of cases) {
      const res = await agent.call(method, path, body);
      expect({ path, body, status: res.status, fields: res.body.fields?.map((f: { path: string }) => f.path) }).toEqual({
        path,
        body,
        status: 400,
        fields,
      });
    }
    const unknownGroup = await agent.post("/v1/registry/instances", { appkey: "reg.bad", group: "nope", host: "127.0.0.1", port: 1 });
    expect(unknownGroup.status).toBe(404);
    const badSettings = await api.client.put("/v1/services/reg.bad", {
      description: "",
      heartbeatIntervalMs: 5000,
      unhealthyAfterMs: 5000,
      removeAfterMs: 1000,
    });
    expect(badSettings.status).toBe(400);
    expect(badSettings.body.fields.map((f: { path: string }) => f.path).sort()).toEqual(["removeAfterMs", "unhealthyAfterMs"]);
    expect(await revisionCount()).toBe(before);
  });

  it("keeps a static instance's address from being taken over by an agent (409)", async () => {
    const { agent } = await setup("reg.static");
    expect((await api.client.post("/v1/services/reg.static/groups/main/instances", { host: "127.0.0.1", port: 9200 })).status).toBe(201);
    const clash = await agent.post("/v1/registry/instances", { appkey: "reg.static", group: "main", host: "127.0.0.1", port: 9200 });
    expect(clash.status).toBe(409);
  });

  // Issue 12 (9): agents manage the instances they registered; static ones are the admin's.
  it("refuses an agent's status change or delete of an admin-made (static) instance (403); the admin may", async () => {
    const { agent } = await setup("reg.static2");
    const made = await api.client.post("/v1/services/reg.static2/groups/main/instances", { host: "127.0.0.1", port: 9300 });
    expect(made.status).toBe(201);
    const id = made.body.id as number;
    const before = (await api.client.get("/v1/revisions?limit=1")).body.items[0].id;
    const dead = await agent.call("PUT", `/v1/registry/instances/${id}/status`, { status: "dead" });
    expect(dead.status).toBe(403);
    expect(dead.body.message).toMatch(/static/);
    const gone = await agent.call("DELETE", `/v1/registry/instances/${id}`);
    expect(gone.status).toBe(403);
    expect((await api.client.get("/v1/revisions?limit=1")).body.items[0].id).toBe(before);
    expect((await api.client.get(`/v1/services/reg.static2/groups/main/instances/${id}`)).body.status).toBe("alive");
    // The agent still manages what it registered.
    const own = await agent.post("/v1/registry/instances", { appkey: "reg.static2", group: "main", host: "127.0.0.1", port: 9301 });
    expect(own.status).toBe(201);
    expect((await agent.call("PUT", `/v1/registry/instances/${own.body.instance.id}/status`, { status: "stopping" })).status).toBe(200);
    expect((await agent.call("DELETE", `/v1/registry/instances/${own.body.instance.id}`)).status).toBe(204);
    expect((await api.client.call("PUT", `/v1/registry/instances/${id}/status`, { status: "stopping" })).status).toBe(200);
  });
});
