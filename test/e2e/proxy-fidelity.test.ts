/**
 * What an upstream receives and a client gets back through the gateway, on each runtime: the
 * runtime's fetch() must not add request fields of its own (beyond the ones recorded below),
 * decompress a compressed answer or follow a redirect. Real gateway processes (stackCases),
 * an upstream on node:http that reports the raw header names it received.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GatewayRuntime } from "../../worker/launcher/gateway.ts";
import { eventually, ok, type Stack, stackCases, startStack } from "../support/stack.ts";

const GZIPPED = gzipSync("hello from upstream ".repeat(50));

/**
 * Request fields the upstream sees that the client did not send, besides X-Forwarded-*, per
 * runtime. Bun's fetch() always sends User-Agent and Accept (`Bun/1.4.4`, `*\/*`) when the
 * request has none, and cannot be told not to (oven-sh/bun#17012), and its own Connection.
 */
const ADDED_BY_RUNTIME: Record<GatewayRuntime, string[]> = {
  workerd: [],
  bun: ["accept", "connection", "user-agent"],
};

describe.each(stackCases().filter((c) => c.backend.name === "pglite"))("proxy fidelity: $name", ({ backend, runtime }) => {
  let stack: Stack;
  let upstream: http.Server;
  const followed: string[] = [];

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      if (req.url === "/gzip") return res.writeHead(200, { "content-encoding": "gzip", "content-type": "text/plain" }).end(GZIPPED);
      if (req.url === "/redirect") return res.writeHead(302, { location: "/elsewhere" }).end();
      if (req.url === "/elsewhere") followed.push(req.url);
      // Names as they came on the wire, lowercase, in order.
      const names = req.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ names }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    stack = await startStack(backend, 2, { gateway: { runtime } });
    await ok(stack.admin.post("/v1/services", { appkey: "fidelity" }));
    await ok(stack.admin.post("/v1/services/fidelity/groups", { name: "up" }));
    const port = (upstream.address() as AddressInfo).port;
    await ok(stack.admin.post("/v1/services/fidelity/groups/up/instances", { host: "127.0.0.1", port }));
    await ok(stack.admin.post("/v1/routes", { appkey: "fidelity", path: "/", defaultGroup: "up" }));
    await eventually(async () => (await fetch(`${stack.gateway.url}/echo`)).status === 200);
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    upstream?.closeAllConnections();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  it("adds no request field the client did not send, but X-Forwarded-* and the runtime's recorded ones", async () => {
    // node:http without an agent sends exactly Host, these fields and `Connection: close`.
    const answer = await get(`${stack.gateway.url}/echo`, { "x-sent": "1" });
    const names = (JSON.parse(answer.body.toString()) as { names: string[] }).names;
    const added = names.filter((n) => !["host", "x-sent"].includes(n) && !n.startsWith("x-forwarded-"));
    expect(added.sort()).toEqual(ADDED_BY_RUNTIME[runtime]);
    expect(names).toContain("x-sent");
  });

  it("passes a gzip answer through byte for byte, Content-Encoding kept", async () => {
    const res = await get(`${stack.gateway.url}/gzip`, { "accept-encoding": "gzip" });
    expect(res.headers["content-encoding"]).toBe("gzip");
    expect(res.body.equals(GZIPPED)).toBe(true);
  });

  it("passes a 302 through without following it", async () => {
    const res = await fetch(`${stack.gateway.url}/redirect`, { redirect: "manual" });
    await res.body?.cancel();
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/elsewhere");
    expect(followed).toEqual([]);
  });
});

/** A GET over a connection of its own (no agent), the answer's body as received: node:http does not decompress. */
function get(url: string, headers: Record<string, string>): Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, agent: false }, (r) => {
        const chunks: Buffer[] = [];
        r.on("data", (c: Buffer) => chunks.push(c));
        r.on("end", () => resolve({ headers: r.headers, body: Buffer.concat(chunks) }));
      })
      .once("error", reject);
  });
}
