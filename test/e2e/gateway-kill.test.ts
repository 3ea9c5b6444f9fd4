/**
 * Issue 13: the launcher that `npm start` and `npm run gateway` use (startGateway → runCluster)
 * survives `kill -9` of one gateway process with no failed request beyond those in flight on it,
 * on every runtime. Real processes on 127.0.0.1: control (PGlite), two gateway processes sharing
 * the port (workerd: one SO_REUSEPORT socket each, handed down by the launcher; Bun: `reusePort`),
 * one upstream.
 *
 * Eight closed-loop clients, each on one keep-alive connection of its own, send GET through the
 * gateway; each first asks its connection's process where it is (the status document's
 * `process.slot`), and the clients are spread four and four over the two processes. Then slot 0's
 * process gets SIGKILL. Every non-200 answer and every connection error counts: no retries. A
 * failed client opens a new connection (it reaches the surviving process, or the restarted one).
 * Asserted: at most the requests in flight on the killed process at that moment fail, at most one
 * per connection it held, none elsewhere; the launcher starts the slot again within the back-off
 * (100 ms) plus spawning; the new process serves, and its status document counts the restart;
 * everything sent once it serves succeeds.
 */
import http from "node:http";
import type { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, type UpstreamServer } from "../../control/demo/upstream-server.ts";
import { GATEWAY_RUNTIMES } from "../../worker/launcher/gateway.ts";
import { restartDelayMs } from "../../worker/launcher/supervisor.ts";
import { backends } from "../support/backends.ts";
import { STATUS_TOKEN } from "../support/client.ts";
import { eventually, ok, type Stack, startStack } from "../support/stack.ts";

/** Closed-loop clients, one keep-alive connection each; half on each process. */
const CONCURRENCY = 8;
const KILLED_SLOT = 0;
/** Load before the kill, and after the restarted process first answers, ms. */
const BEFORE_KILL_MS = 1000;
const AFTER_SERVING_MS = 1500;
/**
 * Noticing the exit and spawning after the back-off, ms: ~50–200 ms, but the launcher runs in
 * this test's event loop, and on this shared 2-core machine (load average 9) it once stalled 1.4 s.
 * The bound still tells the first back-off from the longer ones of a slot that keeps crashing
 * (up to 10 s); the measured time is printed.
 */
const SPAWN_SLACK_MS = 2000;
/** How long the restarted process may take to answer (runtime start, first snapshot), ms. */
const SERVING_WITHIN_MS = 10_000;
/** No client sends after this long, whatever happens, ms. */
const LOAD_LIMIT_MS = 30_000;
/** One request's longest wait, ms. */
const REQUEST_TIMEOUT_MS = 10_000;

const [pglite] = backends();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Reply {
  status: number;
  text: string;
  /** The connection it went over. */
  socket: Socket;
}

/** GET `url` through `agent` (`undefined`: a connection of its own); the whole answer. @throws on a connection error or after REQUEST_TIMEOUT_MS. */
function get(url: string, agent: http.Agent | undefined, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let socket: Socket | undefined;
    const req = http.get(url, { agent: agent ?? false, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text, socket: socket as Socket }));
      res.on("error", reject);
    });
    req.on("socket", (s) => {
      socket = s;
    });
    req.once("error", reject);
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
  });
}

/** The `process` block of a status document answer. */
interface ProcessStatus {
  slot: number;
  restarts: number;
  clusterRestarts: number;
  startedAt: string;
}

/** One client request and its outcome. */
interface Outcome {
  client: number;
  /** The slot of the process its connection was on when it was sent; null for a connection not yet identified. */
  slot: number | null;
  sentMs: number;
  atMs: number;
  ok: boolean;
  what: string;
}

/** A client: one keep-alive connection (maxSockets 1), and the process it reaches. */
interface LoadClient {
  id: number;
  agent: http.Agent;
  /** The identified connection and its process's slot; null until identified, or after a failure. */
  socket: Socket | null;
  slot: number | null;
  failures: number;
}

const newAgent = () => new http.Agent({ keepAlive: true, maxSockets: 1 });

describe.each(GATEWAY_RUNTIMES)("kill -9 of one gateway process on %s", (runtime) => {
  let stack: Stack;
  let upstream: UpstreamServer;
  const route = () => `${stack.gateway.url}/k`;
  const statusUrl = () => `${stack.gateway.url}/__sluice/status`;
  const auth = { authorization: `Bearer ${STATUS_TOKEN}` };

  beforeAll(async () => {
    upstream = await startUpstream("u1");
    stack = await startStack(pglite as NonNullable<typeof pglite>, 2, { gateway: { runtime } });
    const { admin } = stack;
    await ok(admin.post("/v1/services", { appkey: "kill" }));
    await ok(admin.post("/v1/services/kill/groups", { name: "main" }));
    await ok(admin.post("/v1/services/kill/groups/main/instances", { host: "127.0.0.1", port: upstream.port }));
    await ok(admin.post("/v1/routes", { appkey: "kill", path: "/k", defaultGroup: "main" }));
    await eventually(async () => (await get(route(), undefined)).status === 200, 10_000, "/k routed");
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    await upstream?.close();
  });

  it(`fails at most the requests in flight on it; the slot is restarted within the back-off and counted`, async () => {
    const outcomes: Outcome[] = [];
    const inFlight = [0, 0];
    /** Asks the client's (new) connection which process it reached. @throws on any failure. */
    const identify = async (client: LoadClient) => {
      const reply = await get(statusUrl(), client.agent, auth);
      if (reply.status !== 200) throw new Error(`status document: ${reply.status} ${reply.text.slice(0, 100)}`);
      client.socket = reply.socket;
      client.slot = (JSON.parse(reply.text).process as ProcessStatus).slot;
    };
    const clients: LoadClient[] = [];
    // Four and four: a client landing on a process that already has half is connected again.
    for (let id = 0; id < CONCURRENCY; id++) {
      const client: LoadClient = { id, agent: newAgent(), socket: null, slot: null, failures: 0 };
      for (let tries = 0; ; tries++) {
        await identify(client);
        if (clients.filter((c) => c.slot === client.slot).length < CONCURRENCY / 2) break;
        if (tries > 200) throw new Error("could not spread the clients over both processes");
        client.agent.destroy();
        client.agent = newAgent();
      }
      clients.push(client);
    }

    let running = true;
    /** Requests the agent sent on a new connection by itself (the old one had closed). */
    let reconnects = 0;
    const limit = Date.now() + LOAD_LIMIT_MS;
    /** Sends one request after another on the client's connection; a failure drops the connection. */
    const loop = async (client: LoadClient) => {
      while (running && Date.now() < limit) {
        const sentMs = Date.now();
        const slot = client.slot;
        let failed: string | null = null;
        if (slot !== null) inFlight[slot] = (inFlight[slot] ?? 0) + 1;
        try {
          if (slot === null) await identify(client);
          else {
            const reply = await get(route(), client.agent);
            if (reply.status !== 200) failed = `${reply.status} ${reply.text.slice(0, 100)}`;
            // The connection closed between two requests and the agent opened another: ask again.
            if (reply.socket !== client.socket) {
              reconnects += 1;
              client.socket = null;
              client.slot = null;
            }
          }
        } catch (err) {
          failed = (err as Error).message;
        } finally {
          if (slot !== null) inFlight[slot] = (inFlight[slot] ?? 0) - 1;
        }
        outcomes.push({ client: client.id, slot, sentMs, atMs: Date.now(), ok: failed === null, what: failed ?? "200" });
        if (failed !== null) {
          client.failures += 1;
          client.agent.destroy();
          client.agent = newAgent();
          client.socket = null;
          client.slot = null;
        }
      }
    };
    const loops = clients.map(loop);
    try {
      await sleep(BEFORE_KILL_MS);
      const victim = stack.gateway.pids[KILLED_SLOT] as number;
      // Every client is awaiting an answer here (closed loop, one thread): all of the killed
      // process's connections have a request in flight.
      const inFlightAtKill = inFlight[KILLED_SLOT] as number;
      const onVictim = clients.filter((c) => c.slot === KILLED_SLOT).map((c) => c.id);
      const killedAt = Date.now();
      process.kill(victim, "SIGKILL");

      await eventually(async () => stack.gateway.pids[KILLED_SLOT] !== victim, 5000, "slot restarted");
      const restartedAfterMs = Date.now() - killedAt;
      // Then new connections until one reaches the new process (the kernel spreads them over both).
      const statusFailures: string[] = [];
      let restarted: ProcessStatus | undefined;
      let survivor: ProcessStatus | undefined;
      let servingAt = 0;
      while ((!restarted || !survivor) && Date.now() - killedAt < SERVING_WITHIN_MS) {
        try {
          const reply = await get(statusUrl(), undefined, auth);
          if (reply.status !== 200) statusFailures.push(`${reply.status} ${reply.text.slice(0, 100)}`);
          else {
            const p = JSON.parse(reply.text).process as ProcessStatus;
            if (p.slot !== KILLED_SLOT) survivor = p;
            else if (p.restarts >= 1 && !restarted) {
              restarted = p;
              servingAt = Date.now();
            }
          }
        } catch (err) {
          statusFailures.push((err as Error).message);
        }
        await sleep(20);
      }
      expect(restarted, "the restarted process answering").toBeDefined();
      await sleep(AFTER_SERVING_MS);
      running = false;
      await Promise.all(loops);

      const failures = outcomes.filter((o) => !o.ok);
      const afterServing = outcomes.filter((o) => o.sentMs >= servingAt);
      const duringRestart = outcomes.filter((o) => o.sentMs > killedAt && o.sentMs < servingAt && o.ok);
      console.log(
        `kill -9 on ${runtime}: ${outcomes.length} requests by ${CONCURRENCY} clients, ${failures.length} failed ` +
          `(${inFlightAtKill} in flight on the killed process, clients ${onVictim.join(", ")}; ` +
          `${failures.filter((f) => f.sentMs <= killedAt).length} of the failed sent before the kill): ` +
          `${JSON.stringify(failures.map((f) => `${f.client}: ${f.what}`))}; slot restarted ${restartedAfterMs} ms after the kill ` +
          `(back-off ${restartDelayMs(1)} ms), serving ${servingAt - killedAt} ms after it ` +
          `(${JSON.stringify(restarted)}); ${duringRestart.length} requests answered meanwhile (slowest ` +
          `${Math.max(0, ...duringRestart.map((o) => o.atMs - o.sentMs))} ms), ${afterServing.length} after; ` +
          `${reconnects} new connections opened by an agent itself`,
      );

      expect(onVictim).toHaveLength(CONCURRENCY / 2);
      expect(inFlightAtKill).toBe(CONCURRENCY / 2);
      // Only connections of the killed process fail, each at most once, and nothing else does —
      // except a reconnect the kernel put in the dying listener's accept queue between the SIGKILL
      // and the socket's teardown (SO_REUSEPORT): that one is reset at connect ("connect
      // ECONNRESET"), seen under a loaded machine. It is the killed slot's too, and at most one
      // per client on it.
      const atConnect = (f: { what: string }) => /^connect /.test(f.what);
      expect(failures.filter((f) => !atConnect(f)).length).toBeLessThanOrEqual(inFlightAtKill);
      expect(failures.filter(atConnect).length).toBeLessThanOrEqual(inFlightAtKill);
      for (const f of failures) expect(f.slot, JSON.stringify(f)).toBe(KILLED_SLOT);
      for (const c of clients) expect(c.failures, `client ${c.id}`).toBeLessThanOrEqual(onVictim.includes(c.id) ? 2 : 1);
      expect(statusFailures).toEqual([]);
      // The launcher restarted the slot after the first back-off, the new process serves and
      // counts the restart; the survivor was never restarted.
      expect(restartedAfterMs).toBeLessThanOrEqual(restartDelayMs(1) + SPAWN_SLACK_MS);
      expect(restarted).toMatchObject({ slot: KILLED_SLOT, restarts: 1, clusterRestarts: 1 });
      expect(Date.parse(restarted?.startedAt ?? "")).toBeGreaterThanOrEqual(killedAt);
      expect(survivor).toMatchObject({ slot: 1 - KILLED_SLOT, restarts: 0, clusterRestarts: 0 });
      expect(stack.gateway.restarts).toBe(1);
      expect(stack.gateway.slotRestarts).toEqual([1, 0]);
      // The survivor carried the load meanwhile, and once the slot serves again everything succeeds.
      expect(duringRestart.length).toBeGreaterThan(0);
      expect(afterServing.length).toBeGreaterThan(100);
      expect(afterServing.filter((o) => !o.ok)).toEqual([]);
    } finally {
      running = false;
      await Promise.all(loops);
      for (const c of clients) c.agent.destroy();
    }
  }, 60_000);
});
