/**
 * The benchmark's upstream, run as a child process (forked by bench/targets.ts) so its CPU is
 * apart from the load generator's: a Node http server answering every request with the same
 * small body (naming the port's group). It listens on two ports — `stable` and `canary` — so the parent can count, per
 * port, which outcome the gateway's policy chose. IPC: sends `{ports: [stable, canary]}` once
 * listening; answers `"counts"` with `{counts: [stable, canary]}` (requests answered so far).
 * Exits when the parent disconnects.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

/** 48 bytes per port, naming its group (as the nginx upstream's, bench/nginx.ts upstreamBody). */
const BODIES = ["stable", "canary"].map((group) => Buffer.from(`{"ok":true,"group":"${group}","from":"sluice-up"}`));

const counts = [0, 0];

function listen(index: number): Promise<number> {
  const body = BODIES[index] as Buffer;
  const headers = { "content-type": "application/json", "content-length": String(body.length) };
  const server = http.createServer((_req, res) => {
    counts[index] += 1;
    res.writeHead(200, headers).end(body);
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
