/**
 * A test upstream as its own process (so a test can SIGKILL it): `node upstream-child.ts <name>
 * <port>` answers every request with `{"upstream": name}`; prints `listening <port>` once ready;
 * on SIGTERM stops accepting, lets requests in flight finish, then exits 0.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

const [name = "upstream", portText = "0"] = process.argv.slice(2);
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ upstream: name, path: req.url })));
});
server.keepAliveTimeout = 65_000;
server.listen(Number(portText), "127.0.0.1", () => {
  console.log(`listening ${(server.address() as AddressInfo).port}`);
});
process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  // Keep-alive connections become idle after their last answer: close each as it does.
  setInterval(() => server.closeIdleConnections(), 50).unref();
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 5000).unref();
});
