/**
 * The access log of real gateway processes on every runtime: one JSON line per request with the
 * request id the client and the upstream saw, route, group, instance, status, attempts, times,
 * sizes and the snapshot version; none with ACCESS_LOG=off.
 */
import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, type UpstreamServer } from "../../control/demo/upstream-server.ts";
import { GATEWAY_RUNTIMES } from "../../worker/launcher/gateway.ts";
import type { AccessLogEntry } from "../../worker/telemetry/access-log.ts";
import { backends } from "../support/backends.ts";
import { eventually, ok, type Stack, send, startStack } from "../support/stack.ts";

const [pglite] = backends();

/** The access-log lines in a gateway's output file. */
function accessLines(path: string): AccessLogEntry[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.startsWith('{"log":"access"'))
    .map((line) => JSON.parse(line) as AccessLogEntry);
}

describe.each(GATEWAY_RUNTIMES)("access log on %s", (runtime) => {
  let stack: Stack;
  let upstream: UpstreamServer;
  let dir: string;
  let logPath: string;
  let fd: number;
  let routeId: number;

  beforeAll(async () => {
    upstream = await startUpstream("u1");
    dir = await mkdtemp(join(tmpdir(), "sluice-access-"));
    logPath = join(dir, "gateway.log");
    fd = openSync(logPath, "a");
    stack = await startStack(pglite, 1, { gateway: { runtime, stdio: fd } });
    const { admin } = stack;
    await ok(admin.post("/v1/services", { appkey: "shop" }));
    await ok(admin.post("/v1/services/shop/groups", { name: "main" }));
    await ok(admin.post("/v1/services/shop/groups/main/instances", { host: "127.0.0.1", port: upstream.port }));
    routeId = (await ok(admin.post("/v1/routes", { appkey: "shop", path: "/cart", defaultGroup: "main" }))).id;
    await eventually(async () => (await send(`${stack.gateway.url}/cart/ready`)).status === 200, 10_000);
  });

  afterAll(async () => {
    await stack?.close();
    if (fd !== undefined) closeSync(fd);
    await upstream?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("writes one line per request, with the id the client and the upstream saw", async () => {
    const answers = [];
    for (let i = 0; i < 5; i++) {
      answers.push(await send(`${stack.gateway.url}/cart/${i}?secret=s`, { headers: { "x-request-id": `req-${runtime}-${i}` } }));
    }
    const miss = await send(`${stack.gateway.url}/x`);
    expect(miss.status).toBe(404);
    const missId = miss.headers.get("x-request-id") as string;
    expect(missId).toMatch(/^[0-9a-f-]{36}$/);
    for (const [i, a] of answers.entries()) {
      expect(a.status).toBe(200);
      expect(a.headers.get("x-request-id")).toBe(`req-${runtime}-${i}`);
      expect(a.body.headers["x-request-id"]).toBe(`req-${runtime}-${i}`);
    }
    let lines: AccessLogEntry[] = [];
    await eventually(
      async () => {
        lines = accessLines(logPath).filter((l) => l.requestId.startsWith(`req-${runtime}-`) || l.requestId === missId);
        return lines.length === 6;
      },
      5000,
      "six access-log lines",
    );
    const first = lines.find((l) => l.requestId === `req-${runtime}-0`) as AccessLogEntry;
    expect(first).toMatchObject({
      log: "access",
      method: "GET",
      host: new URL(stack.gateway.url).host,
      path: "/cart/0", // the query is not logged
      route: routeId,
      group: "main",
      instance: `127.0.0.1:${upstream.port}`,
      status: 200,
      attempts: 1,
      bytesIn: null,
      client: "127.0.0.1",
    });
    // The declared length when the runtime shows it on the upstream's response (Bun, workerd and
    // Deno hide it for a streamed body): never a guess.
    const declared = answers[0]?.headers.get("content-length");
    if (first.bytesOut !== null && declared) expect(first.bytesOut).toBe(Number(declared));
    expect(first.snapshotVersion).toMatch(/^[0-9]+$/);
    expect(first.totalMs).toBeGreaterThanOrEqual(first.upstreamMs as number);
    expect(Date.parse(first.time)).toBeGreaterThan(Date.now() - 60_000);
    const missLine = lines.find((l) => l.requestId === missId);
    expect(missLine).toMatchObject({ status: 404, route: null, group: null, instance: null, attempts: 0, upstreamMs: null });
  });
});

describe("access log off", () => {
  it("ACCESS_LOG=off writes no access line", async () => {
    const upstream = await startUpstream("u1");
    const dir = await mkdtemp(join(tmpdir(), "sluice-access-"));
    const logPath = join(dir, "gateway.log");
    const fd = openSync(logPath, "a");
    const stack = await startStack(pglite, 1, { gateway: { stdio: fd, telemetry: { ACCESS_LOG: "off" } } });
    try {
      const { admin } = stack;
      await ok(admin.post("/v1/services", { appkey: "shop" }));
      await ok(admin.post("/v1/services/shop/groups", { name: "main" }));
      await ok(admin.post("/v1/services/shop/groups/main/instances", { host: "127.0.0.1", port: upstream.port }));
      await ok(admin.post("/v1/routes", { appkey: "shop", path: "/", defaultGroup: "main" }));
      await eventually(async () => (await send(`${stack.gateway.url}/ready`)).status === 200, 10_000);
      for (let i = 0; i < 5; i++) expect((await send(`${stack.gateway.url}/a`)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 600)); // more than a flush tick
      expect(readFileSync(logPath, "utf8")).toContain("sluice gateway"); // the output is captured…
      expect(accessLines(logPath)).toEqual([]); // …and has no access line
    } finally {
      await stack.close();
      closeSync(fd);
      await upstream.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
