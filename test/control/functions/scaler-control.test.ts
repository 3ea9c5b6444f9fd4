/**
 * The scaler as startControl wires it, over each backend (PGlite; PostgreSQL too when
 * DATABASE_URL is set, where the scaler leads through its own advisory lock): a poke from zero
 * reaches the node's long poll with activationScale instances within one (short) tick, and an
 * instance turning ready is covered by a served snapshot without the rebuild debounce, so
 * GET /v1/propagation can follow its revision.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningControl, startControl } from "../../../control/server.ts";
import { backends, type TestDatabase } from "../../support/backends.ts";
import { type Client, clientFor, httpTarget } from "../../support/client.ts";
import { unique } from "../../support/fixture.ts";
import { instance, report } from "../../support/function-runtime.ts";

const WORKER = 'export default { fetch() { return new Response("hi"); } };';

describe.each(backends())("the scaler in a running control on $name", (backend) => {
  let control: RunningControl;
  let dataDir: string;
  let database: TestDatabase | null = null;
  let admin: Client;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "sluice-scaler-"));
    if (backend.name === "postgres") database = await backend.open();
    control = await startControl({
      dataDir,
      databaseUrl: database?.url,
      port: 0,
      debounceMs: 200,
      autoscalerTickMs: 50,
      leaderRetryMs: 50,
      env: {},
      logger: pino({ level: "silent" }),
    });
    admin = clientFor(httpTarget(control.url), control.tokens.adminToken);
  }, 60_000);
  afterAll(async () => {
    await control?.close();
    await database?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("answers a poke from zero with activationScale instances on the node's long poll, and rebuilds at once for a ready instance", async () => {
    const appkey = unique("fnctl");
    expect((await admin.post("/v1/services", { appkey })).status).toBe(201);
    expect((await admin.post(`/v1/services/${appkey}/functions`, { name: "hello", scaling: { activationScale: 2 } })).status).toBe(201);
    const uploaded = await admin.post(`/v1/services/${appkey}/functions/hello/versions`, {
      modules: [{ name: "worker.js", type: "esm", content: Buffer.from(WORKER).toString("base64") }],
      main: "worker.js",
      compatibilityDate: "2026-07-01",
    });
    expect(uploaded.status).toBe(201);
    const minted = await admin.post("/v1/agent-tokens", { name: `${appkey}-agent`, appkeys: [appkey] });
    const agent = clientFor(httpTarget(control.url), minted.body.token);
    const gateway = clientFor(httpTarget(control.url), control.tokens.gatewayToken);
    const node = `node-${appkey}`;

    // The scaler leads (with PostgreSQL, once it holds SCALER_LOCK).
    await expect.poll(async () => (await agent.post("/v1/agents/functions/report", report(node, []))).status).toBe(200);
    const first = await agent.get(`/v1/agents/functions/assignments?node=${node}&index=0`);
    const held = agent.get(`/v1/agents/functions/assignments?node=${node}&index=${first.body.index}&wait=10s`);
    await expect
      .poll(async () => (await gateway.post("/v1/gateway/activations", { appkey, function: "hello", version: 1 })).body.desired, {
        timeout: 5000,
      })
      .toBe(2);
    const woke = await held;
    expect(woke.status).toBe(200);
    expect(woke.body.assignments).toEqual([expect.objectContaining({ appkey, version: 1, desired: 2, sha256: uploaded.body.sha256 })]);

    const started = performance.now();
    const ready = await agent.post("/v1/agents/functions/report", report(node, [instance(appkey, "i1", "ready", { coldStartMs: 30 })]));
    expect(ready.body.revision).toBeGreaterThan(0);
    // Debounce is 200 ms here: a snapshot covering the revision well before that shows the immediate rebuild.
    await expect
      .poll(() => (control.builder.current?.coversRevision ?? 0) >= ready.body.revision, { timeout: 5000, interval: 5 })
      .toBe(true);
    expect(performance.now() - started).toBeLessThan(200);
    const propagation = await admin.get(`/v1/propagation?revision=${ready.body.revision}`);
    expect(propagation.status).toBe(200);
    expect(propagation.body.version).not.toBeNull();
  });
});
