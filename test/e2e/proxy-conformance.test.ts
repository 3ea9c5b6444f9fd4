/**
 * Proxy conformance (issue 13): one table of HTTP cases through the real gateway (control on
 * PGlite; `workerd serve`, then Bun, then Deno), against an upstream that records exactly what it received and answers
 * exactly what the case says (test/support/recording-upstream.ts). Each case states what a
 * faithful reverse proxy does, as nginx and Envoy do by default: pass redirects and encoded bodies
 * through untouched, stream bodies both ways, keep repeated fields, strip hop-by-hop fields, add
 * only the X-Forwarded-* fields, keep the query byte for byte. A runtime that fails a case is
 * fixed in its entry or listed as a deviation (DEVIATIONS; README, "Proxy conformance"). The client is node:http
 * (it neither decompresses nor follows redirects), one connection per request.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GATEWAY_RUNTIMES, type GatewayRuntime } from "../../worker/launcher/gateway.ts";
import { backends } from "../support/backends.ts";
import { type RecordingUpstream, startRecordingUpstream } from "../support/recording-upstream.ts";
import { ok, type Stack, startStack } from "../support/stack.ts";

const [pglite] = backends();
const ROUTE_TIMEOUT_MS = 1500;
/** Fields the gateway itself sets on the way up (worker/proxy.ts), and the framing the runtime chooses. */
const GATEWAY_SET = new Set([
  "host",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "x-request-id",
  "content-length",
  "transfer-encoding",
]);

/** Where a runtime falls short of a faithful proxy, each pinned by the case that shows it, so a fix shows (README). */
interface Deviations {
  /** Fields the upstream gets that neither the client nor the gateway set. */
  added: string[];
  /** A chunked request body cut off by the client reaches the upstream as complete (not aborted). */
  chunkedAbortEndsCleanly: boolean;
  /** A response body still streaming at the route's total timeout is not cut. */
  bodyOutlivesTimeout: boolean;
  /** The runtime's server answers 400 to a request header block over 64 KiB, before the gateway runs. */
  requestHeadersCappedAt64KiB: boolean;
}

const DEVIATIONS: Record<GatewayRuntime, Deviations> = {
  workerd: { added: [], chunkedAbortEndsCleanly: true, bodyOutlivesTimeout: true, requestHeadersCappedAt64KiB: false },
  // Bun and Deno proxy through node:http (worker/runtime/upstream-fetch.ts), not their fetch(),
  // which add User-Agent, Accept and more that cannot be turned off (oven-sh/bun#17012).
  bun: { added: [], chunkedAbortEndsCleanly: false, bodyOutlivesTimeout: false, requestHeadersCappedAt64KiB: false },
  // Deno.serve refuses a request header block over 64 KiB (400) and has no setting to raise it.
  deno: { added: [], chunkedAbortEndsCleanly: false, bodyOutlivesTimeout: false, requestHeadersCappedAt64KiB: true },
};

interface Reply {
  status: number;
  /** Header lines as received, names lowercased. */
  headers: [string, string][];
  body: Buffer;
  /** The response broke off (a reset or a cut body). */
  broken: boolean;
  /** 100 Continue was received before the final answer. */
  continued: boolean;
}

interface Call {
  method?: string;
  path: string;
  headers?: [string, string][];
  /** A whole body, or chunks written one by one (chunked, no length) with `delayMs` between them. */
  body?: Buffer | { chunks: Buffer[]; delayMs?: number; abortAfter?: number };
  expectContinue?: boolean;
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const field = (headers: [string, string][], name: string) => headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One pass of the table: a runtime, the fields its client sends on every call besides the case's
 * own, and fields the runtime sets for its own upstream hop. On Bun a request carrying User-Agent
 * and Accept goes through Bun's fetch(), which then adds nothing but its hop's `Connection:
 * keep-alive` (HTTP/1.1 connection management, not the client's: nginx likewise sends its own
 * `Connection: close` upstream); any other request through node:http (worker/runtime/bun.ts).
 * Both paths run.
 */
interface Pass {
  runtime: GatewayRuntime;
  name: string;
  clientFields: [string, string][];
  ownHopFields: string[];
}
const PASSES: Pass[] = [
  ...GATEWAY_RUNTIMES.map((runtime) => ({ runtime, name: runtime, clientFields: [], ownHopFields: [] })),
  {
    runtime: "bun",
    name: "bun, client sending User-Agent and Accept (Bun's fetch)",
    clientFields: [
      ["User-Agent", "conformance/1.0"],
      ["Accept", "*/*"],
    ],
    ownHopFields: ["connection"],
  },
];

describe.each(PASSES)("proxy conformance on $name", ({ runtime, clientFields, ownHopFields }) => {
  let stack: Stack;
  let upstream: RecordingUpstream;
  let port: number;
  /** What each runtime adds upstream that the client did not send (reported, and a case fails on any). */
  const added = new Set<string>();

  /** The case's fields, plus this pass's client fields the case does not set itself. */
  function clientHeaders(own: [string, string][]): [string, string][] {
    const named = new Set(own.map(([n]) => n.toLowerCase()));
    return [...own, ...clientFields.filter(([n]) => !named.has(n.toLowerCase()))];
  }

  function call(c: Call): Promise<Reply> {
    return new Promise((resolve) => {
      const headers = clientHeaders(c.headers ?? [["Host", "conf.test"]]);
      const req = http.request({
        host: "127.0.0.1",
        port,
        method: c.method ?? "GET",
        path: c.path,
        headers: headers.flat(),
        agent: false,
        setHost: false,
        maxHeaderSize: 128 * 1024,
      } as http.RequestOptions);
      const reply: Reply = { status: 0, headers: [], body: Buffer.alloc(0), broken: false, continued: false };
      req.on("information", (info) => {
        if (info.statusCode === 100) reply.continued = true;
      });
      req.on("response", (res) => {
        reply.status = res.statusCode ?? 0;
        for (let i = 0; i < res.rawHeaders.length; i += 2)
          reply.headers.push([(res.rawHeaders[i] as string).toLowerCase(), res.rawHeaders[i + 1] as string]);
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("aborted", () => {
          reply.broken = true;
        });
        res.on("error", () => {
          reply.broken = true;
        });
        res.on("close", () => {
          reply.body = Buffer.concat(chunks);
          if (!res.complete) reply.broken = true;
          resolve(reply);
        });
      });
      req.on("error", () => {
        reply.broken = true;
        resolve(reply);
      });
      const body = c.body;
      const send = async () => {
        if (!body) return req.end();
        if (Buffer.isBuffer(body)) return req.end(body);
        for (const [i, chunk] of body.chunks.entries()) {
          if (body.abortAfter === i) {
            req.destroy();
            return;
          }
          req.write(chunk);
          if (body.delayMs) await sleep(body.delayMs);
        }
        req.end();
      };
      if (c.expectContinue) req.on("continue", () => void send());
      else void send();
    });
  }

  /** The fields upstream got that the client did not send and the gateway does not set. */
  function extras(sent: [string, string][], got: [string, string][]): string[] {
    const mine = new Set(clientHeaders(sent).map(([n]) => n.toLowerCase()));
    return [...new Set(got.map(([n]) => n.toLowerCase()))].filter((n) => !mine.has(n) && !GATEWAY_SET.has(n) && !ownHopFields.includes(n));
  }

  beforeAll(async () => {
    upstream = await startRecordingUpstream();
    stack = await startStack(pglite, 1, { gateway: { runtime } });
    port = stack.gateway.port;
    const { admin } = stack;
    await ok(admin.post("/v1/services", { appkey: "conf" }));
    await ok(admin.post("/v1/services/conf/groups", { name: "rec" }));
    await ok(admin.post("/v1/services/conf/groups/rec/instances", { host: "127.0.0.1", port: upstream.port }));
    await ok(admin.post("/v1/routes", { appkey: "conf", path: "/", defaultGroup: "rec", timeoutMs: ROUTE_TIMEOUT_MS }));
    upstream.expect((_req, res) => res.writeHead(200).end("ok"));
    for (let i = 0; i < 100 && (await call({ path: "/ready" })).status !== 200; i++) await sleep(100);
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    await upstream?.close();
    console.log(`headers the runtime added upstream: ${[...added].join(", ") || "none"}`);
  });

  it("passes a redirect through, never following it", async () => {
    upstream.expect((_req, res) => res.writeHead(302, { location: "http://elsewhere.test/x" }).end());
    const reply = await call({ path: "/redirect" });
    expect(reply.status).toBe(302);
    expect(field(reply.headers, "location")).toEqual(["http://elsewhere.test/x"]);
    expect(upstream.received).toHaveLength(1);
  });

  it("passes a gzip body through byte for byte, and adds no Accept-Encoding", async () => {
    const gz = gzipSync(Buffer.from("hello ".repeat(1000)));
    upstream.expect((_req, res) => res.writeHead(200, { "content-encoding": "gzip", "content-type": "text/plain" }).end(gz));
    const sent: [string, string][] = [["Host", "conf.test"]];
    const reply = await call({ path: "/gzip", headers: sent });
    expect(reply.status).toBe(200);
    expect(field(reply.headers, "content-encoding")).toEqual(["gzip"]);
    expect(sha(reply.body)).toBe(sha(gz));
    const got = upstream.received[0]?.headers ?? [];
    expect(field(got, "accept-encoding")).toEqual([]);
  });

  it("keeps the client's Accept-Encoding and the upstream's encoding as they are", async () => {
    const gz = gzipSync(Buffer.from("x".repeat(5000)));
    upstream.expect((_req, res) => res.writeHead(200, { "content-encoding": "gzip" }).end(gz));
    const reply = await call({
      path: "/gzip2",
      headers: [
        ["Host", "conf.test"],
        ["Accept-Encoding", "gzip;q=1.0, br;q=0.5"],
      ],
    });
    expect(sha(reply.body)).toBe(sha(gz));
    expect(field(upstream.received[0]?.headers ?? [], "accept-encoding")).toEqual(["gzip;q=1.0, br;q=0.5"]);
  });

  it("streams a 10 MiB chunked request body with no length, intact", async () => {
    upstream.expect((_req, res, rec) => res.writeHead(200).end(sha(rec.body)));
    const chunks = Array.from({ length: 160 }, (_, i) => Buffer.alloc(64 * 1024, i & 0xff));
    const reply = await call({ method: "POST", path: "/upload", body: { chunks } });
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe(sha(Buffer.concat(chunks)));
    expect(upstream.received[0]?.body.length).toBe(10 * 1024 * 1024);
  });

  it("streams a 10 MiB chunked response body, intact", async () => {
    const chunks = Array.from({ length: 160 }, (_, i) => Buffer.alloc(64 * 1024, (i * 7) & 0xff));
    upstream.expect((_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      for (const c of chunks) res.write(c);
      res.end();
    });
    const reply = await call({ path: "/download" });
    expect(reply.broken).toBe(false);
    expect(sha(reply.body)).toBe(sha(Buffer.concat(chunks)));
  });

  it("answers HEAD with the upstream's headers and no body", async () => {
    upstream.expect((_req, res) => res.writeHead(200, { "content-length": "1234", "x-kind": "head" }).end());
    const reply = await call({ method: "HEAD", path: "/head" });
    expect(reply.status).toBe(200);
    expect(field(reply.headers, "content-length")).toEqual(["1234"]);
    expect(field(reply.headers, "x-kind")).toEqual(["head"]);
    expect(reply.body.length).toBe(0);
    expect(upstream.received[0]?.method).toBe("HEAD");
  });

  it.each([204, 304])("passes a %i through with no body", async (status) => {
    upstream.expect((_req, res) => res.writeHead(status, { etag: '"v1"' }).end());
    const reply = await call({ path: `/empty-${status}` });
    expect(reply.status).toBe(status);
    expect(reply.body.length).toBe(0);
    expect(reply.broken).toBe(false);
  });

  it("handles Expect: 100-continue: the client gets 100, the upstream the body", async () => {
    upstream.expect((_req, res, rec) => res.writeHead(200).end(String(rec.body.length)));
    const body = Buffer.alloc(5000, 1);
    const reply = await call({
      method: "POST",
      path: "/continue",
      headers: [
        ["Host", "conf.test"],
        ["Expect", "100-continue"],
        ["Content-Length", String(body.length)],
      ],
      body,
      expectContinue: true,
    });
    expect(reply.continued).toBe(true);
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe("5000");
  });

  it("keeps repeated response fields apart (Set-Cookie ×3) and repeated request fields", async () => {
    upstream.expect((_req, res) => {
      res.setHeader("set-cookie", ["a=1; Path=/", "b=2; Path=/", "c=3, d=4; Path=/"]);
      res.writeHead(200).end();
    });
    const reply = await call({
      path: "/cookies",
      headers: [
        ["Host", "conf.test"],
        ["X-Multi", "one"],
        ["X-Multi", "two"],
      ],
    });
    expect(field(reply.headers, "set-cookie")).toEqual(["a=1; Path=/", "b=2; Path=/", "c=3, d=4; Path=/"]);
    expect(field(upstream.received[0]?.headers ?? [], "x-multi").join(", ")).toBe("one, two");
  });

  it("strips hop-by-hop fields, those Connection names included, both ways", async () => {
    upstream.expect((_req, res) => res.writeHead(200, { connection: "x-up-hop", "x-up-hop": "1", "x-up-kept": "1" }).end());
    const reply = await call({
      path: "/hop",
      headers: [
        ["Host", "conf.test"],
        ["Connection", "keep-alive, X-Down-Hop"],
        ["X-Down-Hop", "secret"],
        ["Keep-Alive", "timeout=5"],
        ["TE", "trailers"],
        ["Proxy-Connection", "keep-alive"],
        ["X-Kept", "yes"],
      ],
    });
    const got = upstream.received[0]?.headers ?? [];
    for (const name of ["x-down-hop", "keep-alive", "te", "proxy-connection"]) expect([name, field(got, name)]).toEqual([name, []]);
    expect(field(got, "x-kept")).toEqual(["yes"]);
    expect(field(reply.headers, "x-up-hop")).toEqual([]);
    expect(field(reply.headers, "x-up-kept")).toEqual(["1"]);
  });

  it("sets Host to the upstream, X-Forwarded-For/-Proto/-Host, and adds no header the client did not send", async () => {
    upstream.expect((_req, res) => res.writeHead(200).end());
    const sent: [string, string][] = [
      ["Host", "conf.test:8443"],
      ["Accept", "*/*"],
      ["X-Forwarded-For", "203.0.113.9"],
    ];
    const reply = await call({ path: "/xff", headers: sent });
    const got = upstream.received[0]?.headers ?? [];
    expect(field(got, "x-forwarded-for")).toEqual(["203.0.113.9, 127.0.0.1"]);
    expect(field(got, "x-forwarded-proto")).toEqual(["http"]);
    expect(field(got, "x-forwarded-host")).toEqual(["conf.test:8443"]);
    // A request id the client did not send: generated (a UUID), sent upstream and back.
    const [id] = field(got, "x-request-id");
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(field(reply.headers, "x-request-id")).toEqual([id]);
    // Host is the upstream's address, as fetch() sets it (the client's is in X-Forwarded-Host).
    expect(field(got, "host")).toEqual([`127.0.0.1:${upstream.port}`]);
    // Bun's fetch() announces its hop (node:http's Connection is removed): the pass took the path it names.
    if (ownHopFields.includes("connection")) expect(field(got, "connection")).toEqual(["keep-alive"]);
    const extra = extras(sent, got);
    for (const name of extra) added.add(name);
    expect(extra.sort()).toEqual(DEVIATIONS[runtime].added);
  });

  it("keeps a well-formed X-Request-Id and replaces a malformed one, upstream and back", async () => {
    for (const [sent, kept] of [
      ["01HZX3J7K9-trace:42", true],
      ["has space", false],
      ["x".repeat(129), false],
    ] as const) {
      upstream.expect((_req, res) => res.writeHead(200).end());
      const before = upstream.received.length;
      const reply = await call({
        path: "/rid",
        headers: [
          ["Host", "conf.test"],
          ["X-Request-Id", sent],
        ],
      });
      const [up] = field(upstream.received[before]?.headers ?? [], "x-request-id");
      expect(field(reply.headers, "x-request-id")).toEqual([up]);
      if (kept) expect(up).toBe(sent);
      else expect(up).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("forwards the query string byte for byte", async () => {
    upstream.expect((_req, res) => res.writeHead(200).end());
    const query = "?a=%zz&b=+&c;d&e=&f&g=%2F%2f&h=%E2%82%AC&i=a%20b&&j==";
    await call({ path: `/q${query}` });
    expect(upstream.received[0]?.target).toBe(`/q${query}`);
  });

  it("forwards the normalised path: %2e%2e resolved, %61 decoded; %2F refused", async () => {
    upstream.expect((_req, res) => res.writeHead(200).end());
    await call({ path: "/a/%2e%2e/b/%61" });
    expect(upstream.received[0]?.target).toBe("/b/a");
    const refused = await call({ path: "/a%2Fb" });
    expect(refused.status).toBe(400);
  });

  it("carries a 64 KiB header line both ways (deviation on deno: refused on the way in)", async () => {
    const big = "v".repeat(64 * 1024 - 20);
    upstream.expect((_req, res) => res.writeHead(200, { "x-big-back": big }).end());
    const reply = await call({
      path: "/big",
      headers: [
        ["Host", "conf.test"],
        ["X-Big", big],
      ],
    });
    if (DEVIATIONS[runtime].requestHeadersCappedAt64KiB) {
      expect(reply.status).toBe(400);
      expect(upstream.received).toHaveLength(0);
      const back = await call({ path: "/big" });
      expect(field(back.headers, "x-big-back")).toEqual([big]);
      return;
    }
    expect(reply.status).toBe(200);
    expect(field(upstream.received[0]?.headers ?? [], "x-big")).toEqual([big]);
    expect(field(reply.headers, "x-big-back")).toEqual([big]);
  });

  it("passes a client abort mid-body (Content-Length) on: the upstream sees the request end early", async () => {
    upstream.expect((_req, res) => res.writeHead(200).end());
    const next = upstream.next();
    const chunks = Array.from({ length: 20 }, () => Buffer.alloc(16 * 1024, 7));
    const headers: [string, string][] = [
      ["Host", "conf.test"],
      ["Content-Length", String(20 * 16 * 1024)],
    ];
    await call({ method: "POST", path: "/abort-length", headers, body: { chunks, delayMs: 20, abortAfter: 5 } });
    const rec = await Promise.race([next, sleep(5000).then(() => null)]);
    expect(rec?.aborted).toBe(true);
  });

  // Deviation on workerd: a chunked request body whose client disconnects mid-body ends as if
  // complete (workerd's body stream reports EOF, not an error), so the upstream receives the
  // truncated body with a proper end. With a Content-Length (above) the abort does reach it.
  it("passes a client abort mid-body (chunked) on (deviation on workerd: a complete, shorter body)", async () => {
    upstream.expect((_req, res) => res.writeHead(200).end());
    const next = upstream.next();
    const chunks = Array.from({ length: 20 }, () => Buffer.alloc(16 * 1024, 7));
    await call({ method: "POST", path: "/abort", body: { chunks, delayMs: 20, abortAfter: 5 } });
    const rec = await Promise.race([next, sleep(5000).then(() => null)]);
    expect(rec).not.toBeNull();
    expect(rec?.aborted).toBe(!DEVIATIONS[runtime].chunkedAbortEndsCleanly);
    expect(rec?.body.length).toBeLessThan(20 * 16 * 1024);
  });

  it("breaks the client's response off when the upstream resets mid-body", async () => {
    upstream.expect((_req, res) => {
      res.writeHead(200, { "content-length": String(100_000) });
      res.write(Buffer.alloc(10_000, 1));
      setTimeout(() => res.socket?.destroy(), 50);
    });
    const reply = await call({ path: "/reset" });
    expect(reply.status).toBe(200);
    expect(reply.broken).toBe(true);
    expect(reply.body.length).toBeLessThan(100_000);
  });

  // Deviation on workerd: once the response headers are in, aborting the fetch's signal at the
  // route's total deadline does not cut the response body (Envoy's route timeout covers the whole
  // response); a slow upstream body streams on until it ends.
  it("cuts a slow upstream body at the route's total timeout (deviation on workerd: not cut)", async () => {
    upstream.expect((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      const timer = setInterval(() => res.write("x"), 100);
      res.on("close", () => clearInterval(timer));
      setTimeout(() => {
        clearInterval(timer);
        res.end();
      }, ROUTE_TIMEOUT_MS * 2);
    });
    const started = Date.now();
    const reply = await call({ path: "/trickle" });
    expect(reply.status).toBe(200);
    const elapsedMs = Date.now() - started;
    if (DEVIATIONS[runtime].bodyOutlivesTimeout) {
      expect(reply.broken).toBe(false);
      expect(elapsedMs).toBeGreaterThanOrEqual(ROUTE_TIMEOUT_MS * 2 - 100);
    } else {
      expect(reply.broken).toBe(true);
      expect(elapsedMs).toBeLessThan(ROUTE_TIMEOUT_MS * 2 - 100);
    }
  });
});
