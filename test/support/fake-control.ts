/**
 * A stand-in for control's snapshot endpoint on 127.0.0.1, for the gateway's snapshot tests: it
 * answers GET /v1/snapshot as told, phase by phase, records what the gateway sent, and can be
 * stopped and started again on the same port.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { ConfigModel } from "../../control/snapshot/model.ts";
import { route } from "./wasm-fixtures.ts";

/** A model whose only route, `*` + `path`, sends everything to one upstream on 127.0.0.1:`port`. */
export function oneRouteModel(path: string, port: number): ConfigModel {
  return {
    groups: [
      {
        id: 1,
        appkey: "svc",
        name: "main",
        balancer: "swrr",
        instances: [{ id: 1, host: "127.0.0.1", port, weight: 1, status: "alive", zone: "", lane: "", version: "" }],
      },
    ],
    policies: [],
    routes: [route(1, "*", path)],
  };
}

/**
 * What the fake control answers to GET /v1/snapshot: a reset connection, a status, a snapshot
 * (304 when If-None-Match names its ETag; with `hold`, a 304 waits for the request's `wait` as
 * control's long poll does), or nothing at all (`hang`: the request stays open until it is
 * abandoned or the answer changes).
 */
export type Answer =
  | { kind: "reset" }
  | { kind: "hang" }
  | { kind: "status"; status: number }
  | { kind: "snapshot"; body: Uint8Array; etag: string; hold?: boolean };

export interface Seen {
  /** The test phase ("a" … "g") whose answer this request got. */
  phase: string;
  method: string;
  url: string;
  authorization: string | undefined;
  ifNoneMatch: string | undefined;
  /** The status the fake answered with (0: connection reset). */
  answered: number;
}

/** A control stand-in on 127.0.0.1 that can be stopped and restarted on the same port. */
export class FakeControl {
  private answer: Answer = { kind: "reset" };
  private phase = "a";
  readonly seen: Seen[] = [];
  port = 0;
  private server: http.Server | null = null;
  /** Requests held (long polls, hangs), answered when the answer changes. */
  private held = new Set<() => void>();

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** From now on answers `answer`; the requests it sees are labelled `phase`. Held requests are answered anew. */
  serve(phase: string, answer: Answer): void {
    this.phase = phase;
    this.answer = answer;
    const held = [...this.held];
    this.held.clear();
    for (const release of held) release();
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    this.held.clear();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const seen: Seen = {
      phase: this.phase,
      method: req.method ?? "",
      url: req.url ?? "",
      authorization: req.headers.authorization,
      ifNoneMatch: req.headers["if-none-match"],
      answered: 0,
    };
    this.seen.push(seen);
    this.respond(req, res, seen, false);
  }

  /** Answers with the current answer; `released`: a held long poll whose wait is over. */
  private respond(req: http.IncomingMessage, res: http.ServerResponse, seen: Seen, released: boolean): void {
    const a = this.answer;
    seen.phase = this.phase;
    if (a.kind === "hang") {
      this.hold(req, res, seen, Number.POSITIVE_INFINITY);
    } else if (a.kind === "reset") {
      req.socket.destroy();
    } else if (a.kind === "status") {
      seen.answered = a.status;
      res.writeHead(a.status, { "content-type": "application/json" }).end('{"error":"internal"}');
    } else if (seen.ifNoneMatch === a.etag && a.hold && !released) {
      this.hold(req, res, seen, Number.parseInt(new URL(seen.url, "http://control").searchParams.get("wait") ?? "0", 10));
    } else if (seen.ifNoneMatch === a.etag) {
      seen.answered = 304;
      res.writeHead(304, { etag: a.etag }).end();
    } else {
      seen.answered = 200;
      res.writeHead(200, { "content-type": "application/octet-stream", etag: a.etag }).end(a.body);
    }
  }

  /** Keeps the request open for `waitMs` (then answers it as a finished long poll) or until the answer changes. */
  private hold(req: http.IncomingMessage, res: http.ServerResponse, seen: Seen, waitMs: number): void {
    const release = () => {
      clearTimeout(timer);
      this.held.delete(release);
      if (!res.writableEnded && !res.destroyed) this.respond(req, res, seen, true);
    };
    const timer = Number.isFinite(waitMs) ? setTimeout(release, waitMs) : undefined;
    this.held.add(release);
    res.once("close", () => {
      clearTimeout(timer);
      this.held.delete(release);
    });
  }
}
