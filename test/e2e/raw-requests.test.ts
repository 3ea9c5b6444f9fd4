/**
 * The gateway against malformed and hostile HTTP/1.1, sent byte for byte over raw sockets to the
 * real gateway on every runtime (control on PGlite, one gateway process, two real upstreams on 127.0.0.1):
 * request-smuggling forms, Host fields that are not an authority, bad chunked bodies, oversize
 * headers, odd methods (issue 12, items 3 and 4, and its raw-socket must-show). Whatever the
 * request, Sluice's own code answers no 5xx, no upstream is ejected or has its breaker opened for
 * a client's fault, no request reaches a route its path does not name, and no process dies.
 * (A runtime's own HTTP parser refuses some forms before the gateway sees them: RUNTIME_PARSER.)
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, type UpstreamServer } from "../../control/demo/upstream-server.ts";
import { GATEWAY_RUNTIMES, type GatewayRuntime } from "../../worker/launcher/gateway.ts";
import { backends } from "../support/backends.ts";
import { gatewayStatus, ok, type Stack, startStack, upstreamsSeen } from "../support/stack.ts";

const [pglite] = backends();

interface RawAnswer {
  /** 0 when the connection closed without a status line. */
  status: number;
  head: string;
  body: string;
}

/** Writes `bytes` on a new connection and reads until the peer closes, or `timeoutMs`. */
function raw(port: number, bytes: string | Buffer, timeoutMs = 3000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host: "127.0.0.1", port }, () => socket.write(bytes));
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString("latin1");
      const split = text.indexOf("\r\n\r\n");
      const head = split < 0 ? text : text.slice(0, split);
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0), head, body: split < 0 ? "" : text.slice(split + 4) });
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("end", done);
    socket.on("error", done);
  });
}

/** How each runtime's own HTTP server treats what never reaches the gateway's code. */
interface RuntimeParser {
  /** A 5xx its parser answers before the gateway runs (not Sluice's code), pinned so a change shows. */
  refusal(answer: RawAnswer): boolean;
  /** What CONNECT gets: workerd answers 200 itself and hands the tunnel to `connect()`, which closes it; the others pass it to fetch(), which answers 405. */
  connectStatus: number;
}

const RUNTIME_PARSER: Record<GatewayRuntime, RuntimeParser> = {
  // workerd answers a method it does not know with 501.
  workerd: { refusal: (a) => a.status === 501 && a.body.startsWith("ERROR: Unrecognized request method"), connectStatus: 200 },
  // Bun (uWebSockets) answers a request it cannot parse (bare LF line ends, a NUL in the target)
  // with 505 where 400 would be right; it closes the connection.
  bun: { refusal: (a) => a.status === 505 && /^HTTP\/1\.1 505 HTTP Version Not Supported/.test(a.head), connectStatus: 405 },
  deno: { refusal: () => false, connectStatus: 405 },
};

describe.each(GATEWAY_RUNTIMES)("the gateway on %s against raw malformed requests", (runtime) => {
  let stack: Stack;
  let port: number;
  const upstreams: UpstreamServer[] = [];

  beforeAll(async () => {
    upstreams.push(await startUpstream("public-1"), await startUpstream("admin-1"));
    stack = await startStack(pglite, 1, { gateway: { runtime } });
    port = stack.gateway.port;
    const { admin } = stack;
    await ok(admin.post("/v1/services", { appkey: "raw" }));
    for (const [group, upstream] of [
      ["public", upstreams[0]],
      ["admin", upstreams[1]],
    ] as const) {
      await ok(
        admin.post("/v1/services/raw/groups", {
          name: group,
          balancing: { outlier: { consecutive5xx: 1, consecutiveGatewayFailure: 1, maxEjectionPercent: 100 } },
        }),
      );
      await ok(admin.post(`/v1/services/raw/groups/${group}/instances`, { host: "127.0.0.1", port: (upstream as UpstreamServer).port }));
    }
    await ok(admin.post("/v1/routes", { appkey: "raw", path: "/public", defaultGroup: "public" }));
    await ok(admin.post("/v1/routes", { appkey: "raw", path: "/admin", defaultGroup: "admin" }));
    for (let i = 0; i < 100 && (await fetch(`${stack.gateway.url}/public`)).status !== 200; i++)
      await new Promise((r) => setTimeout(r, 100));
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    await Promise.all(upstreams.map((u) => u.close()));
  });

  const get = (target: string, headers: string[]) => `GET ${target} HTTP/1.1\r\n${headers.map((h) => `${h}\r\n`).join("")}\r\n`;
  const host = "Host: gw.test";
  const cases: [string, string | Buffer][] = [
    // Host fields that are not an authority (RFC 9110 §7.2, RFC 3986 §3.2).
    ["Host with a path and fragment", get("/public/page", ["Host: sec.test/admin#", "Connection: close"])],
    ["Host with userinfo", get("/public/page", ["Host: a@secret.internal", "Connection: close"])],
    ["Host with a query", get("/public/page", ["Host: sec.test?x=/admin", "Connection: close"])],
    ["two Host fields", get("/public", ["Host: a.test", "Host: b.test", "Connection: close"])],
    ["Host: a, b", get("/public", ["Host: a.test, b.test", "Connection: close"])],
    ["Host: a b", get("/public", ["Host: a.test b.test", "Connection: close"])],
    ["empty Host", get("/public", ["Host:", "Connection: close"])],
    ["Host with a port over 65535", get("/public", ["Host: gw.test:99999", "Connection: close"])],
    ["Host with a backslash", get("/public", ["Host: gw.test\\admin", "Connection: close"])],
    // Smuggling forms (RFC 9112 §6.1, §6.3).
    [
      "Content-Length and Transfer-Encoding together",
      `POST /public HTTP/1.1\r\n${host}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\n${host}\r\n\r\n`,
    ],
    [
      "two different Content-Lengths",
      `POST /public HTTP/1.1\r\n${host}\r\nContent-Length: 3\r\nContent-Length: 40\r\nConnection: close\r\n\r\nabc`,
    ],
    [
      "Transfer-Encoding: chunked, identity",
      `POST /public HTTP/1.1\r\n${host}\r\nTransfer-Encoding: chunked, identity\r\nConnection: close\r\n\r\n0\r\n\r\n`,
    ],
    [
      "Transfer-Encoding with a space before the colon",
      `POST /public HTTP/1.1\r\n${host}\r\nTransfer-Encoding : chunked\r\nConnection: close\r\n\r\n0\r\n\r\n`,
    ],
    ["obs-fold continuation line", `GET /public HTTP/1.1\r\n${host}\r\nX-A: 1\r\n x-b: 2\r\nConnection: close\r\n\r\n`],
    ["bare LF line endings", `GET /public HTTP/1.1\n${host}\nConnection: close\n\n`],
    // Bad chunked bodies: the client's fault, not the upstream's (item 3).
    [
      "chunk size that is not hex",
      `POST /public HTTP/1.1\r\n${host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`,
    ],
    [
      "chunk longer than its size",
      `POST /public HTTP/1.1\r\n${host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\nhello\r\n0\r\n\r\n`,
    ],
    [
      "chunk size overflowing 64 bits",
      `POST /public HTTP/1.1\r\n${host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nfffffffffffffffffff\r\nx\r\n0\r\n\r\n`,
    ],
    [
      "body cut short of its Content-Length",
      `POST /public HTTP/1.1\r\n${host}\r\nContent-Length: 1000\r\nConnection: close\r\n\r\nonly this`,
    ],
    // Oversize headers.
    ["a 20 KB header field", get("/public", [host, `X-Big: ${"a".repeat(20_000)}`, "Connection: close"])],
    ["a 100 KB header field", get("/public", [host, `X-Big: ${"a".repeat(100_000)}`, "Connection: close"])],
    ["500 header fields", get("/public", [host, ...Array.from({ length: 500 }, (_, i) => `X-F${i}: v`), "Connection: close"])],
    // Methods.
    ["CONNECT", `CONNECT gw.test:443 HTTP/1.1\r\n${host}\r\nConnection: close\r\n\r\n`],
    ["TRACE", get("/public", [host, "Connection: close"]).replace(/^GET/, "TRACE")],
    ["a lowercase method", get("/public", [host, "Connection: close"]).replace(/^GET/, "get")],
    ["a method with a space", get("/public", [host, "Connection: close"]).replace(/^GET/, "GE T")],
    ["a 10 KB method", get("/public", [host, "Connection: close"]).replace(/^GET/, "X".repeat(10_000))],
    // Request targets.
    ["absolute-form naming another host", get("http://admin.internal/public/x", [host, "Connection: close"])],
    ["asterisk-form", get("*", [host, "Connection: close"])],
    ["a NUL in the path", get("/public/\u0000x", [host, "Connection: close"])],
    ["an encoded slash in the path", get("/public%2F..%2Fadmin", [host, "Connection: close"])],
    ["HTTP/1.0 without Host", "GET /public HTTP/1.0\r\n\r\n"],
    ["HTTP/2 preface on HTTP/1.1", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"],
    ["garbage", Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x01, 0x00, 0x00, 0xfb, 0x03, 0x03])],
  ];

  const answers: [string, RawAnswer][] = [];

  it.each(cases)("%s: no 5xx from Sluice's code", async (name, bytes) => {
    const answer = await raw(port, bytes);
    answers.push([name, answer]);
    if (!RUNTIME_PARSER[runtime].refusal(answer)) expect(answer.status, `${answer.head}\n${answer.body.slice(0, 200)}`).toBeLessThan(500);
    // The admin upstream is reached only through the /admin route.
    expect(answer.body).not.toMatch(/"upstream":"admin-1"/);
  });

  it("routed the Host cases nowhere: each is a 400", () => {
    for (const [name, answer] of answers.filter(([n]) => /Host/.test(n) && !/HTTP\/1\.0/.test(n))) {
      expect([name, answer.status]).toEqual([name, 400]);
    }
  });

  it("refuses TRACE with 405 and Allow; CONNECT gets 405, or on workerd (which answers 200 before the Worker runs) a tunnel closed at once", () => {
    const [, trace] = answers.find(([n]) => n === "TRACE") as [string, RawAnswer];
    expect(trace.status).toBe(405);
    expect(trace.head.toLowerCase()).toContain("allow: get, head, post, put, delete, patch, options");
    const [, connect] = answers.find(([n]) => n === "CONNECT") as [string, RawAnswer];
    expect(connect.status).toBe(RUNTIME_PARSER[runtime].connectStatus);
    if (runtime === "workerd") expect(connect.body).toBe("");
  });

  it("afterwards: no upstream ejected, no breaker opened, both routes answering, no process restarted", async () => {
    const status = await gatewayStatus(stack.gateway.url);
    for (const group of status.balancing.groups) {
      expect([group.name, group.outlierEnforcedCount]).toEqual([group.name, 0]);
      for (const instance of group.instances)
        expect([instance.address, instance.ejected, instance.breaker]).toEqual([instance.address, false, "closed"]);
    }
    expect(await upstreamsSeen(`${stack.gateway.url}/public`, 20, { countErrors: true })).toEqual(new Set(["public-1"]));
    expect(await upstreamsSeen(`${stack.gateway.url}/admin`, 20, { countErrors: true })).toEqual(new Set(["admin-1"]));
    expect(stack.gateway.restarts).toBe(0);
  });

  it("routes and forwards the normalised path: /%61dmin is /admin, dot segments are resolved, %2F is refused (item 11)", async () => {
    const decoded = await raw(port, get("/%61dmin/%7Euser?q=%61", [host, "Connection: close"]));
    expect(decoded.status).toBe(200);
    expect(decoded.body).toMatch(/"upstream":"admin-1"/);
    expect(decoded.body).toMatch(/"path":"\/admin\/~user\?q=%61"/); // the query is forwarded as sent
    const dotted = await raw(port, get("/public/%2e%2e/admin/x", [host, "Connection: close"]));
    expect(dotted.body).toMatch(/"upstream":"admin-1","method":"GET","path":"\/admin\/x"/);
    const encodedSlash = await raw(port, get("/public%2Fx", [host, "Connection: close"]));
    expect(encodedSlash.status).toBe(400);
    expect(encodedSlash.body).toMatch(/encoded slash/);
  });

  it("serves the status document only with the status token (item 5)", async () => {
    const status = `${stack.gateway.url}/__sluice/status`;
    expect((await fetch(status)).status).toBe(401);
    expect((await fetch(status, { headers: { authorization: "Bearer wrong-token-of-the-same-size-0123" } })).status).toBe(401);
    const body = await (await fetch(status)).text();
    expect(body).not.toContain("127.0.0.1");
    expect((await gatewayStatus(stack.gateway.url)).snapshotVersion).not.toBeNull();
  });
});
