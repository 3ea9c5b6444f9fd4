/**
 * The six Oceanus scenarios of Meituan's routing-policy article (README, "What Sluice is"), end to end with real
 * parts: policies and routes through control's REST API (PGlite), the signed snapshot, the
 * gateway Worker in real `workerd serve`, real HTTP upstreams on 127.0.0.1.
 *   1. flash-sale pressure tests routed by a header to a stress group;
 *   2. delivery traffic isolated by region id, read from the JSON or form body (capped, and
 *      forwarded byte for byte);
 *   3. a new app version grayed to 0.1 % of users by bucket(), the same users every time;
 *   4. QA requests forwarded by a custom parameter to a lane;
 *   5. a graylist verification, then the release to everyone;
 *   6. a policy switched off and on.
 * Plus request.ip through a trusted proxy, and errors counted, never a 5xx.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, type UpstreamServer } from "../../control/demo/upstream-server.ts";
import { bucketOf } from "../../wasm/reference/bucket.ts";
import { backends } from "../support/backends.ts";
import { type Answer, eventually, gatewayStatus, ok, type Stack, send as sendTo, startStack } from "../support/stack.ts";

const GROUPS = ["main", "stress", "north", "south", "v520", "qa", "checkout-v2", "office"] as const;

describe("Oceanus scenarios through the gateway", () => {
  const [backend] = backends();
  let stack: Stack;
  const upstreams: Record<string, UpstreamServer> = {};

  const send = async (path: string, init: RequestInit = {}): Promise<Answer> => sendTo(`${stack.gateway.url}${path}`, init);
  const policy = (name: string, fields: Record<string, unknown>) =>
    ok(stack.admin.post("/v1/policies", { name, category: "private", appkey: "deal", ...fields }));

  beforeAll(async () => {
    for (const g of GROUPS) upstreams[g] = await startUpstream(g);
    // The gateway believes X-Forwarded-For from 127.0.0.1: the test client plays the proxy.
    stack = await startStack(backend as NonNullable<typeof backend>, 1, { gateway: { trustedProxies: "127.0.0.1" } });
    const { admin } = stack;
    await ok(admin.post("/v1/services", { appkey: "deal" }));
    for (const g of GROUPS) {
      await ok(admin.post("/v1/services/deal/groups", { name: g }));
      await ok(admin.post(`/v1/services/deal/groups/${g}/instances`, { host: "127.0.0.1", port: (upstreams[g] as UpstreamServer).port }));
    }
    // 1. Flash sale: the pressure-test tool marks its requests with a header.
    await policy("flash-sale-stress", { key: "X-Stress-Test", passway: "header", condition: 'key == "1"', group: "stress" });
    // 2. Delivery: north China (Beijing 11xxxx, Tianjin 12xxxx) and Guangdong (44xxxx) by region id in the body.
    await policy("region-north", { key: "order.regionId", passway: "body", condition: "int(key) / 10000 in [11, 12]", group: "north" });
    await policy("region-south", {
      key: "order.regionId",
      passway: "body",
      condition: "int(key) >= 440000 && int(key) < 450000",
      group: "south",
    });
    // 3. The new app version for 0.1 % of its users, sticky by user id.
    await policy("app-520-gray", {
      key: "uid",
      passway: "cookie",
      condition: 'request.header["x-app-version"] == "5.2.0" && bucket(key, 1000) < 1',
      group: "v520",
    });
    // 4. QA: a custom parameter names the lane.
    await policy("qa-lane", { key: "lane", passway: "query", condition: 'key.matches("^qa-[0-9]+$")', group: "qa" });
    // 5. A new checkout, verified first by two testers.
    await policy("checkout-v2", {
      key: "x-uid",
      passway: "header",
      condition: 'request.path.startsWith("/deal/checkout")',
      group: "checkout-v2",
      graylist: ["tester-1", "tester-2"],
    });
    // The office network, by client address through the trusted proxy.
    await policy("office", { key: "uid", passway: "cookie", condition: 'cidr("203.0.113.0/24").contains(request.ip)', group: "office" });
    await ok(
      admin.post("/v1/routes", {
        appkey: "deal",
        path: "/deal",
        defaultGroup: "main",
        bodyCapBytes: 4096,
        policies: ["flash-sale-stress", "region-north", "region-south", "app-520-gray", "qa-lane", "checkout-v2", "office"],
      }),
    );
    await eventually(async () => (await send("/deal/x", { headers: { "x-stress-test": "1" } })).upstream === "stress", 10_000);
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    await Promise.all(Object.values(upstreams).map((u) => u.close()));
  });

  it("1. flash-sale pressure tests go to the stress group by header; real buyers do not", async () => {
    expect((await send("/deal/buy", { headers: { "x-stress-test": "1" } })).upstream).toBe("stress");
    expect((await send("/deal/buy", { headers: { "x-stress-test": "0" } })).upstream).toBe("main");
    expect((await send("/deal/buy")).upstream).toBe("main");
  });

  it("2. delivery orders are isolated by the region id in the body (JSON and form), forwarded byte for byte", async () => {
    const json = (regionId: unknown, extra = "") =>
      send("/deal/order", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: `{"order": {"regionId": ${JSON.stringify(regionId)}, "items": [1, 2]}${extra}}`,
      });
    expect((await json(110105)).upstream).toBe("north"); // Beijing
    expect((await json("120101")).upstream).toBe("north"); // Tianjin, as a string
    expect((await json(440305)).upstream).toBe("south"); // Shenzhen
    expect((await json(310101)).upstream).toBe("main"); // Shanghai
    const form = await send("/deal/order", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "order.regionId=440106&note=%E5%BF%AB",
    });
    expect(form.upstream).toBe("south");
    // Over the route's 4 KiB cap the key is absent (the policy does not apply, no 5xx)
    // and the whole body still reaches the upstream.
    const padding = `, "pad": "${"x".repeat(10_000)}"`;
    const big = `{"order": {"regionId": 110105, "items": [1, 2]}${padding}}`;
    const over = await json(110105, padding);
    expect(over.status).toBe(200);
    expect(over.upstream).toBe("main");
    expect(over.body.bodyBytes).toBe(Buffer.byteLength(big));
    expect(over.body.bodySha256).toBe(createHash("sha256").update(big).digest("hex"));
    // Under the cap too: read for routing, forwarded unchanged.
    const small = `{"order": {"regionId": 110105, "items": [1, 2]}}`;
    const under = await json(110105);
    expect(under.body.bodySha256).toBe(createHash("sha256").update(small).digest("hex"));
    // Streamed without a Content-Length, larger than the cap: read up to the cap, all forwarded.
    const chunks = Array.from({ length: 40 }, (_, i) => `${i}`.padEnd(500, "-"));
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        const next = chunks.shift();
        if (next === undefined) c.close();
        else c.enqueue(new TextEncoder().encode(next));
      },
    });
    const streamed = await send("/deal/order", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(streamed.upstream).toBe("main");
    expect(streamed.body.bodyBytes).toBe(40 * 500);
  });

  it("3. version 5.2.0 reaches 0.1 % of users, the same users every time", async () => {
    const uids = Array.from({ length: 3000 }, (_, i) => `u${100000 + i}`);
    const expected = new Set(uids.filter((u) => (bucketOf(u, 1000) as number) < 1));
    expect(expected.size).toBeGreaterThan(0);
    const ask = (uid: string, version = "5.2.0") => send("/deal/home", { headers: { cookie: `uid=${uid}`, "x-app-version": version } });
    const gray = new Set<string>();
    for (let i = 0; i < uids.length; i += 100) {
      const answers = await Promise.all(uids.slice(i, i + 100).map((u) => ask(u)));
      answers.forEach((a, j) => {
        if (a.upstream === "v520") gray.add(uids[i + j] as string);
      });
    }
    expect(gray).toEqual(expected); // exactly control's bucket(): identical hashing in every isolate
    for (const uid of expected) {
      expect((await ask(uid)).upstream).toBe("v520"); // sticky
      expect((await ask(uid, "5.1.9")).upstream).toBe("main"); // only the new version is grayed
    }
  });

  it("4. QA requests carrying a lane parameter go to the QA lane", async () => {
    expect((await send("/deal/list?lane=qa-17")).upstream).toBe("qa");
    expect((await send("/deal/list?lane=qa-x")).upstream).toBe("main");
    expect((await send("/deal/list?lane=prod")).upstream).toBe("main");
  });

  it("5. a graylist verifies with two testers, then releases to everyone", async () => {
    const as = (uid: string) => send("/deal/checkout/pay", { headers: { "x-uid": uid } });
    expect((await as("tester-1")).upstream).toBe("checkout-v2");
    expect((await as("tester-2")).upstream).toBe("checkout-v2");
    expect((await as("buyer-9")).upstream).toBe("main");
    expect((await send("/deal/cart", { headers: { "x-uid": "tester-1" } })).upstream).toBe("main"); // condition false
    await ok(stack.admin.patch("/v1/policies/checkout-v2", { graylist: [] }), 200);
    await eventually(async () => (await as("buyer-9")).upstream === "checkout-v2");
    // Released, but still a policy about its key: a request without x-uid is not its business.
    expect((await send("/deal/checkout/pay")).upstream).toBe("main");
  });

  it("6. a policy switched off sends its traffic back to the default group, and on again", async () => {
    const lane = () => send("/deal/list?lane=qa-3");
    expect((await lane()).upstream).toBe("qa");
    await ok(stack.admin.patch("/v1/policies/qa-lane", { enabled: false }), 200);
    await eventually(async () => (await lane()).upstream === "main");
    await ok(stack.admin.patch("/v1/policies/qa-lane", { enabled: true }), 200);
    await eventually(async () => (await lane()).upstream === "qa");
  });

  it("request.ip: X-Forwarded-For is believed from the trusted proxy (127.0.0.1), last untrusted hop first", async () => {
    // The office policy is keyed on the uid cookie: requests carry it, so request.ip decides.
    const from = (xff?: string) =>
      send("/deal/a", { headers: { cookie: "uid=u1", ...(xff === undefined ? {} : { "x-forwarded-for": xff }) } });
    expect((await from("203.0.113.9")).upstream).toBe("office");
    expect((await from("203.0.113.9, 198.51.100.4")).upstream).toBe("main");
    expect((await from("198.51.100.4, 203.0.113.9, 127.0.0.1")).upstream).toBe("office");
    expect((await from()).upstream).toBe("main"); // the peer, 127.0.0.1
    // Without its key the policy does not apply, whatever the address.
    expect((await send("/deal/a", { headers: { "x-forwarded-for": "203.0.113.9" } })).upstream).toBe("main");
  });

  it("condition errors are counted, never a 5xx", async () => {
    const status = async () => (await gatewayStatus(stack.gateway.url)) as { conditionErrors: number };
    const before = (await status()).conditionErrors;
    // A region that is not a number: int(key) errs in region-north and region-south (counted);
    // the request still reaches the default group.
    const r = await send("/deal/order", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"order": {"regionId": "north"}}',
    });
    expect(r.status).toBe(200);
    expect(r.upstream).toBe("main");
    expect((await status()).conditionErrors).toBeGreaterThan(before);
  });

  it("admission refuses a condition outside the subset with 400, the field, the position and the reason", async () => {
    const r = await stack.admin.post("/v1/policies", {
      name: "bad-regex",
      category: "public",
      key: "uid",
      passway: "query",
      condition: 'key.matches("(a+)\\\\1")',
      group: "main",
    });
    expect(r.status).toBe(400);
    const text = JSON.stringify(r.body);
    expect(text).toContain("condition");
    expect(text).toMatch(/backreferences have no linear-time automaton/);
    expect(text).toMatch(/position/);
  });
});
