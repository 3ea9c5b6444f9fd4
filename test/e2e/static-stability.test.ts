/**
 * Must-show 3, static stability: the gateway (workerd ×2) keeps serving its last good snapshot
 * while control is down. Under steady load, control is stopped for 60 s (STATIC_STABILITY_SECONDS
 * to shorten it while developing): 0 requests fail, p99 latency while control is down and after it
 * is back stays within 2× of the same load before (issue 12, item 2), and each isolate's status page reports the
 * growing snapshot age and "control unreachable". Control then starts again on the same data and
 * port; the gateways find it on their own (fallback poll) and route on a change made after it.
 * Runs on PostgreSQL when DATABASE_URL is set, else on PGlite.
 */
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, type UpstreamServer } from "../../control/demo/upstream-server.ts";
import { startControl } from "../../control/server.ts";
import { backends } from "../support/backends.ts";
import { clientFor, httpTarget } from "../support/client.ts";
import { startLoad } from "../support/load.ts";
import { eventually, gatewayStatus, type Stack, startStack } from "../support/stack.ts";

const DOWN_SECONDS = Number(process.env.STATIC_STABILITY_SECONDS || 60);
/** The load before control stops (its p99 is the yardstick), and after it is back, ms. */
const BASELINE_MS = 5000;
const AFTER_MS = 5000;
/** Latency noise allowed on top of the 2× bound: Date.now() resolution and the other test file sharing the 2 cores, ms. */
const NOISE_MS = 10;

/** 99th percentile of `values` (nearest rank), ms. */
function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] ?? 0;
}
const [backend] = backends().slice(-1);

describe(`static stability on ${backend.name}`, () => {
  let stack: Stack;
  const upstreams: UpstreamServer[] = [];

  beforeAll(async () => {
    upstreams.push(await startUpstream("before"), await startUpstream("after"));
    stack = await startStack(backend, 2, { gateway: { snapshotPollMs: 500 } });
    const { admin } = stack;
    expect((await admin.post("/v1/services", { appkey: "stable" })).status).toBe(201);
    for (const [i, name] of ["before", "after"].entries()) {
      expect((await admin.post("/v1/services/stable/groups", { name })).status).toBe(201);
      expect(
        (await admin.post(`/v1/services/stable/groups/${name}/instances`, { host: "127.0.0.1", port: upstreams[i].port })).status,
      ).toBe(201);
    }
    expect((await admin.post("/v1/routes", { appkey: "stable", path: "/s", defaultGroup: "before" })).status).toBe(201);
    await eventually(async () => (await fetch(`${stack.gateway.url}/s`).then((r) => r.text())).includes('"before"'), 10_000);
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    await Promise.all(upstreams.map((u) => u.close()));
  });

  it(
    `serves every request while control is down for ${DOWN_SECONDS} s, then resumes updates`,
    async () => {
      const load = startLoad(`${stack.gateway.url}/s`, 4, { record: true });
      await new Promise((r) => setTimeout(r, BASELINE_MS));
      const { port } = stack.control;
      await stack.control.close();
      const downAt = Date.now();
      const statuses: { lastError: string | null; snapshotAgeMs: number }[] = [];
      while (Date.now() - downAt < DOWN_SECONDS * 1000) {
        await new Promise((r) => setTimeout(r, 5000));
        statuses.push(await gatewayStatus(stack.gateway.url));
      }
      const sentWhileDown = load.sent;

      stack.control = await startControl({
        dataDir: stack.dataDir,
        databaseUrl: stack.databaseUrl,
        port,
        debounceMs: 10,
        env: {},
        logger: pino({ level: "warn" }),
      });
      const admin = clientFor(httpTarget(stack.control.url), stack.control.tokens.adminToken);
      const routeId = (await admin.get("/v1/routes")).body.items[0].id;
      const upAt = Date.now();
      expect((await admin.put(`/v1/routes/${routeId}`, { appkey: "stable", path: "/s", defaultGroup: "after" })).status).toBe(200);
      const resumedAfterMs = await eventually(async () => (load.lastSeen.get("after") ?? 0) > upAt, 10_000);
      await new Promise((r) => setTimeout(r, AFTER_MS));
      await load.stop();

      // Latency: the same load before control stopped, against the outage and the return.
      const latencies = (from: number, to: number) =>
        load.answers.filter((a) => a.sentMs >= from && a.sentMs < to).map((a) => a.atMs - a.sentMs);
      const baseline = p99(latencies(downAt - BASELINE_MS + 1000, downAt));
      const outage = p99(latencies(downAt, downAt + DOWN_SECONDS * 1000));
      const back = p99(latencies(upAt, Date.now()));
      console.log(`p99 latency: before ${baseline} ms, control down ${outage} ms, control back ${back} ms`);
      expect(outage).toBeLessThanOrEqual(Math.max(2 * baseline, baseline + NOISE_MS));
      expect(back).toBeLessThanOrEqual(Math.max(2 * baseline, baseline + NOISE_MS));

      expect(load.failures).toEqual([]);
      expect(sentWhileDown).toBeGreaterThan(DOWN_SECONDS * 100);
      expect(statuses.at(-1)?.lastError).toMatch(/control unreachable/);
      expect(statuses.at(-1)?.snapshotAgeMs).toBeGreaterThanOrEqual((DOWN_SECONDS - 5) * 1000);
      console.log(
        `control down ${DOWN_SECONDS} s: ${load.sent} requests, 0 failed; change after restart routed within ${resumedAfterMs} ms; ` +
          `answers ${JSON.stringify(Object.fromEntries(load.byUpstream))}`,
      );
    },
    (DOWN_SECONDS + 60) * 1000,
  );
});
