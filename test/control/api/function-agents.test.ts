/**
 * The function agents' API and the gateway's activation poke (docs/functions-runtime.md "Agent ↔
 * control", "The activator") on the API app over each backend, with a leading scaler on a test
 * clock: validation (400 naming the field), tokens and scope, the report's upsert / delete /
 * revision semantics (load alone records none), failed-version marking, the lease, bundles and
 * the assignments long poll.
 */
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { functionInstances, functionLoad, revisions } from "../../../control/db/schema.ts";
import { FUNCTION_LEASE_MS } from "../../../control/functions/lease.ts";
import { refKey, resolveVersions } from "../../../control/functions/version-refs.ts";
import { backends } from "../../support/backends.ts";
import { clientFor } from "../../support/client.ts";
import { instance, newFunction, report, useFunctionRuntime } from "../../support/function-runtime.ts";

const ASSIGNMENTS = "/v1/agents/functions/assignments";
const REPORT = "/v1/agents/functions/report";

/** The field paths a 400 names. */
function fieldsOf(reply: { status: number; body: { fields?: { path: string }[] } }): string[] {
  expect(reply.status).toBe(400);
  return (reply.body.fields ?? []).map((f) => f.path);
}

describe.each(backends())("function agents API on $name", (backend) => {
  const f = useFunctionRuntime(backend);

  async function revisionsOf(node: string) {
    return f.db
      .select()
      .from(revisions)
      .where(and(eq(revisions.resource, "function_instance"), eq(revisions.resourceId, node)));
  }

  it("answers 400 naming the field for a bad report, assignments query or activation", async () => {
    const { appkey, agent } = await newFunction(f);
    const cases: { body: unknown; field: string }[] = [
      { body: { intervalMs: 1000, instances: [] }, field: "node" },
      { body: report("n 1", []), field: "node" },
      { body: { ...report("n1", []), intervalMs: 5 }, field: "intervalMs" },
      { body: report("n1", [instance(appkey, "i1", "ready", { port: 0 })]), field: "instances[0].port" },
      { body: report("n1", [instance(appkey, "i1", "running")]), field: "instances[0].state" },
      { body: report("n1", [instance(appkey, "i1", "ready", { version: 0 })]), field: "instances[0].version" },
      { body: report("n1", [instance(appkey, "i1", "ready"), instance(appkey, "i1", "starting")]), field: "instances[1].key" },
      { body: { ...report("n1", []), extra: 1 }, field: "extra" },
    ];
    for (const { body, field } of cases) expect(fieldsOf(await agent.post(REPORT, body))).toContain(field);
    expect(fieldsOf(await agent.get(ASSIGNMENTS))).toContain("node");
    expect(fieldsOf(await agent.get(`${ASSIGNMENTS}?node=n1&index=x`))).toContain("index");
    expect(fieldsOf(await f.gateway.post("/v1/gateway/activations", { appkey, function: "hello", version: -1 }))).toContain("version");
  });

  it("refuses wrong tokens (401) and services outside the agent token (403, 404 for bundles)", async () => {
    const mine = await newFunction(f);
    const other = await newFunction(f);
    const anonymous = clientFor(f.app, "not-a-token-at-all-0123456789");
    expect((await anonymous.get(`${ASSIGNMENTS}?node=n1`)).status).toBe(401);
    expect((await f.gateway.get(`${ASSIGNMENTS}?node=n1`)).status).toBe(401);
    expect((await mine.agent.post("/v1/gateway/activations", { appkey: mine.appkey, function: "hello", version: 1 })).status).toBe(401);
    const refused = await mine.agent.post(REPORT, report("n-scope", [instance(other.appkey, "i1", "starting")]));
    expect(refused.status).toBe(403);
    expect(await f.db.select().from(functionInstances).where(eq(functionInstances.node, "n-scope"))).toEqual([]);

    const bundle = await mine.agent.get(`/v1/agents/functions/bundles/${mine.sha256}`);
    expect(bundle.status).toBe(200);
    expect(bundle.body.sha256).toBe(mine.sha256);
    expect(Buffer.from(bundle.body.modules[0].content, "base64").toString()).toContain("export default");
    // The other service's bundle has other bytes (its own appkey is not in the source, but its id is): 404 either way.
    const foreign = await newFunction(f);
    await f.client.post(`/v1/services/${foreign.appkey}/functions/hello/versions`, {
      modules: [{ name: "worker.js", type: "esm", content: Buffer.from("export default {}; // other").toString("base64") }],
      main: "worker.js",
      compatibilityDate: "2026-07-01",
    });
    const [foreignVersion] = (await f.client.get(`/v1/services/${foreign.appkey}/functions/hello/versions`)).body.items.slice(-1);
    expect((await mine.agent.get(`/v1/agents/functions/bundles/${foreignVersion.sha256}`)).status).toBe(404);
    expect((await mine.agent.get(`/v1/agents/functions/bundles/${"0".repeat(64)}`)).status).toBe(404);
  });

  it("upserts the node's instances; a routable change is one revision, load alone none; absent instances are deleted", async () => {
    const { appkey, agent } = await newFunction(f);
    const node = `node-${appkey}`;
    const starting = await agent.post(REPORT, report(node, [instance(appkey, "i1", "starting")]));
    expect(starting).toMatchObject({ status: 200, body: { revision: null } });
    expect(await revisionsOf(node)).toHaveLength(0);

    const urgentBefore = f.urgent.length;
    const ready = await agent.post(
      REPORT,
      report(node, [
        instance(appkey, "i1", "ready", {
          startedAtMs: f.clock.now - 40,
          readyAtMs: f.clock.now,
          coldStartMs: 40,
          concurrency: 3,
          requests: 7,
        }),
      ]),
    );
    expect(ready.status).toBe(200);
    expect(ready.body.revision).toBeGreaterThan(0);
    expect(f.urgent.slice(urgentBefore)).toEqual([ready.body.revision]);
    const [rev] = await revisionsOf(node);
    expect(rev).toMatchObject({ id: ready.body.revision, action: "update", actor: `agent:${appkey}-agent` });
    const [load] = await f.db
      .select()
      .from(functionLoad)
      .where(eq(functionLoad.source, `node:${node}`));
    expect(load).toMatchObject({ concurrency: 3, requests: 7, intervalMs: 1000, atMs: f.clock.now });

    // The same ready set with new load: no revision, no rebuild; the lease and load move.
    f.clock.now += 1000;
    const loadOnly = await agent.post(REPORT, report(node, [instance(appkey, "i1", "ready", { concurrency: 5, requests: 9 })]));
    expect(loadOnly.body.revision).toBeNull();
    expect(await revisionsOf(node)).toHaveLength(1);
    expect(f.urgent.at(-1)).toBe(ready.body.revision);
    const [row] = await f.db.select().from(functionInstances).where(eq(functionInstances.node, node));
    expect(row.reportedAt.getTime()).toBe(f.clock.now);
    // The node's place rides on its instances (the snapshot's zone affinity reads it there).
    expect(row).toMatchObject({ zone: "z1", region: "", cell: "" });

    // A second instance starting is not routable; i1 leaving ready (draining) is.
    expect(
      (await agent.post(REPORT, report(node, [instance(appkey, "i1", "ready"), instance(appkey, "i2", "starting")]))).body.revision,
    ).toBeNull();
    const draining = await agent.post(REPORT, report(node, [instance(appkey, "i1", "draining"), instance(appkey, "i2", "ready")]));
    expect(draining.body.revision).toBeGreaterThan(ready.body.revision);
    // The report is the whole set: i1 is gone; i2 was ready and disappears too → a revision.
    const gone = await agent.post(REPORT, report(node, []));
    expect(gone.body.revision).toBeGreaterThan(draining.body.revision);
    expect(await f.db.select().from(functionInstances).where(eq(functionInstances.node, node))).toEqual([]);
    const listed = await f.client.get("/v1/revisions?limit=5");
    expect(listed.body.items.map((r: { resource: string }) => r.resource)).toContain("function_instance");
  });

  it("marks a version failed when an instance fails before any was ready, and not once one was", async () => {
    const fresh = await newFunction(f);
    const failed = await fresh.agent.post(
      REPORT,
      report(`node-${fresh.appkey}`, [instance(fresh.appkey, "i1", "failed", { error: "SyntaxError: Unexpected token" })]),
    );
    expect(failed.body.revision).toBeGreaterThan(0);
    const version = await f.client.get(`/v1/services/${fresh.appkey}/functions/hello/versions/1`);
    expect(version.body).toMatchObject({ status: "failed", error: "SyntaxError: Unexpected token" });

    const served = await newFunction(f);
    const node = `node-${served.appkey}`;
    await served.agent.post(REPORT, report(node, [instance(served.appkey, "i1", "ready")]));
    await served.agent.post(REPORT, report(node, [instance(served.appkey, "i2", "failed", { error: "boom" })]));
    expect((await f.client.get(`/v1/services/${served.appkey}/functions/hello/versions/1`)).body.status).toBe("ready");
  });

  it("drops instances whose lease lapsed, with a revision when they were routable", async () => {
    const { appkey, agent } = await newFunction(f);
    const node = `node-${appkey}`;
    await agent.post(REPORT, report(node, [instance(appkey, "i1", "ready")]));
    f.clock.now += FUNCTION_LEASE_MS;
    await f.scaler.tick();
    expect(await f.db.select().from(functionInstances).where(eq(functionInstances.node, node))).toHaveLength(1);
    const before = (await revisionsOf(node)).length;
    f.clock.now += 1;
    await f.scaler.tick();
    expect(await f.db.select().from(functionInstances).where(eq(functionInstances.node, node))).toEqual([]);
    const after = await revisionsOf(node);
    expect(after).toHaveLength(before + 1);
    expect(after.at(-1)).toMatchObject({ action: "delete" });
  });

  it("long-polls assignments: 304 when nothing changes within wait, 200 as soon as a poke assigns the node", async () => {
    const { appkey, agent } = await newFunction(f, { activationScale: 2 });
    const node = `node-${appkey}`;
    await agent.post(REPORT, report(node, []));
    const first = await agent.get(`${ASSIGNMENTS}?node=${node}&index=0`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ reportIntervalMs: 1000, assignments: [] });
    const index = first.body.index;

    const started = performance.now();
    expect((await agent.get(`${ASSIGNMENTS}?node=${node}&index=${index}&wait=100ms`)).status).toBe(304);
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);

    const held = agent.get(`${ASSIGNMENTS}?node=${node}&index=${index}&wait=10s`);
    const poke = await f.gateway.post("/v1/gateway/activations", { appkey, function: "hello", version: 1 });
    expect(poke).toMatchObject({ status: 202, body: { desired: 2 } });
    const woke = await held;
    expect(woke.status).toBe(200);
    expect(woke.body.index).not.toBe(index);
    expect(woke.body.assignments).toEqual([
      expect.objectContaining({
        appkey,
        function: "hello",
        version: 1,
        desired: 2,
        main: "worker.js",
        compatibilityDate: "2026-07-01",
        containerConcurrency: 0,
      }),
    ]);
    expect((await f.gateway.post("/v1/gateway/activations", { appkey, function: "nope", version: 1 })).status).toBe(404);
  });

  it("places a poked version at once, before the poke's database writes, and assigns it on the node's long poll", async () => {
    const { appkey, agent } = await newFunction(f, { activationScale: 1 });
    const node = `node-${appkey}`;
    await agent.post(REPORT, report(node, []));
    const before = f.runtime.board.get(node).index;
    const ref = { appkey, function: "hello", version: 1 };
    const version = (await resolveVersions(f.db, [ref])).get(refKey(ref));
    if (!version) throw new Error("version 1 not found");
    const decided = f.scaler.poke(version);
    // Synchronously: the board moved before any await of the poke.
    expect(f.runtime.board.get(node).index).not.toBe(before);
    expect(f.runtime.board.get(node).assignments).toEqual([expect.objectContaining({ appkey, version: 1, desired: 1 })]);
    expect(await decided).toBe(1);
    expect(f.runtime.board.get(node).assignments).toEqual([expect.objectContaining({ appkey, version: 1, desired: 1 })]);
  });

  it("holds an activation with wait until a committed report turns an instance ready, and names it; [] when the wait ends", async () => {
    const { appkey, agent } = await newFunction(f, { activationScale: 1 });
    const node = `node-${appkey}`;
    await agent.post(REPORT, report(node, []));
    const started = performance.now();
    const none = await f.gateway.post("/v1/gateway/activations?wait=100ms", { appkey, function: "hello", version: 1 });
    expect(none).toMatchObject({ status: 202, body: { desired: 1, ready: [] } });
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);

    const held = f.gateway.post("/v1/gateway/activations?wait=10s", { appkey, function: "hello", version: 1 });
    await new Promise((r) => setTimeout(r, 20));
    await agent.post(REPORT, report(node, [instance(appkey, "i1", "starting")]));
    const readyReport = await agent.post(REPORT, report(node, [instance(appkey, "i1", "ready")]));
    expect(readyReport.body.revision).toEqual(expect.any(Number));
    const answer = await held;
    expect(answer).toMatchObject({ status: 202, body: { desired: 1, ready: [{ host: "127.0.0.1", port: 20001 }] } });
    // Announced once, after the commit: the row is there; a later held poke is not answered from memory.
    expect(await f.db.select().from(functionInstances).where(eq(functionInstances.node, node))).toEqual([
      expect.objectContaining({ state: "ready", port: 20001 }),
    ]);
    const later = await f.gateway.post("/v1/gateway/activations?wait=50ms", { appkey, function: "hello", version: 1 });
    expect(later.body.ready).toEqual([]);
    // Without wait: answered at once, nothing named.
    expect((await f.gateway.post("/v1/gateway/activations", { appkey, function: "hello", version: 1 })).body.ready).toEqual([]);
  });
});
