/**
 * worker/runtime/upstream-fetch.ts on Node's node:http (the module Bun's and Deno's entries
 * install as fetch; test/e2e/proxy-conformance.test.ts runs it on those runtimes): what it sends,
 * what it hands back, and how it fails, against a real server on 127.0.0.1.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upstreamFetch } from "../../../worker/runtime/upstream-fetch.ts";

interface Seen {
  method: string;
  target: string;
  headers: string[];
  body: Buffer;
  aborted: boolean;
}

let server: http.Server;
let base: string;
let answer: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_req, res) => res.end("ok");
let seen: Seen[] = [];
const waiters: ((s: Seen) => void)[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const s: Seen = { method: req.method ?? "", target: req.url ?? "", headers: req.rawHeaders, body: Buffer.alloc(0), aborted: false };
    const chunks: Buffer[] = [];
    const done = () => {
      s.body = Buffer.concat(chunks);
      seen.push(s);
      for (const w of waiters.splice(0)) w(s);
    };
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      done();
      answer(req, res);
    });
    req.on("aborted", () => {
      s.aborted = true;
      done();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const next = () => new Promise<Seen>((r) => waiters.push(r));
const names = (raw: string[]) => raw.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());

describe("upstreamFetch", () => {
  it("sends the method, target and fields as given, less hop-by-hop ones, and adds none", async () => {
    seen = [];
    answer = (_req, res) => res.end("ok");
    const res = await upstreamFetch(`${base}/a/%7e?x=%zz&y=+&&z`, {
      method: "DELETE",
      headers: { Host: "client.test", Connection: "keep-alive, X-Hop", "X-Hop": "1", TE: "trailers", "X-Kept": "yes" },
    });
    expect(await res.text()).toBe("ok");
    const s = seen[0] as Seen;
    expect(s.method).toBe("DELETE");
    expect(s.target).toBe("/a/%7e?x=%zz&y=+&&z");
    expect(names(s.headers).sort()).toEqual(["host", "x-kept"]);
    expect(s.headers[s.headers.indexOf("host") + 1]).toBe(new URL(base).host);
  });

  it("streams a body of unknown length chunked, and keeps a declared length", async () => {
    seen = [];
    answer = (req, res) => res.end(req.headers["transfer-encoding"] ?? `length ${req.headers["content-length"]}`);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 4; i++) c.enqueue(new Uint8Array(100_000).fill(i));
        c.close();
      },
    });
    const chunked = await upstreamFetch(new Request(`${base}/up`, { method: "POST", body: stream, duplex: "half" } as RequestInit));
    expect(await chunked.text()).toBe("chunked");
    expect(seen[0]?.body.length).toBe(400_000);
    const sized = await upstreamFetch(`${base}/up`, { method: "PUT", headers: { "content-length": "3" }, body: "abc" });
    expect(await sized.text()).toBe("length 3");
  });

  it("hands back repeated fields apart, encoded bodies as they are, redirects unfollowed", async () => {
    const gz = gzipSync("hello");
    answer = (_req, res) => {
      res.setHeader("set-cookie", ["a=1", "b=2", "c=3, d=4"]);
      res.writeHead(302, { location: "/elsewhere", "content-encoding": "gzip", connection: "x-up", "x-up": "1" }).end(gz);
    };
    const res = await upstreamFetch(`${base}/r`);
    expect(res.status).toBe(302);
    expect(res.headers.getSetCookie()).toEqual(["a=1", "b=2", "c=3, d=4"]);
    expect(res.headers.get("location")).toBe("/elsewhere");
    expect(res.headers.has("x-up")).toBe(false);
    expect(res.headers.has("connection")).toBe(false);
    expect(Buffer.from(await res.arrayBuffer()).equals(gz)).toBe(true);
  });

  it("gives no body for HEAD and 204", async () => {
    answer = (req, res) => res.writeHead(req.method === "HEAD" ? 200 : 204, { "content-length": req.method === "HEAD" ? "5" : "0" }).end();
    const head = await upstreamFetch(`${base}/h`, { method: "HEAD" });
    expect(head.body).toBeNull();
    expect(head.headers.get("content-length")).toBe("5");
    expect((await upstreamFetch(`${base}/n`)).body).toBeNull();
  });

  it("rejects with a TypeError on a status no Response can carry", async () => {
    answer = (_req, res) => res.writeHead(600).end("odd");
    await expect(upstreamFetch(`${base}/odd`)).rejects.toBeInstanceOf(TypeError);
  });

  it("rejects with a TypeError when the connection is refused", async () => {
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const err = await upstreamFetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(((err as TypeError).cause as { code: string }).code).toBe("ECONNREFUSED");
  });

  it("aborts: rejects with the signal's reason and the upstream sees the request cut", async () => {
    answer = () => {}; // never answers
    const controller = new AbortController();
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array(10));
      },
    });
    const arrived = next();
    const pending = upstreamFetch(
      new Request(`${base}/slow`, { method: "POST", body, duplex: "half", signal: controller.signal } as RequestInit),
    );
    setTimeout(() => controller.abort(new DOMException("per-try timeout", "TimeoutError")), 100);
    const err = await pending.catch((e: unknown) => e);
    expect((err as DOMException).name).toBe("TimeoutError");
    expect((await arrived).aborted).toBe(true);
  });

  it("errors the body when the upstream resets mid-body, or the signal fires after the headers", async () => {
    answer = (_req, res) => {
      res.writeHead(200, { "content-length": "100000" });
      res.write(Buffer.alloc(1000));
      setTimeout(() => res.socket?.destroy(), 50);
    };
    const reset = await upstreamFetch(`${base}/reset`);
    await expect(reset.arrayBuffer()).rejects.toThrow();
    answer = (_req, res) => {
      res.writeHead(200);
      res.write("x");
    };
    const controller = new AbortController();
    const cut = await upstreamFetch(`${base}/trickle`, { signal: controller.signal });
    setTimeout(() => controller.abort(new DOMException("total timeout", "TimeoutError")), 50);
    await expect(cut.text()).rejects.toMatchObject({ name: "TimeoutError" });
  });

  it("sends a bodiless request again when a kept-alive connection was closed while idle", async () => {
    answer = (_req, res) => res.end("ok");
    expect(await (await upstreamFetch(`${base}/one`)).text()).toBe("ok");
    // The server drops its idle connections; the next request may be written on a dead one.
    server.closeIdleConnections();
    expect(await (await upstreamFetch(`${base}/two`)).text()).toBe("ok");
  });
});
