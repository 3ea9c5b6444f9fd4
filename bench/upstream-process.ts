/**
 * The benchmark's upstream, run as a child process (forked by bench/targets.ts) so its CPU is
 * apart from the load generator's: a Node http server answering every request with the same
 * small body. It listens on two ports — `stable` and `canary` — so the parent can count, per
 * port, which outcome the gateway's policy chose. IPC: sends `{ports: [stable, canary]}` once
 * listening; answers `"counts"` with `{counts: [stable, canary]}` (requests answered so far).
 * Exits when the parent disconnects.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

/** 48 bytes: small enough that the proxies, not the payload, dominate the cost. */
const BODY = Buffer.from('{"ok":true,"from":"sluice-bench-upstream-00000"}');
const HEADERS = { "content-type": "application/json", "content-length": String(BODY.length) };

const counts = [0, 0];

function listen(index: number): Promise<number> {
  const server = http.createServer((_req, res) => {
    counts[index] += 1;
    res.writeHead(200, HEADERS).end(BODY);
  });
  // Longer than any proxy's idle timeout, so pooled upstream connections are not cut mid-run.
  server.keepAliveTimeout = 120_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

const ports = [await listen(0), await listen(1)];
process.on("message", (message) => {
  if (message === "counts") process.send?.({ counts });
});
process.on("disconnect", () => process.exit(0));
process.send?.({ ports });
