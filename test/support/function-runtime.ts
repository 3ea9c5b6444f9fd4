/**
 * The function runtime over one database for tests: the API app (createApp) sharing a runtime
 * with a Scaler that leads, on a clock the test moves (`clock.now`, Unix ms), so whole scaling
 * windows pass without waiting. Ticks are driven by hand (`scaler.tick()`) unless started.
 */
import { pino } from "pino";
import { afterAll, beforeAll, expect } from "vitest";
import { createApp } from "../../control/api/app.ts";
import type { ApiApp } from "../../control/api/openapi.ts";
import type { Database, OpenedDatabase } from "../../control/db/connect.ts";
import { createFunctionRuntime, type FunctionRuntime } from "../../control/functions/scaler/runtime.ts";
import { Scaler } from "../../control/functions/scaler/scaler.ts";
import { type ControlMetrics, createControlMetrics } from "../../control/metrics/registry.ts";
import type { Backend } from "./backends.ts";
import { ADMIN_TOKEN, type Client, clientFor, GATEWAY_TOKEN } from "./client.ts";
import { unique } from "./fixture.ts";

export interface FunctionFixture {
  db: Database;
  app: ApiApp;
  client: Client;
  gateway: Client;
  clock: { now: number };
  runtime: FunctionRuntime;
  scaler: Scaler;
  metrics: ControlMetrics;
  /** Revision ids passed to onChange / onUrgentChange, in call order. */
  changes: number[];
  urgent: number[];
}

export function useFunctionRuntime(backend: Backend): FunctionFixture {
  const fixture = { changes: [], urgent: [], clock: { now: Date.UTC(2026, 11, 7, 12, 0, 0) } } as unknown as FunctionFixture;
  let opened: OpenedDatabase;
  beforeAll(async () => {
    opened = await backend.open();
    const logger = pino({ level: "silent" });
    fixture.db = opened.db;
    fixture.runtime = createFunctionRuntime(() => fixture.clock.now);
    fixture.metrics = createControlMetrics({ processMetrics: false, now: () => fixture.clock.now });
    fixture.scaler = new Scaler({
      db: opened.db,
      deps: { db: opened.db, onChange: (r) => void fixture.urgent.push(r), logger },
      leadership: { isLeader: true },
      nodes: fixture.runtime.nodes,
      board: fixture.runtime.board,
      metrics: fixture.metrics.functions,
      logger,
      now: () => fixture.clock.now,
    });
    fixture.runtime.scaler = fixture.scaler;
    fixture.app = createApp({
      db: opened.db,
      auth: { adminToken: ADMIN_TOKEN, gatewayToken: GATEWAY_TOKEN },
      onChange: (r) => void fixture.changes.push(r),
      onUrgentChange: (r) => void fixture.urgent.push(r),
      getSnapshot: () => null,
      logger,
      metrics: fixture.metrics,
      functions: fixture.runtime,
    });
    fixture.client = clientFor(fixture.app);
    fixture.gateway = clientFor(fixture.app, GATEWAY_TOKEN);
  }, 60_000);
  afterAll(async () => {
    await fixture.scaler?.stop();
    fixture.runtime?.board.close();
    await opened?.close();
  });
  return fixture;
}

const WORKER = 'export default { fetch() { return new Response("hi"); } };';

/** A new service with function `hello` (scaling overrides) and version 1; an agent token for it. */
export async function newFunction(
  f: FunctionFixture,
  scaling: Record<string, unknown> = {},
): Promise<{ appkey: string; sha256: string; agent: Client; token: string }> {
  const appkey = unique("fnrt");
  expect((await f.client.post("/v1/services", { appkey })).status).toBe(201);
  expect((await f.client.post(`/v1/services/${appkey}/functions`, { name: "hello", scaling })).status).toBe(201);
  const version = await f.client.post(`/v1/services/${appkey}/functions/hello/versions`, {
    modules: [{ name: "worker.js", type: "esm", content: Buffer.from(WORKER).toString("base64") }],
    main: "worker.js",
    compatibilityDate: "2026-07-01",
  });
  expect(version.status).toBe(201);
  const minted = await f.client.post("/v1/agent-tokens", { name: `${appkey}-agent`, appkeys: [appkey] });
  expect(minted.status).toBe(201);
  return { appkey, sha256: version.body.sha256, token: minted.body.token, agent: clientFor(f.app, minted.body.token) };
}

/** One instance of version 1 of `appkey/hello` in a report. */
export function instance(appkey: string, key: string, state: string, extra: Record<string, unknown> = {}) {
  return {
    key,
    appkey,
    function: "hello",
    version: 1,
    host: "127.0.0.1",
    port: 20000 + Number(key.replace(/\D/g, "") || 0),
    state,
    ...extra,
  };
}

/** A node report of `instances` (1 s interval). */
export function report(node: string, instances: unknown[]) {
  return { node, intervalMs: 1000, zone: "z1", instances };
}
