/**
 * A fetch() for proxying on Bun and Deno, over their `node:http`/`node:https` clients: it sends
 * upstream exactly what the Worker's Request holds, and hands back exactly what came, as
 * workerd's fetch() does. Both runtime entries (worker/runtime/bun.ts, deno.ts) install it as
 * `globalThis.fetch`, so every fetch() of the Worker (proxying, the snapshot long poll) uses it.
 *
 * Why not the runtime's own fetch(): Bun's always adds `User-Agent: Bun/<v>` and `Accept: *\/*`
 * and cannot be told not to (oven-sh/bun#17012); Deno's adds `Accept`, `Accept-Language`,
 * `User-Agent: Deno/<v>` and `Accept-Encoding` and decompresses what comes back. Their node:http
 * clients add only `Host` and `Connection`, and Connection can be removed.
 * test/e2e/proxy-conformance.test.ts holds the cases.
 *
 * What it does (the fetch standard's, minus what a proxy must not do):
 * - sends the method, the URL's path and query as they are, and the request's fields, less the
 *   hop-by-hop ones (RFC 9110 §7.6.1: Connection, Keep-Alive, Proxy-Connection, TE, Trailer,
 *   Transfer-Encoding, Upgrade) and those Connection names; Host is the URL's authority, as the
 *   fetch standard (and workerd, Deno) set it. Repeated request fields arrive joined with ", "
 *   (Headers keeps them so), which RFC 9110 §5.3 makes equivalent.
 * - streams the request body with backpressure: with its Content-Length when the request has
 *   one, else chunked. A body that fails to read (the client went away) destroys the upstream
 *   request, so the upstream sees the abort.
 * - `signal` (init's or the Request's): aborting destroys the upstream request (the upstream sees
 *   its connection close) and rejects with the signal's reason, or errors a body still streaming
 *   with it, as fetch() does.
 * - never follows a redirect, never decompresses, adds no field.
 * - the Response streams the body with backpressure (paused when 64 KiB wait unread); repeated
 *   fields are kept apart (Set-Cookie ×3, each its own [name, value] pair); hop-by-hop response
 *   fields and those its Connection names are dropped; no body for HEAD, 204, 205 and 304 (a
 *   status a Response cannot carry, outside 200–599, rejects as a failed fetch). An upstream
 *   that resets mid-body errors the stream (the client's answer breaks off).
 * - connections are kept alive and reused (one Agent per protocol, no cap on sockets). A request
 *   without a body that fails on a reused connection before any answer (the upstream closed it
 *   while idle) is sent once more on a fresh one, as Node's docs advise (`reusedSocket`).
 * Errors: a connection failure (refused, reset, DNS) rejects with TypeError("fetch failed",
 * { cause }) like fetch(); worker/attempt.ts classifies a failure by its deadlines and the method,
 * not by the error, so these classify as workerd's do.
 */
import http, { type ClientRequest, type IncomingMessage, type RequestOptions } from "node:http";
import https from "node:https";

/** Hop-by-hop fields (RFC 9110 §7.6.1, and Proxy-Connection): never passed on, either way. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]);
/** Largest header block accepted in an answer, bytes: Cloudflare's 128 KiB, as for requests. */
const MAX_HEADER_BYTES = 128 * 1024;
/** Unread response bytes buffered before the upstream socket is paused. */
const RESPONSE_BUFFER_BYTES = 64 * 1024;
/** Idle kept-alive connections kept per upstream host:port. */
const MAX_FREE_SOCKETS = 256;

const agentOptions = { keepAlive: true, maxSockets: Number.POSITIVE_INFINITY, maxFreeSockets: MAX_FREE_SOCKETS };
const httpAgent = new http.Agent(agentOptions);
const httpsAgent = new https.Agent(agentOptions);

/** The field names a Connection value lists, lowercase. */
function connectionNames(value: string | null): Set<string> | null {
  if (!value) return null;
  const names = new Set<string>();
  for (const raw of value.split(",")) names.add(raw.trim().toLowerCase());
  return names;
}

/**
 * fetch(input, init) over node:http(s), as described above.
 * @throws (rejects) TypeError on a connection failure or a URL that is not http(s); the signal's
 *   reason when it aborts before the answer's headers.
 */
export function upstreamFetch(input: Request | URL | string, init?: RequestInit): Promise<Response> {
  let request: Request;
  try {
    request = input instanceof Request && init === undefined ? input : new Request(input, init);
  } catch (err) {
    return Promise.reject(err);
  }
  const url = new URL(request.url);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return Promise.reject(new TypeError(`fetch: unsupported protocol ${url.protocol}`));
  }
  const signal = request.signal;
  if (signal.aborted) return Promise.reject(signal.reason);

  const headers: Record<string, string | string[]> = { host: url.host };
  const listed = connectionNames(request.headers.get("connection"));
  for (const [name, value] of request.headers) {
    if (name === "host" || HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    headers[name] = value;
  }
  const expect = headers.expect;
  delete headers.expect;
  const body = request.body;
  if (body && headers["content-length"] === undefined) headers["transfer-encoding"] = "chunked";
  const options: RequestOptions = {
    protocol: url.protocol,
    hostname: url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname,
    port: url.port || (url.protocol === "https:" ? 443 : 80),
    method: request.method,
    path: url.pathname + url.search,
    headers,
    agent: url.protocol === "https:" ? httpsAgent : httpAgent,
    maxHeaderSize: MAX_HEADER_BYTES,
  };
  return new Promise<Response>((resolve, reject) => {
    let req: ClientRequest;
    /** Errors the response body once there is one; until then the abort rejects. */
    let cutBody: ((reason: unknown) => void) | null = null;
    // One listener for the whole exchange, removed once the answer has ended or failed.
    const onAbort = () => {
      req.destroy();
      if (cutBody) cutBody(signal.reason);
      else reject(signal.reason);
    };
    const release = () => signal.removeEventListener("abort", onAbort);
    signal.addEventListener("abort", onAbort, { once: true });
    const send = (retry: boolean) => {
      const sent = (url.protocol === "https:" ? https : http).request(options);
      req = sent;
      // node:http adds `Connection: keep-alive`; HTTP/1.1 connections persist without it, and
      // the connection is reused all the same. Expect is set only after that: with Expect among
      // its options node:http sends the header block at once, and it can no longer be changed.
      sent.removeHeader("connection");
      if (expect !== undefined) sent.setHeader("expect", expect);
      sent.on("error", (err: Error & { code?: string }) => {
        if (cutBody || sent !== req || signal.aborted) return;
        // A kept-alive connection the upstream closed while idle: nothing reached it.
        if (retry && !body && sent.reusedSocket && (err.code === "ECONNRESET" || err.code === "EPIPE")) return send(false);
        release();
        reject(new TypeError("fetch failed", { cause: err }));
      });
      sent.once("response", (res: IncomingMessage) => {
        let answer: ReturnType<typeof toResponse>;
        try {
          answer = toResponse(request.method, res, release);
        } catch (err) {
          // A status a Response cannot have (below 200 or above 599): a broken answer.
          release();
          res.destroy();
          return reject(new TypeError("fetch failed: invalid response", { cause: err }));
        }
        cutBody = answer.cut;
        resolve(answer.response);
      });
      if (body) void pump(body, sent);
      else sent.end();
    };
    send(true);
  });
}

/** Writes `body` into `req`, waiting for 'drain' when it is full; a read failure destroys `req`. */
async function pump(body: ReadableStream<Uint8Array>, req: ClientRequest): Promise<void> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (req.destroyed) return void reader.cancel().catch(() => {});
      if (!req.write(value)) {
        await new Promise<void>((resolve) => {
          const go = () => {
            req.off("drain", go);
            req.off("close", go);
            resolve();
          };
          req.on("drain", go);
          req.on("close", go);
        });
      }
    }
    req.end();
  } catch (err) {
    req.destroy(err as Error);
  }
}

/**
 * The Response for `res`: its status and fields, and its body as a stream; `cut(reason)` errors
 * that stream (the signal fired). `release` runs once the body has ended, failed or been cancelled.
 */
function toResponse(method: string, res: IncomingMessage, release: () => void): { response: Response; cut: (reason: unknown) => void } {
  const raw = res.rawHeaders;
  let listed: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === "connection") listed = connectionNames(raw[i + 1] as string);
  }
  // [name, value] pairs: the Response builds its Headers from them in one call, each pair
  // appended, so repeated fields (Set-Cookie) stay apart.
  const headers: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (!HOP_BY_HOP.has(name) && !listed?.has(name)) headers.push([name, raw[i + 1] as string]);
  }
  const status = res.statusCode ?? 502;
  const init = { status, statusText: res.statusMessage ?? "", headers };
  if (method === "HEAD" || status === 204 || status === 205 || status === 304) {
    res.resume();
    release();
    return { response: new Response(null, init), cut: () => {} };
  }
  let settled = false;
  let fail: (reason: unknown) => void = () => {};
  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        fail = (reason) => {
          if (settled) return;
          settled = true;
          release();
          controller.error(reason);
          res.destroy();
        };
        res.on("data", (chunk: Uint8Array) => {
          if (settled) return;
          controller.enqueue(chunk);
          if ((controller.desiredSize ?? 1) <= 0) res.pause();
        });
        res.once("end", () => {
          if (settled) return;
          settled = true;
          release();
          controller.close();
        });
        res.on("error", (err: Error) => fail(new TypeError("upstream connection lost", { cause: err })));
        res.once("close", () => {
          if (!res.complete) fail(new TypeError("upstream connection lost"));
        });
      },
      pull() {
        res.resume();
      },
      cancel() {
        settled = true;
        release();
        res.destroy();
      },
    },
    { highWaterMark: RESPONSE_BUFFER_BYTES, size: (chunk) => chunk.byteLength },
  );
  return { response: new Response(stream, init), cut: (reason) => fail(reason) };
}
