/**
 * The queue-proxy (agents/functions/queue-proxy.ts) against a plain node:http upstream: bodies
 * stream both ways, end-to-end headers pass and hop-by-hop ones do not, a queued client that
 * gives up leaves the queue, and an upstream that is not there is a 503/502, never a hang.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QueueProxy } from "../../../agents/functions/queue-proxy.ts";
import { waitFor } from "./fake-control.ts";

let upstream: http.Server;
let upstreamPort: number;
/** Requests the upstream holds until the test releases them (path /hold). */
const held: http.ServerResponse[] = [];
const proxies: QueueProxy[] = [];
const TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

beforeAll(async () => {
  upstream = http.createServer(async (req, res) => {
    if (req.url === "/hold") {
      held.push(res);
      return;
    }
    let body = "";
    for await (const chunk of req) body += chunk;
    res.writeHead(200, { "content-type": "application/json", "x-upstream": "yes" });
    res.end(JSON.stringify({ method: req.method, body, headers: req.headers }));
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  upstreamPort = (upstream.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const res of held) res.end();
  await Promise.all(proxies.map((p) => p.close()));
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

async function proxy(limit: number, port: number | null = upstreamPort): Promise<{ proxy: QueueProxy; url: string }> {
  const p = new QueueProxy({ host: "127.0.0.1", limit, upstream: async () => port });
  proxies.push(p);
  return { proxy: p, url: `http://127.0.0.1:${await p.listen()}` };
}

describe("queue-proxy", () => {
  it("streams a request body through and keeps end-to-end headers, dropping hop-by-hop ones", async () => {
    const { proxy: p, url } = await proxy(0);
    // node:http, not fetch: undici refuses to send hop-by-hop headers at all.
    // biome-ignore lint/suspicious/noExplicitAny: the echoed JSON.
    const { headers, echoed } = await new Promise<{ headers: http.IncomingHttpHeaders; echoed: Record<string, any> }>((resolve, reject) => {
      const req = http.request(`${url}/echo?q=1`, {
        method: "POST",
        headers: { "x-request-id": "r-1", traceparent: TRACEPARENT, "keep-alive": "timeout=5", "proxy-connection": "keep-alive" },
        timeout: 5000,
      });
      req.once("response", async (res) => {
        let text = "";
        for await (const chunk of res) text += chunk;
        resolve({ headers: res.headers, echoed: JSON.parse(text) });
      });
      req.once("error", reject);
      // Streamed in chunks: the proxy must pass a chunked body on.
      for (let i = 0; i < 10; i++) req.write("x".repeat(10_000));
      req.end();
    });
    expect(headers["x-upstream"]).toBe("yes");
    expect(echoed.method).toBe("POST");
    expect(echoed.body).toHaveLength(100_000);
    expect(echoed.headers).toMatchObject({ "x-request-id": "r-1", traceparent: TRACEPARENT });
    expect(echoed.headers["keep-alive"]).toBeUndefined();
    expect(echoed.headers["proxy-connection"]).toBeUndefined();
    expect(p.takeLoad()).toMatchObject({ requests: 1, rejected: 0, inFlight: 0 });
  });

  it("drops a queued request whose client went away, and the next one still runs", async () => {
    const { proxy: p, url } = await proxy(1);
    const first = fetch(`${url}/hold`, { signal: AbortSignal.timeout(5000) });
    await waitFor("the first held upstream", () => held.length === 1);
    const quitter = new AbortController();
    const gaveUp = fetch(`${url}/echo`, { signal: quitter.signal }).catch(() => "aborted");
    await waitFor("one queued", () => p.queued === 1);
    quitter.abort();
    expect(await gaveUp).toBe("aborted");
    await waitFor("queue empty", () => p.queued === 0);
    const next = fetch(`${url}/echo`, { signal: AbortSignal.timeout(5000) });
    await waitFor("next queued", () => p.queued === 1);
    held.shift()?.end("done");
    expect((await first).status).toBe(200);
    expect((await next).status).toBe(200);
    await p.idle();
    expect(p.inFlight).toBe(0);
  });

  it("answers 503 unavailable without an upstream and 502 when the upstream refuses connections", async () => {
    const none = await proxy(0, null);
    const res = await fetch(`${none.url}/`, { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: "unavailable" });
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await proxy(0, deadPort);
    const bad = await fetch(`${refused.url}/`, { signal: AbortSignal.timeout(5000) });
    expect(bad.status).toBe(502);
    expect(await bad.json()).toMatchObject({ error: "upstream" });
  });
});
