/**
 * A whole Sluice on 127.0.0.1 for end-to-end tests: control (on a test database), the gateway
 * under real `workerd serve`, Bun or Deno processes, and an admin client. Every process started here is stopped
 * by `close()`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { expect } from "vitest";
import { type ControlOptions, type RunningControl, startControl } from "../../control/server.ts";
import { GATEWAY_RUNTIMES, type GatewayLaunch, type GatewayRuntime, startGateway } from "../../worker/launcher/gateway.ts";
import type { ProcessCluster } from "../../worker/launcher/supervisor.ts";
import { type Backend, backends } from "./backends.ts";
import { type Client, clientFor, httpTarget, STATUS_TOKEN } from "./client.ts";

export interface Stack {
  /** Replaceable: a test may stop control and start it again on the same data. */
  control: RunningControl;
  /** What control was started with, to start it again: its data directory and database. */
  dataDir: string;
  databaseUrl: string | undefined;
  gateway: ProcessCluster;
  admin: Client;
  close(): Promise<void>;
}

/** Overrides for startStack: control's and the gateway's options. */
export interface StackOptions {
  control?: Partial<ControlOptions>;
  gateway?: Partial<GatewayLaunch>;
}

/** One end-to-end configuration: a database backend and the runtime the gateway runs on. */
export interface StackCase {
  backend: Backend;
  runtime: GatewayRuntime;
  /** e.g. `pglite on bun`, for test titles. */
  name: string;
}

/**
 * Every backend on workerd, and PGlite on each other runtime: the runtime never touches the
 * database, so one backend is enough to run the gateway on it.
 */
export function stackCases(): StackCase[] {
  const all = backends();
  const onWorkerd = all.map((backend) => ({ backend, runtime: "workerd" as const }));
  const others = GATEWAY_RUNTIMES.filter((r) => r !== "workerd").map((runtime) => ({ backend: all[0] as Backend, runtime }));
  return [...onWorkerd, ...others].map((c) => ({ ...c, name: `${c.backend.name} on ${c.runtime}` }));
}

/** Starts control on `backend` and a gateway of `processes` processes (DEFAULT_RUNTIME unless options.gateway.runtime says; fallback poll 100 ms). */
export async function startStack(backend: Backend, processes = 2, options: StackOptions = {}): Promise<Stack> {
  const dataDir = await mkdtemp(join(tmpdir(), "sluice-e2e-"));
  // PGlite runs inside control, in the data directory; PostgreSQL gets a fresh database.
  const database = backend.name === "postgres" ? await backend.open() : null;
  const control = await startControl({
    dataDir,
    databaseUrl: database?.url,
    port: 0,
    debounceMs: 10,
    env: {},
    logger: pino({ level: "warn" }),
    ...options.control,
  });
  const gateway = await startGateway({
    controlUrl: control.url,
    gatewayToken: control.tokens.gatewayToken,
    snapshotPublicKey: control.signingKey.publicKeyBase64,
    port: 0,
    processes,
    snapshotPollMs: 100,
    statusToken: STATUS_TOKEN,
    stdio: "ignore",
    ...options.gateway,
  });
  const stack: Stack = {
    control,
    dataDir,
    databaseUrl: database?.url,
    gateway,
    admin: clientFor(httpTarget(control.url), control.tokens.adminToken),
    async close() {
      await gateway.close();
      await stack.control.close();
      await database?.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return stack;
}

/**
 * Polls `probe` every 50 ms until it returns true.
 * @param what names the condition in the error.
 * @throws after `timeoutMs`.
 */
export async function eventually(probe: () => Promise<boolean>, timeoutMs = 5000, what = "condition"): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await probe()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms`);
}

/**
 * Sends `requests` GETs to `url`, one after another, and collects the `upstream` field of every
 * 200 answer's JSON (test upstreams name themselves there). Other answers are read and skipped,
 * or with `countErrors` added as `status N`. A failed fetch or a 200 that is not JSON throws.
 */
export async function upstreamsSeen(url: string, requests: number, options: { countErrors?: boolean } = {}): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < requests; i++) {
    const res = await fetch(url);
    const text = await res.text();
    if (res.status === 200) seen.add(JSON.parse(text).upstream as string);
    else if (options.countErrors) seen.add(`status ${res.status}`);
  }
  return seen;
}

/** One answer through the gateway: its JSON body (or the text when not JSON) and the upstream it names. */
export interface Answer {
  status: number;
  upstream?: string;
  // biome-ignore lint/suspicious/noExplicitAny: JSON from the upstream or the gateway.
  body: any;
  headers: Headers;
}

/** The status document of the gateway at `gatewayUrl` (one isolate's view), with the tests' status token. */
// biome-ignore lint/suspicious/noExplicitAny: JSON from the gateway.
export async function gatewayStatus(gatewayUrl: string): Promise<any> {
  const res = await fetch(`${gatewayUrl}/__sluice/status`, { headers: { authorization: `Bearer ${STATUS_TOKEN}` } });
  expect(res.status).toBe(200);
  return res.json();
}

/** Sends one request to `url` and reads the whole answer. */
export async function send(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, init);
  const text = await res.text();
  const body = text.startsWith("{") ? JSON.parse(text) : text;
  return { status: res.status, upstream: body?.upstream, body, headers: res.headers };
}

/** Awaits an API reply, expects `status` (the body in the message), and returns its body. */
export async function ok(reply: Promise<{ status: number; body: unknown }>, status = 201) {
  const r = await reply;
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  // biome-ignore lint/suspicious/noExplicitAny: JSON from the API.
  return r.body as any;
}
