/**
 * The registry benches' upstream, run as a child process: one Node http server per name, each
 * answering every request with `{"upstream":"<name>"}`, so a client sees which instance the
 * gateway picked. `node named-upstream.ts u0 u1 u2` prints `ports <p0> <p1> <p2>` once listening;
 * exits when its parent closes stdin.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

function listen(name: string): Promise<number> {
  const body = Buffer.from(JSON.stringify({ upstream: name }));
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json", "content-length": String(body.length) }).end(body);
  });
  server.keepAliveTimeout = 120_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

const ports = await Promise.all(process.argv.slice(2).map(listen));
console.log(`ports ${ports.join(" ")}`);
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
