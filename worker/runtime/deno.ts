/**
 * The gateway on Deno: `deno run worker/runtime/deno.ts` (with the permissions
 * worker/launcher/deno.ts grants), one process per core on one port (Deno.serve's `reusePort`;
 * the launcher starts and supervises them). It serves the same Gateway as the Worker
 * (worker/index.ts), with what workerd would otherwise provide:
 * - the bindings, read from the environment under their binding names (worker/env.ts
 *   BINDING_NAMES); only those the process may read (--allow-env) are asked for, the others are
 *   unset. SLUICE_GATEWAY_HOST (127.0.0.1) and SLUICE_GATEWAY_PORT (8080) say where to listen;
 * - hotpath.wasm, compiled once at start (build/hotpath.wasm, or SLUICE_HOTPATH_WASM): outside
 *   Workers compiling at run time is allowed;
 * - `ctx.waitUntil`: the promise is held until it settles, a rejection is logged;
 * - the connection's peer (`info.remoteAddr`) as `request.cf.clientIp` ("ip:port", IPv6 in
 *   brackets), where self-hosted workerd puts it, so worker/client-ip.ts reads it unchanged;
 * - a fetch() that sends upstream exactly what the Worker asks, as workerd's does, where Deno's
 *   own adds Accept, Accept-Language, User-Agent and Accept-Encoding and decompresses
 *   (worker/runtime/upstream-fetch.ts).
 * @throws at start when a required binding is missing or malformed (worker/env.ts readConfig)
 *   or the WASM file cannot be read or compiled.
 */
import { BINDING_NAMES, type Env, readConfig } from "../env.ts";
import { Gateway } from "../gateway.ts";
import { backgroundContext } from "./background.ts";
import { denoConnect } from "./deno-socket.ts";
import { exitWhenStdinEnds } from "./parent-guard.ts";
import { upstreamFetch } from "./upstream-fetch.ts";

/** The variable `name`, or undefined when it is unset or this process may not read it. */
function readEnv(name: string): string | undefined {
  return Deno.permissions.querySync({ name: "env", variable: name }).state === "granted" ? Deno.env.get(name) : undefined;
}

const wasmPath = readEnv("SLUICE_HOTPATH_WASM") || new URL("../../build/hotpath.wasm", import.meta.url).pathname;
const env: Record<string, string> = {};
for (const name of BINDING_NAMES) {
  const value = readEnv(name);
  if (value !== undefined) env[name] = value;
}

// Every fetch() of the Worker (proxying, snapshot polls) goes through node:http, not Deno's fetch().
globalThis.fetch = upstreamFetch as typeof fetch;

const gateway = new Gateway(
  readConfig(env as unknown as Env),
  await WebAssembly.compile((await Deno.readFile(wasmPath)).slice().buffer),
  undefined,
  { connect: denoConnect, reuseConnection: true },
);

/** Background work (the snapshot poll loop), held until it settles. */
const ctx = backgroundContext();

if (readEnv("SLUICE_EXIT_WITH_LAUNCHER") === "1") void exitWhenStdinEnds(Deno.stdin.readable, () => Deno.exit(0));

Deno.serve(
  {
    hostname: readEnv("SLUICE_GATEWAY_HOST") || "127.0.0.1",
    port: Number(readEnv("SLUICE_GATEWAY_PORT") || 8080),
    reusePort: true,
    onListen: ({ hostname, port }) => console.log(`sluice gateway (deno) on http://${hostname}:${port}/`),
  },
  (request, info) => {
    const { hostname, port } = info.remoteAddr;
    const host = hostname.includes(":") ? `[${hostname}]` : hostname;
    // Requests are fresh objects per call; `cf` is read-only on Workers, so nothing else sets it.
    Object.defineProperty(request, "cf", { value: { clientIp: `${host}:${port}` } });
    return gateway.handle(request, ctx);
  },
);
