/**
 * The gateway on Bun: `bun worker/runtime/bun.ts`, one process per core on one port (Bun's
 * `reusePort`; worker/launcher/bun.ts starts and supervises them). It serves the same Gateway as
 * the Worker (worker/index.ts), with what workerd would otherwise provide:
 * - the bindings, read from the environment under their binding names (CONTROL_URL,
 *   GATEWAY_TOKEN, SNAPSHOT_PUBLIC_KEY, SNAPSHOT_*, TRUSTED_PROXIES, ZONE, STATUS_TOKEN …:
 *   worker/env.ts); SLUICE_GATEWAY_HOST (127.0.0.1) and SLUICE_GATEWAY_PORT (8080) say where
 *   to listen;
 * - hotpath.wasm, compiled once at start (build/hotpath.wasm, or SLUICE_HOTPATH_WASM): outside
 *   Workers compiling at run time is allowed;
 * - `ctx.waitUntil`: the promise is held until it settles, a rejection is logged;
 * - the connection's peer as `request.cf.clientIp` ("ip:port"), where self-hosted workerd puts
 *   it, so worker/client-ip.ts connectionPeer reads it unchanged;
 * - a fetch() that sends upstream exactly what the Worker asks, as workerd's does: Bun's own
 *   where it adds nothing (nativeFetchFits), else worker/runtime/upstream-fetch.ts.
 * @throws at start when a required binding is missing or malformed (worker/env.ts readConfig)
 *   or the WASM file cannot be read or compiled.
 */
import { type Env, readConfig } from "../env.ts";
import { Gateway } from "../gateway.ts";
import { backgroundContext } from "./background.ts";
import { bunConnect } from "./bun-socket.ts";
import { exitWhenStdinEnds } from "./parent-guard.ts";
import { upstreamFetch } from "./upstream-fetch.ts";

const wasmPath = Bun.env.SLUICE_HOTPATH_WASM || new URL("../../build/hotpath.wasm", import.meta.url).pathname;

/**
 * Hop-by-hop request fields (RFC 9110 §7.6.1) that workerd's fetch() drops itself and Bun's
 * would send on, and Host, which Bun's would take from the Request rather than from its URL.
 */
const NOT_SENT_UPSTREAM = ["host", "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];
const bunFetch = globalThis.fetch;

/**
 * Whether Bun's own fetch() would send `request` upstream unchanged. It adds exactly two fields,
 * `User-Agent: Bun/<v>` and `Accept: *\/*`, and only when the request has none
 * (oven-sh/bun#17012); with `decompress: false` it adds no Accept-Encoding and decompresses
 * nothing. Besides them it sets only its own hop's Connection, as any proxy does. So a request
 * that carries both fields — what browsers, curl and most SDKs send — goes through it, at 2.4×
 * less CPU than node:http (bench/RESULTS.md, issue 13); the others through upstreamFetch.
 */
function nativeFetchFits(request: Request): boolean {
  const headers = request.headers;
  return headers.has("user-agent") && headers.has("accept");
}

// Every fetch() of the Worker (proxying, snapshot polls) comes here: exactly what the Worker asks
// goes upstream, by the cheapest client that sends nothing else.
globalThis.fetch = ((input: Request | URL | string, init?: RequestInit) => {
  if (init !== undefined || !(input instanceof Request) || !nativeFetchFits(input)) return upstreamFetch(input, init);
  const headers = input.headers;
  // The fields a Connection header names are already gone (worker/proxy.ts upstreamRequest).
  for (const name of NOT_SENT_UPSTREAM) headers.delete(name);
  return bunFetch(input, { decompress: false } as RequestInit);
}) as typeof fetch;

const gateway = new Gateway(
  readConfig(Bun.env as unknown as Env),
  await WebAssembly.compile(await Bun.file(wasmPath).arrayBuffer()),
  undefined,
  { connect: bunConnect, reuseConnection: true },
);

/** Background work (the snapshot poll loop), held until it settles. */
const ctx = backgroundContext();

if (Bun.env.SLUICE_EXIT_WITH_LAUNCHER === "1") void exitWhenStdinEnds(Bun.stdin.stream(), () => process.exit(0));

const server = Bun.serve({
  hostname: Bun.env.SLUICE_GATEWAY_HOST || "127.0.0.1",
  port: Number(Bun.env.SLUICE_GATEWAY_PORT || 8080),
  reusePort: true,
  // Bun closes a connection idle for 10 s by default, which would cut a proxied request whose
  // upstream is slower; the route's timeout bounds requests, as under workerd.
  idleTimeout: 0,
  fetch(request, srv) {
    const peer = srv.requestIP(request);
    if (peer) {
      const host = peer.family === "IPv6" ? `[${peer.address}]` : peer.address;
      // Requests are fresh objects per call; `cf` is read-only on Workers, so nothing else sets it.
      Object.defineProperty(request, "cf", { value: { clientIp: `${host}:${peer.port}` } });
    }
    return gateway.handle(request, ctx);
  },
});
console.log(`sluice gateway (bun) on ${server.url.href}`);
