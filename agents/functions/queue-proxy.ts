/**
 * The queue-proxy: one HTTP listener per instance, in the agent process, in front of its workerd
 * (Knative's queue-proxy). Its address is what control puts in the snapshot. It
 * - admits at most `containerConcurrency` requests at once (0 = unlimited), queues up to
 *   QUEUE_DEPTH_FACTOR × that many more in arrival order, and answers 503
 *   `{"error":"overflow"}` with `Retry-After: 1` beyond (concurrency.ts `admit`);
 * - streams bodies both ways over keep-alive connections, passing the request's headers on
 *   (x-request-id, traceparent …) minus hop-by-hop ones (RFC 9110 §7.6.1);
 * - measures the time-weighted average in flight (concurrency.ts) and counts requests answered
 *   and rejected, read and reset by `takeLoad()` at each report.
 * While its workerd is (re)starting, admitted requests wait for `upstream()` to give a port;
 * null (not ready in time, or stopped) → 503 `{"error":"unavailable"}`. A failed upstream
 * connection → 502 `{"error":"upstream"}`.
 */
import http from "node:http";
import type net from "node:net";
import { admit, type ConcurrencyMeter, changeInFlight, readMeter, startMeter } from "./concurrency.ts";

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1); never forwarded. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"]);

/** Load since the previous `takeLoad()`. */
export interface ProxyLoad {
  /** Average requests in flight over the window (time-weighted). */
  concurrency: number;
  inFlight: number;
  /** Requests answered by the upstream (any status) in the window. */
  requests: number;
  /** Requests refused with 503 overflow in the window. */
  rejected: number;
}

export interface QueueProxyOptions {
  /** Address to listen on (the one reported to control). */
  host: string;
  /** containerConcurrency: most requests in flight at once, 0 = unlimited. */
  limit: number;
  /** The workerd port once it accepts connections, or null when it will not. */
  upstream: () => Promise<number | null>;
  /** Clock, ms (monotonic). */
  now?: () => number;
}

export class QueueProxy {
  private readonly options: QueueProxyOptions;
  private readonly now: () => number;
  private readonly server: http.Server;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  private readonly queue: (() => void)[] = [];
  private meter: ConcurrencyMeter;
  private requests = 0;
  private rejected = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(options: QueueProxyOptions) {
    this.options = options;
    this.now = options.now ?? (() => performance.now());
    this.meter = startMeter(this.now());
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 65_000;
  }

  /** Listens on a free port of `host`. @returns the port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, this.options.host, () => resolve((this.server.address() as net.AddressInfo).port));
    });
  }

  /** Requests running now. */
  get inFlight(): number {
    return this.meter.inFlight;
  }

  /** Requests waiting for a slot now. */
  get queued(): number {
    return this.queue.length;
  }

  /** The load since the last call, and starts a new window. */
  takeLoad(): ProxyLoad {
    const { concurrency, next } = readMeter(this.meter, this.now());
    const load = { concurrency, inFlight: this.meter.inFlight, requests: this.requests, rejected: this.rejected };
    this.meter = next;
    this.requests = 0;
    this.rejected = 0;
    return load;
  }

  /** Resolves once nothing is in flight or queued (at once when idle). */
  idle(): Promise<void> {
    if (this.meter.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops listening and closes every connection (in-flight requests are cut). */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.agent.destroy();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const decision = admit(this.options.limit, this.meter.inFlight, this.queue.length);
    if (decision === "reject") {
      this.rejected++;
      sendJson(res, 503, { error: "overflow", message: "the instance's concurrency limit and queue are full" }, { "retry-after": "1" });
      return;
    }
    if (decision === "queue") {
      const admitted = await this.waitTurn(res);
      if (!admitted) return;
    } else {
      this.meter = changeInFlight(this.meter, this.now(), +1);
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.meter = changeInFlight(this.meter, this.now(), -1);
      this.next();
    };
    res.once("close", release);
    const port = await this.options.upstream();
    if (res.destroyed) return;
    if (port === null) {
      sendJson(res, 503, { error: "unavailable", message: "the instance is not running" }, { "retry-after": "1" });
      return;
    }
    this.forward(req, res, port);
  }

  /** Queues the request; @returns false when the client went away before its turn. */
  private waitTurn(res: http.ServerResponse): Promise<boolean> {
    return new Promise((resolve) => {
      const turn = () => {
        res.off("close", gone);
        resolve(true);
      };
      const gone = () => {
        const at = this.queue.indexOf(turn);
        if (at >= 0) this.queue.splice(at, 1);
        this.notifyIdle();
        resolve(false);
      };
      res.once("close", gone);
      this.queue.push(turn);
    });
  }

  /** A slot freed: the oldest queued request takes it (its in-flight count starts now). */
  private next(): void {
    const turn = this.queue.shift();
    if (turn) {
      this.meter = changeInFlight(this.meter, this.now(), +1);
      turn();
    }
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.meter.inFlight > 0 || this.queue.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse, port: number): void {
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
    const upstream = http.request({ host: "127.0.0.1", port, method: req.method, path: req.url, headers, agent: this.agent }, (up) => {
      const out: http.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(up.headers)) if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
      res.writeHead(up.statusCode ?? 502, up.statusMessage, out);
      up.pipe(res);
      up.once("end", () => this.requests++);
      up.once("error", () => res.destroy());
    });
    upstream.once("error", (err) => {
      if (res.headersSent) res.destroy();
      else sendJson(res, 502, { error: "upstream", message: err.message });
    });
    // The client went away: stop the upstream request too.
    res.once("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}
