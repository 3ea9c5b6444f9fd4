/**
 * The agent's localhost config endpoint (`--config-port`): `GET /config/<namespace>` →
 * 200 `{namespace, release, format, hash, gray, content}` for a configured namespace with a
 * release, 404 `{"error":"not_found"}` otherwise, 405 for other methods. Bound to 127.0.0.1
 * only: the application on the same host reads it; nothing else can.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { ConfigRelease } from "./config-client/client.ts";

/**
 * Starts the endpoint on 127.0.0.1:`port` (0: any free port).
 * @param lookup the release the agent holds for a namespace, or undefined.
 * @returns the server and the port it listens on.
 * @throws the listen error (EADDRINUSE …).
 */
export async function startConfigHttp(
  port: number,
  lookup: (namespace: string) => ConfigRelease | undefined,
): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify(body));
    };
    const match = /^\/config\/([^/?]+)(?:\?.*)?$/.exec(req.url ?? "");
    if (!match) return send(404, { error: "not_found", message: "GET /config/<namespace>" });
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, { error: "method_not_allowed", message: "GET only" });
    let namespace: string;
    try {
      namespace = decodeURIComponent(match[1] as string);
    } catch {
      return send(400, { error: "invalid", field: "namespace" });
    }
    const release = lookup(namespace);
    if (!release) return send(404, { error: "not_found", namespace });
    const { format, hash, gray, content } = release;
    send(200, { namespace, release: release.release, format, hash, gray, content });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}
