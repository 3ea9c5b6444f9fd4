/**
 * A stand-in for control's config delivery API on 127.0.0.1 (docs/config-center.md "Delivery
 * API"), for the config client's and the agent's tests while the real endpoints are elsewhere:
 * `GET /v1/config/fetch` and `GET /v1/config/watch` exactly as the contract says (a long poll
 * held until a release differs from `known` or `wait` ± 10 % has passed, then 304), over an
 * in-memory store of releases with one id sequence. Gray releases are not modelled: every
 * instance gets the latest release. Tests can make it fail (a status for the next N requests),
 * cut the held watches, skip waking waiters (a lost notification), and stop and start it on the
 * same port (control down).
 */
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type FakeFormat = "properties" | "json" | "yaml" | "text";

/** One release in the fake's store. */
export interface FakeRelease {
  namespace: string;
  format: FakeFormat;
  release: number;
  hash: string;
  content: string;
}

/** One request the fake received. */
export interface FakeRequest {
  path: "/v1/config/fetch" | "/v1/config/watch" | string;
  query: URLSearchParams;
  /** When it arrived, ms since epoch. */
  at: number;
  /** What it was answered (0: cut or still held). */
  status: number;
}

interface Waiter {
  known: Map<string, number>;
  answer: (changed: { namespace: string; release: number }[]) => void;
  socket: Socket;
}

export interface FakeConfigServer {
  readonly url: string;
  readonly port: number;
  /** Every request so far, oldest first. */
  readonly requests: FakeRequest[];
  /** Publishes `content` as `namespace`'s next release; wakes held watches (unless told not to). @returns the release. */
  release(namespace: string, content: string, format?: FakeFormat): FakeRelease;
  /** The next `count` requests (fetch or watch) are answered `status` with a JSON error. */
  failNext(count: number, status?: number): void;
  /** Destroys the sockets of every watch held now; @returns how many. */
  cutHeldWatches(): number;
  /** false: releases do not wake held watches (a lost LISTEN/NOTIFY); they are seen on the next poll. */
  wakeOnRelease: boolean;
  /** Number of watches held now. */
  held(): number;
  /** Stops listening and drops every connection (control down); the store is kept. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

/**
 * Starts the fake on 127.0.0.1:`port` (0: any free port).
 * @param token the bearer token it accepts (others: 401).
 */
export async function startFakeConfigServer(token: string, port = 0): Promise<FakeConfigServer> {
  const latest = new Map<string, FakeRelease>();
  let sequence = 0;
  const waiters = new Set<Waiter>();
  const requests: FakeRequest[] = [];
  const failures = { count: 0, status: 500 };
  const sockets = new Set<Socket>();

  const changedFor = (known: Map<string, number>) =>
    [...known]
      .map(([namespace, release]) => ({ namespace, release: latest.get(namespace)?.release ?? 0, known: release }))
      .filter((c) => c.release !== c.known)
      .map(({ namespace, release }) => ({ namespace, release }));

  const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://fake");
    const record: FakeRequest = { path: url.pathname, query: url.searchParams, at: Date.now(), status: 0 };
    requests.push(record);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      if (status === 304) {
        res.writeHead(304, headers);
        res.end();
      } else json(res, status, body, headers);
    };
    if (req.headers.authorization !== `Bearer ${token}`) return reply(401, { error: "unauthorized" });
    if (failures.count > 0) {
      failures.count -= 1;
      return reply(failures.status, { error: "injected", message: "injected failure" });
    }
    const appkey = url.searchParams.get("appkey");
    const env = url.searchParams.get("env");
    if (!appkey || !env) return reply(400, { error: "invalid", field: appkey ? "env" : "appkey" });
    if (url.pathname === "/v1/config/fetch") {
      const names = (url.searchParams.get("namespaces") ?? "").split(",").filter(Boolean);
      const items = names.flatMap((n) => {
        const r = latest.get(n);
        return r ? [{ namespace: n, format: r.format, release: r.release, hash: r.hash, gray: null, content: r.content }] : [];
      });
      const etag = `"${createHash("sha256")
        .update(items.map((i) => `${i.namespace}:${i.release}`).join(","))
        .digest("hex")
        .slice(0, 16)}"`;
      if (req.headers["if-none-match"] === etag) return reply(304, null, { etag });
      return reply(200, { items }, { etag });
    }
    if (url.pathname === "/v1/config/watch") {
      const known = new Map<string, number>();
      for (const pair of (url.searchParams.get("known") ?? "").split(",").filter(Boolean)) {
        const [namespace, id] = pair.split(":");
        if (!namespace || !/^\d+$/.test(id ?? "")) return reply(400, { error: "invalid", field: "known" });
        known.set(namespace, Number(id));
      }
      const wait = Number(url.searchParams.get("wait") ?? "60");
      if (!Number.isInteger(wait) || wait < 1 || wait > 90) return reply(400, { error: "invalid", field: "wait" });
      const changed = changedFor(known);
      if (changed.length > 0) return reply(200, { changed });
      const holdMs = wait * 1000 * (0.9 + 0.2 * Math.random());
      const waiter: Waiter = {
        known,
        socket: req.socket,
        answer: (now) => {
          waiters.delete(waiter);
          clearTimeout(timer);
          if (now.length > 0) reply(200, { changed: now });
          else reply(304, null);
        },
      };
      const timer = setTimeout(() => waiter.answer([]), holdMs);
      waiters.add(waiter);
      res.on("close", () => {
        waiters.delete(waiter);
        clearTimeout(timer);
      });
      return;
    }
    reply(404, { error: "not_found" });
  };

  const server = http.createServer(handle);
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const listen = (at: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(at, "127.0.0.1", () => {
        server.off("error", reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const boundPort = await listen(port);

  const fake: FakeConfigServer = {
    url: `http://127.0.0.1:${boundPort}`,
    port: boundPort,
    requests,
    wakeOnRelease: true,
    release(namespace, content, format = "properties") {
      sequence += 1;
      const r: FakeRelease = { namespace, format, release: sequence, hash: createHash("sha256").update(content).digest("hex"), content };
      latest.set(namespace, r);
      if (fake.wakeOnRelease) {
        for (const w of [...waiters]) {
          const changed = changedFor(w.known);
          if (changed.length > 0) w.answer(changed);
        }
      }
      return r;
    },
    failNext(count, status = 500) {
      failures.count = count;
      failures.status = status;
    },
    cutHeldWatches() {
      const held = [...waiters];
      for (const w of held) {
        waiters.delete(w);
        w.socket.destroy();
      }
      return held.length;
    },
    held: () => waiters.size,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      waiters.clear();
      await closed;
    },
    async start() {
      await listen(boundPort);
    },
  };
  return fake;
}
