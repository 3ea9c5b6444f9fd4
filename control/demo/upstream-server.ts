/**
 * A small HTTP upstream for the demo, tests and benchmarks: answers every request with JSON
 * naming itself, so a client can see which instance the gateway picked.
 * `{"upstream": "stable-1", "method": "GET", "path": "/a?uid=7", "headers": {...}, "bodyBytes": 0,
 * "bodySha256": "e3b0…"}`.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface UpstreamServer {
  name: string;
  port: number;
  /** Requests answered so far. */
  readonly count: number;
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1:`port` (0 = any free port).
 * @param delayMs wait this long before answering (timeout tests).
 * @param extraHeaders added to every response (hop-by-hop tests).
 */
export async function startUpstream(
  name: string,
  port = 0,
  delayMs = 0,
  extraHeaders: Record<string, string> = {},
): Promise<UpstreamServer> {
  let count = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      count += 1;
      const received = Buffer.concat(chunks);
      const body = JSON.stringify({
        upstream: name,
        method: req.method,
        path: req.url,
        headers: req.headers,
        bodyBytes: received.length,
        bodySha256: createHash("sha256").update(received).digest("hex"),
      });
      const answer = () => res.writeHead(200, { ...extraHeaders, "content-type": "application/json" }).end(body);
      if (delayMs > 0) setTimeout(answer, delayMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    name,
    port: (server.address() as AddressInfo).port,
    get count() {
      return count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
