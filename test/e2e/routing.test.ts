/**
 * End to end with real parts: control (PGlite, and PostgreSQL when DATABASE_URL is set) →
 * signed snapshot → the gateway in real `workerd serve`, Bun or Deno (two processes sharing the
 * port; stackCases) → real HTTP upstreams on 127.0.0.1. Configuration goes through the REST API only.
 */
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, type UpstreamServer } from "../../control/demo/upstream-server.ts";
import { type Answer, eventually, ok, type Stack, send as sendTo, stackCases, startStack } from "../support/stack.ts";

describe.each(stackCases())("gateway end to end: $name", ({ backend, runtime }) => {
  let stack: Stack;
  const upstreams: Record<string, UpstreamServer> = {};

  const send = async (path: string, init: RequestInit = {}): Promise<Answer> => sendTo(`${stack.gateway.url}${path}`, init);

  beforeAll(async () => {
    for (const name of ["a1", "a2", "b1", "w1", "w3"]) upstreams[name] = await startUpstream(name);
    upstreams.hop = await startUpstream("hop", 0, 0, { connection: "keep-alive, x-hop", "x-hop": "1", "x-end": "2" });
    upstreams.slow = await startUpstream("slow", 0, 2000);
    stack = await startStack(backend, 2, { gateway: { runtime } });
    const { admin } = stack;
    await ok(admin.post("/v1/services", { appkey: "shop" }));
    const groups: Record<string, [string, number][]> = {
      main: [
        ["a1", 10],
        ["a2", 10],
      ],
      gold: [["b1", 10]],
      split: [
        ["w1", 1],
        ["w3", 3],
      ],
      slow: [["slow", 10]],
      hop: [["hop", 10]],
    };
    for (const [group, members] of Object.entries(groups)) {
      await ok(admin.post("/v1/services/shop/groups", { name: group }));
      for (const [name, weight] of members) {
        const port = (upstreams[name] as UpstreamServer).port;
        await ok(admin.post(`/v1/services/shop/groups/${group}/instances`, { host: "127.0.0.1", port, weight }));
      }
    }
    await ok(admin.post("/v1/services/shop/groups", { name: "dead" }));
    // Port 1 on loopback: nothing listens there, so connecting fails at once.
    await ok(admin.post("/v1/services/shop/groups/dead/instances", { host: "127.0.0.1", port: 1 }));
    await ok(
      admin.post("/v1/policies", {
        name: "gold-tier",
        category: "private",
        appkey: "shop",
        key: "x-tier",
        passway: "header",
        condition: 'key == "gold"',
        group: "gold",
      }),
    );
    await ok(admin.post("/v1/routes", { appkey: "shop", path: "/app", defaultGroup: "main", policies: ["gold-tier"] }));
    await ok(admin.post("/v1/routes", { appkey: "shop", path: "/split", match: "exact", defaultGroup: "split" }));
    await ok(admin.post("/v1/routes", { appkey: "shop", path: "/slow", defaultGroup: "slow", timeoutMs: 300 }));
    await ok(admin.post("/v1/routes", { appkey: "shop", path: "/dead", defaultGroup: "dead" }));
    await ok(admin.post("/v1/routes", { appkey: "shop", path: "/hop", defaultGroup: "hop" }));
    // The gateway polls every 100 ms; wait until it serves the last route.
    await eventually(async () => (await send("/dead")).status === 502);
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    await Promise.all(Object.values(upstreams).map((u) => u.close()));
  });

  it("routes requests whose policy matches to the policy's group, others to the default group", async () => {
    for (let i = 0; i < 6; i++) {
      expect((await send("/app/cart", { headers: { "x-tier": "gold" } })).upstream).toBe("b1");
      expect(["a1", "a2"]).toContain((await send("/app/cart", { headers: { "x-tier": "silver" } })).upstream);
      expect(["a1", "a2"]).toContain((await send("/app/cart")).upstream);
    }
  });

  it("splits 1:3 weights within ±5 % over 2,000 requests", async () => {
    const counts: Record<string, number> = { w1: 0, w3: 0 };
    for (let batch = 0; batch < 40; batch++) {
      const answers = await Promise.all(Array.from({ length: 50 }, () => send("/split")));
      for (const a of answers) counts[a.upstream as string] = (counts[a.upstream as string] ?? 0) + 1;
    }
    expect(counts.w1 + counts.w3).toBe(2000);
    // 2000 * 3/4 = 1500 expected on w3; ±5 % of 2000 = ±100.
    expect(Math.abs(counts.w3 - 1500)).toBeLessThanOrEqual(100);
  });

  it("applies a policy change without restarting the gateway", async () => {
    const before = await send("/app/x", { headers: { "x-tier": "platinum" } });
    expect(["a1", "a2"]).toContain(before.upstream);
    await ok(stack.admin.patch("/v1/policies/gold-tier", { condition: 'key in ["gold", "platinum"]' }), 200);
    await eventually(async () => (await send("/app/x", { headers: { "x-tier": "platinum" } })).upstream === "b1");
    await ok(stack.admin.patch("/v1/policies/gold-tier", { enabled: false }), 200);
    await eventually(async () => (await send("/app/x", { headers: { "x-tier": "gold" } })).upstream !== "b1");
    await ok(stack.admin.patch("/v1/policies/gold-tier", { enabled: true, condition: 'key == "gold"' }), 200);
    await eventually(async () => (await send("/app/x", { headers: { "x-tier": "gold" } })).upstream === "b1");
  });

  it("answers 404 JSON when no route matches", async () => {
    const r = await send("/nowhere");
    expect(r.status).toBe(404);
    expect(r.body.error).toBe("no_route");
  });

  it("answers 502 JSON when the instance refuses the connection and 504 JSON on timeout", async () => {
    const dead = await send("/dead");
    expect(dead.status).toBe(502);
    expect(dead.body.error).toBe("upstream_unreachable");
    const started = Date.now();
    const slow = await send("/slow");
    expect(slow.status).toBe(504);
    expect(slow.body.error).toBe("upstream_timeout");
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("forwards method, path, query and body; sets X-Forwarded-*; strips hop-by-hop headers", async () => {
    // node:http, because fetch refuses to send Connection / Keep-Alive itself.
    const r = await rawRequest(`${stack.gateway.url}/app/upload?item=7&x=%2F`, "POST", "x".repeat(100_000), {
      connection: "keep-alive, x-private",
      "x-private": "secret",
      "keep-alive": "timeout=5",
      "x-kept": "yes",
    });
    expect(r.status).toBe(200);
    expect(r.body.method).toBe("POST");
    expect(r.body.path).toBe("/app/upload?item=7&x=%2F");
    expect(r.body.bodyBytes).toBe(100_000);
    const headers = r.body.headers as Record<string, string>;
    expect(headers["x-kept"]).toBe("yes");
    expect(headers["x-private"]).toBeUndefined();
    expect(headers["keep-alive"]).toBeUndefined();
    expect(headers["x-forwarded-proto"]).toBe("http");
    expect(headers["x-forwarded-host"]).toBe(new URL(stack.gateway.url).host);
    // A field the upstream's Connection header names is about that connection only.
    const hop = await rawRequest(`${stack.gateway.url}/hop`, "GET", "", {});
    expect(hop.headers["x-end"]).toBe("2");
    expect(hop.headers["x-hop"]).toBeUndefined();
  });

  it("believes no client's CF-Connecting-IP off Cloudflare: X-Forwarded-For gets the connection's peer", async () => {
    const r = await rawRequest(`${stack.gateway.url}/app/who`, "GET", "", { "cf-connecting-ip": "9.9.9.9" });
    expect(r.status).toBe(200);
    expect((r.body.headers as Record<string, string>)["x-forwarded-for"]).toBe("127.0.0.1");
    const relayed = await rawRequest(`${stack.gateway.url}/app/who`, "GET", "", {
      "x-forwarded-for": "203.0.113.9",
      "cf-connecting-ip": "9.9.9.9",
    });
    expect((relayed.body.headers as Record<string, string>)["x-forwarded-for"]).toBe("203.0.113.9, 127.0.0.1");
  });

  it("routes on the normalised path: dot segments cannot escape a route", async () => {
    expect((await send("/split/../app/x", { headers: { "x-tier": "gold" } })).upstream).toBe("b1");
    expect((await send("/app/%2e%2e/split")).status).toBe(200);
    expect((await send("/app/%2e%2e/split")).upstream).toMatch(/^w/);
  });
});

function rawRequest(url: string, method: string, body: string, headers: Record<string, string>) {
  // biome-ignore lint/suspicious/noExplicitAny: JSON from the upstream.
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any }>((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString()) }),
      );
    });
    req.once("error", reject);
    req.end(body);
  });
}
