/**
 * An upstream for the proxy conformance suite: it records exactly what it received — method,
 * raw target, raw header lines in order, body bytes, whether the client side aborted — and
 * answers exactly what the current case tells it to (`answer`), including streamed, trickled and
 * broken-off bodies. One case at a time.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

/** What one request looked like on arrival. */
export interface Received {
  method: string;
  /** The request target as sent (path and query, byte for byte). */
  target: string;
  /** Header lines as received: [name, value] in order, names as sent. */
  headers: [string, string][];
  body: Buffer;
  /** The connection ended before the body did (the client or the gateway gave up). */
  aborted: boolean;
}

/** How the upstream answers: it gets the request (body already read) and the response. */
export type Answer = (req: http.IncomingMessage, res: http.ServerResponse, received: Received) => void;

export interface RecordingUpstream {
  port: number;
  /** Requests received, in order (reset by `expect`). */
  received: Received[];
  /** Sets the answer for the next requests and clears `received`. */
  expect(answer: Answer): void;
  /** Resolves with the next request's record once its body has ended or aborted. */
  next(): Promise<Received>;
  close(): Promise<void>;
}

/** Starts the recorder on 127.0.0.1 with a 128 KiB header limit (the 64 KiB-line cases need more than Node's 16 KiB). */
export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  let answer: Answer = (_req, res) => res.writeHead(200).end("ok");
  let waiting: ((r: Received) => void)[] = [];
  const received: Received[] = [];
  const server = http.createServer({ maxHeaderSize: 128 * 1024 }, (req, res) => {
    const headers: [string, string][] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string]);
    const record: Received = { method: req.method ?? "", target: req.url ?? "", headers, body: Buffer.alloc(0), aborted: false };
    const chunks: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      record.body = Buffer.concat(chunks);
      received.push(record);
      for (const wake of waiting.splice(0)) wake(record);
    };
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("aborted", () => {
      record.aborted = true;
      finish();
    });
    req.on("error", () => {
      record.aborted = true;
      finish();
    });
    req.on("end", () => {
      finish();
      answer(req, res, record);
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    expect(next) {
      answer = next;
      received.length = 0;
    },
    next: () => new Promise((resolve) => waiting.push(resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        waiting = [];
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
