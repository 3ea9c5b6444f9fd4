/**
 * Edge protection end to end (docs/edge-protection.md): plugins and consumers through control's
 * REST API (PGlite), the signed snapshot's PLUGINS section, a gateway of two real processes (on
 * every gateway runtime: Bun, workerd, Deno), a
 * private redis-server and real HTTP upstreams on 127.0.0.1. APISIX's plugin scenarios as Sluice
 * settings:
 *   - jwt-auth (jose inside the gateway bundle): HS256 and RS256 consumers, expiry, a token signed
 *     with another key;
 *   - key-auth: 401 without or with a wrong key; the consumer's label routes (policies read
 *     `request.consumer`), the upstream sees X-Consumer-Username and not the key;
 *   - limit-count `cluster` across both gateway processes: limit 100 per window, 300 requests
 *     on fresh connections → exactly 100 allowed, the rest 429 with RateLimit fields and
 *     Retry-After; Redis stopped → fail closed (503) or fail open, as each route says, and back
 *     to exact counting once it returns;
 *   - limit-count `cluster` keyed by a CEL expression over the consumer and a header: exact per
 *     tier and tenant across both processes; without the header, per client address;
 *   - limit-req: the burst is let through, the rest refused;
 *   - ip-restriction 403; anti-scraping block / suspect group;
 *   - proxy-rewrite (prefix strip, regexUri captures, header templates) and response-rewrite, as
 *     the upstream receives them; CORS preflight answered at the gateway;
 *   - bad input refused with 400 naming the field, nothing written.
 */
import http from "node:http";
import { exportSPKI, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, type UpstreamServer } from "../../control/demo/upstream-server.ts";
import { GATEWAY_RUNTIMES } from "../../worker/launcher/gateway.ts";
import { backends } from "../support/backends.ts";
import { type RecordingUpstream, startRecordingUpstream } from "../support/recording-upstream.ts";
import { startTestRedis, type TestRedis } from "../support/redis-server.ts";
import { eventually, ok, type Stack, startStack } from "../support/stack.ts";

const ALICE_KEY = "alice-key-0123456789";
const BOB_KEY = "bob-key-0123456789";
const HS_SECRET = "an-hs256-secret-of-at-least-32-bytes!";

/** One request on its own connection (so SO_REUSEPORT spreads them over the gateway's processes). */
function request(
  url: string,
  init: { method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? "GET", headers: init.headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Status counts of `n` requests to `url`, `parallel` at a time. */
async function statuses(url: string, n: number, parallel = 10, headers: Record<string, string> = {}): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) {
        next += 1;
        const { status } = await request(url, { headers });
        counts.set(status, (counts.get(status) ?? 0) + 1);
      }
    }),
  );
  return counts;
}

describe.each(GATEWAY_RUNTIMES)("edge protection through the gateway (%s, 2 processes)", (runtime) => {
  const [backend] = backends();
  let stack: Stack;
  let redis: TestRedis;
  let recorder: RecordingUpstream;
  const upstreams: Record<string, UpstreamServer> = {};
  let gateway: string;
  let rsa: CryptoKeyPair;

  const route = (path: string, plugins: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    ok(stack.admin.post("/v1/routes", { appkey: "shop", path, defaultGroup: "main", plugins, ...extra }));

  beforeAll(async () => {
    redis = await startTestRedis();
    recorder = await startRecordingUpstream();
    for (const g of ["main", "gold", "suspects"]) upstreams[g] = await startUpstream(g);
    stack = await startStack(backend as NonNullable<typeof backend>, 2, {
      gateway: { runtime, redisUrl: `redis://127.0.0.1:${redis.port}`, redisTimeoutMs: 200, trustedProxies: "127.0.0.1" },
    });
    gateway = stack.gateway.url;
    const { admin } = stack;
    await ok(admin.post("/v1/services", { appkey: "shop" }));
    for (const g of ["main", "gold", "suspects"]) {
      await ok(admin.post("/v1/services/shop/groups", { name: g }));
      await ok(admin.post(`/v1/services/shop/groups/${g}/instances`, { host: "127.0.0.1", port: (upstreams[g] as UpstreamServer).port }));
    }
    await ok(admin.post("/v1/services/shop/groups", { name: "recorder" }));
    await ok(admin.post("/v1/services/shop/groups/recorder/instances", { host: "127.0.0.1", port: recorder.port }));
    await ok(admin.post("/v1/consumers", { name: "alice", labels: { tier: "gold" }, credentials: { "key-auth": { key: ALICE_KEY } } }));
    await ok(admin.post("/v1/consumers", { name: "bob", labels: { tier: "basic" }, credentials: { "key-auth": { key: BOB_KEY } } }));
    rsa = await generateKeyPair("RS256", { extractable: true });
    await ok(
      admin.post("/v1/consumers", { name: "carol", credentials: { "jwt-auth": { key: "carol", algorithm: "HS256", secret: HS_SECRET } } }),
    );
    await ok(
      admin.post("/v1/consumers", {
        name: "dave",
        credentials: { "jwt-auth": { key: "dave", algorithm: "RS256", publicKey: await exportSPKI(rsa.publicKey) } },
      }),
    );
    await route("/jwt", { "jwt-auth": {}, "response-rewrite": { headers: { set: { "x-consumer": "$consumer_name" } } } });
    // Keyed on the credential header, so it applies to every authenticated request.
    await ok(
      admin.post("/v1/policies", {
        name: "gold-consumers",
        category: "private",
        appkey: "shop",
        key: "apikey",
        passway: "header",
        condition: 'request.consumer.labels.tier == "gold"',
        group: "gold",
      }),
    );
    await route("/auth", { "key-auth": { hideCredentials: true } }, { policies: ["gold-consumers"] });
    await route("/cluster", { "limit-count": { count: 100, windowSeconds: 60, policy: "cluster" } });
    await route("/closed", { "limit-count": { count: 1000, windowSeconds: 60, policy: "cluster", failOpen: false } });
    await route("/open", { "limit-count": { count: 1000, windowSeconds: 60, policy: "cluster", failOpen: true } });
    await route("/req", { "limit-req": { rate: 1, burst: 2, nodelay: true } });
    await route("/tenant", {
      "key-auth": {},
      "limit-count": {
        count: 3,
        windowSeconds: 60,
        policy: "cluster",
        key: { from: "cel", expression: 'request.consumer.labels.tier + ":" + request.header["x-tenant"]' },
      },
    });
    await route("/deny", { "ip-restriction": { deny: ["203.0.113.0/24"] } });
    await route("/scrape", {
      "anti-scraping": {
        rules: [
          { name: "curl", userAgent: "^[Cc][Uu][Rr][Ll]/", action: "block" },
          { name: "no-language", missingHeaders: ["accept-language"], action: "suspect" },
        ],
        suspectGroup: "suspects",
      },
    });
    await ok(
      admin.post("/v1/routes", {
        appkey: "shop",
        path: "/api",
        defaultGroup: "recorder",
        plugins: {
          "key-auth": {},
          "proxy-rewrite": {
            regexUri: ["^/api/v(\\d+)/(.*)$", "/internal/$2?version=$1"],
            headers: { set: { "x-user": "$consumer_name" } },
          },
          "response-rewrite": { headers: { set: { "x-served-by": "sluice" }, remove: ["x-powered-by"] } },
          cors: { allowOrigins: ["https://shop.example"], allowMethods: ["GET", "POST"], maxAgeSeconds: 600 },
        },
      }),
    );
    await ok(
      admin.post("/v1/routes", {
        appkey: "shop",
        path: "/strip",
        defaultGroup: "recorder",
        plugins: { "proxy-rewrite": { stripPrefix: "/strip" } },
      }),
    );
    await eventually(
      async () => {
        const r = await request(`${gateway}/strip/x`);
        if (process.env.DEBUG_EDGE) console.log(r.status, r.body.slice(0, 300));
        return r.status === 200;
      },
      15_000,
      "the routes reaching the gateway",
    );
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    await redis?.stop();
    await recorder?.close();
    for (const u of Object.values(upstreams)) await u.close();
  });

  it("key-auth: 401 without or with a wrong key; the consumer's label routes; the upstream sees the consumer, not the key", async () => {
    const missing = await request(`${gateway}/auth/x`);
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.body)).toMatchObject({ error: "unauthorized" });
    expect((await request(`${gateway}/auth/x`, { headers: { apikey: "wrong-key-0123" } })).status).toBe(401);
    const alice = await request(`${gateway}/auth/x`, { headers: { apikey: ALICE_KEY } });
    expect(alice.status).toBe(200);
    expect(JSON.parse(alice.body).upstream).toBe("gold");
    const bob = await request(`${gateway}/auth/x`, { headers: { apikey: BOB_KEY } });
    expect(JSON.parse(bob.body).upstream).toBe("main");
  });

  it("jwt-auth: HS256 and RS256 tokens name their consumer; expired, foreign-signed or missing tokens get 401", async () => {
    const hs = (claims: Record<string, unknown>, exp: string | number = "5m") =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "HS256" })
        .setIssuedAt()
        .setExpirationTime(exp)
        .sign(new TextEncoder().encode(HS_SECRET));
    const carol = await request(`${gateway}/jwt/x`, { headers: { authorization: `Bearer ${await hs({ key: "carol" })}` } });
    expect(carol.status).toBe(200);
    expect(carol.headers["x-consumer"]).toBe("carol");
    const rs = await new SignJWT({ key: "dave" }).setProtectedHeader({ alg: "RS256" }).setExpirationTime("5m").sign(rsa.privateKey);
    const dave = await request(`${gateway}/jwt/x?jwt=${rs}`);
    expect(dave.status).toBe(200);
    expect(dave.headers["x-consumer"]).toBe("dave");
    const expired = await hs({ key: "carol" }, Math.floor(Date.now() / 1000) - 60);
    expect((await request(`${gateway}/jwt/x`, { headers: { authorization: `Bearer ${expired}` } })).status).toBe(401);
    // Signed with HS256 for the RS256 consumer: refused (one algorithm per consumer).
    const confused = await hs({ key: "dave" });
    expect((await request(`${gateway}/jwt/x`, { headers: { authorization: `Bearer ${confused}` } })).status).toBe(401);
    const missing = await request(`${gateway}/jwt/x`);
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.body)).toMatchObject({ error: "unauthorized" });
  });

  it("limit-count cluster: 300 requests over both processes → exactly 100 allowed, the rest 429 with RateLimit fields", async () => {
    const counts = await statuses(`${gateway}/cluster/x`, 300, 12);
    expect(Object.fromEntries(counts)).toEqual({ 200: 100, 429: 200 });
    const refused = await request(`${gateway}/cluster/x`);
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toMatchObject({ error: "rate_limited", plugin: "limit-count" });
    expect(refused.headers["ratelimit-policy"]).toMatch(/q=100;\s*w=60/);
    expect(refused.headers.ratelimit).toMatch(/r=0/);
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
  });

  it("limit-count keyed by CEL: 3 per consumer tier and tenant across both processes; no tenant → per client address", async () => {
    const as = (apikey: string, headers: Record<string, string> = {}) => ({ apikey, ...headers });
    const count = async (n: number, headers: Record<string, string>) =>
      Object.fromEntries(await statuses(`${gateway}/tenant/x`, n, 4, headers));
    expect(await count(8, as(ALICE_KEY, { "x-tenant": "acme" }))).toEqual({ 200: 3, 429: 5 });
    expect(await count(4, as(BOB_KEY, { "x-tenant": "acme" }))).toEqual({ 200: 3, 429: 1 }); // another tier
    expect(await count(1, as(ALICE_KEY, { "x-tenant": "globex" }))).toEqual({ 200: 1 }); // another tenant
    // Without the header the expression errors: the client address (through the trusted proxy) is the key.
    expect(await count(4, as(ALICE_KEY, { "x-forwarded-for": "198.51.100.7" }))).toEqual({ 200: 3, 429: 1 });
    expect(await count(1, as(BOB_KEY, { "x-forwarded-for": "198.51.100.8" }))).toEqual({ 200: 1 });
  });

  it("Redis stopped → fail closed answers 503, fail open lets requests through; back to counting when it returns", async () => {
    await redis.stop();
    try {
      const closed = await request(`${gateway}/closed/x`);
      expect(closed.status).toBe(503);
      expect((await request(`${gateway}/open/x`)).status).toBe(200);
    } finally {
      await redis.start();
    }
    await eventually(async () => (await request(`${gateway}/closed/x`)).status === 200, 10_000, "fail-closed route recovering");
  });

  it("limit-req: rate 1 r/s, burst 2, nodelay → the burst passes, the rest is refused", async () => {
    // Per isolate: send on one connection so one process counts them all.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const one = () =>
      new Promise<number>((resolve, reject) => {
        http
          .get(`${gateway}/req/x`, { agent }, (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
          })
          .on("error", reject);
      });
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) seen.push(await one());
    agent.destroy();
    expect(seen.slice(0, 3)).toEqual([200, 200, 200]);
    expect(seen.slice(3)).toContain(429);
  });

  it("ip-restriction refuses a denied client (through the trusted proxy) with 403; others pass", async () => {
    const denied = await request(`${gateway}/deny/x`, { headers: { "x-forwarded-for": "203.0.113.9" } });
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.body)).toMatchObject({ error: "forbidden" });
    expect((await request(`${gateway}/deny/x`, { headers: { "x-forwarded-for": "198.51.100.1" } })).status).toBe(200);
  });

  it("anti-scraping blocks a scripted client and sends a suspect one to the suspect group", async () => {
    expect((await request(`${gateway}/scrape/x`, { headers: { "user-agent": "curl/8.5", "accept-language": "en" } })).status).toBe(403);
    const suspect = await request(`${gateway}/scrape/x`, { headers: { "user-agent": "Mozilla/5.0" } });
    expect(JSON.parse(suspect.body).upstream).toBe("suspects");
    const browser = await request(`${gateway}/scrape/x`, { headers: { "user-agent": "Mozilla/5.0", "accept-language": "en" } });
    expect(JSON.parse(browser.body).upstream).toBe("main");
  });

  it("proxy-rewrite and response-rewrite: the upstream gets the rewritten path and headers; the client the edited answer", async () => {
    recorder.expect((_req, res) => {
      res.setHeader("x-powered-by", "test");
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    });
    const answer = await request(`${gateway}/api/v2/orders/7?x=1`, { headers: { apikey: ALICE_KEY } });
    expect(answer.status).toBe(200);
    expect(answer.headers["x-served-by"]).toBe("sluice");
    expect(answer.headers["x-powered-by"]).toBeUndefined();
    const seen = recorder.received.at(-1);
    expect(seen?.target).toBe("/internal/orders/7?version=2&x=1");
    const header = (name: string) => seen?.headers.find(([n]) => n.toLowerCase() === name)?.[1];
    expect(header("x-user")).toBe("alice");
    expect(header("x-consumer-username")).toBe("alice");

    await request(`${gateway}/strip/a/b?q=1`);
    expect(recorder.received.at(-1)?.target).toBe("/a/b?q=1");
  });

  it("CORS: a preflight is answered at the gateway, before key-auth; an unknown origin gets no CORS fields", async () => {
    const preflight = await request(`${gateway}/api/v1/x`, {
      method: "OPTIONS",
      headers: { origin: "https://shop.example", "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(200);
    expect(preflight.headers["access-control-allow-origin"]).toBe("https://shop.example");
    expect(preflight.headers["access-control-max-age"]).toBe("600");
    const simple = await request(`${gateway}/api/v1/x`, { headers: { origin: "https://evil.example", apikey: ALICE_KEY } });
    expect(simple.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("bad input: unknown plugin field, invalid regex, a JWT key that is not a key → 400 naming the field, nothing written", async () => {
    const before = await ok(stack.admin.get("/v1/routes"), 200);
    const unknown = await stack.admin.post("/v1/routes", {
      appkey: "shop",
      path: "/bad",
      defaultGroup: "main",
      plugins: { "limit-count": { count: 1, windowSeconds: 1, burst: 3 } },
    });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain("plugins.limit-count");
    const regex = await stack.admin.post("/v1/routes", {
      appkey: "shop",
      path: "/bad",
      defaultGroup: "main",
      plugins: { "anti-scraping": { rules: [{ name: "r", userAgent: "(unclosed", action: "block" }] } },
    });
    expect(regex.status).toBe(400);
    expect(JSON.stringify(regex.body)).toContain("userAgent");
    const jwt = await stack.admin.post("/v1/consumers", {
      name: "mallory",
      credentials: { "jwt-auth": { key: "mallory", algorithm: "RS256", publicKey: "not a key" } },
    });
    expect(jwt.status).toBe(400);
    expect(JSON.stringify(jwt.body)).toContain("publicKey");
    expect(await ok(stack.admin.get("/v1/routes"), 200)).toEqual(before);
    expect((await stack.admin.get("/v1/consumers/mallory")).status).toBe(404);
  });
});
