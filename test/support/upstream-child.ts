/**
 * A test upstream as its own process (so a test can SIGKILL it): `node upstream-child.ts <name>
 * <port>` answers every request with `{"upstream": name, "path": …, "count": n}` (n: requests this
 * process has answered, this one included); prints `listening <port>` once ready; on SIGTERM stops
 * accepting, lets requests in flight finish, then exits 0.
 *
 * Fault modes for the fault tests, set by the test calling the child directly (never through the
 * gateway; these paths are not counted as requests):
 *   - `GET /__upstream/mode?delay=<ms>&status=<code>`: from now on wait `delay` ms before answering
 *     and answer with `status` (default 0 and 200; a parameter left out keeps its value). A non-200
 *     answer is `{"upstream": name, "error": "mode", "status": code}`. Answers the mode as JSON.
 *   - `GET /__upstream/stats?since=<ms>`: `{"upstream", "count", "arrivals": [ms, …]}`, the arrival
 *     times (Date.now() when the request's headers arrived) at or after `since` (default 0), so a
 *     test can tell exactly when the gateway sent something to this instance.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

const [name = "upstream", portText = "0"] = process.argv.slice(2);
/** Arrival times kept for /__upstream/stats; bounded so a long run cannot grow without limit. */
const MAX_ARRIVALS = 200_000;
const mode = { delay: 0, status: 200 };
const arrivals: number[] = [];
let count = 0;

const server = http.createServer((req, res) => {
  const url = req.url ?? "/";
  if (url.startsWith("/__upstream/")) {
    control(url, res);
    req.resume();
    return;
  }
  const arrivedMs = Date.now();
  if (arrivals.length >= MAX_ARRIVALS) arrivals.splice(0, MAX_ARRIVALS / 2);
  arrivals.push(arrivedMs);
  // Read the mode on arrival: a request already waiting keeps the mode it arrived under.
  const { delay, status } = mode;
  req.resume();
  req.on("end", () => {
    count += 1;
    const body =
      status === 200 ? JSON.stringify({ upstream: name, path: url, count }) : JSON.stringify({ upstream: name, error: "mode", status });
    const answer = () => res.writeHead(status, { "content-type": "application/json" }).end(body);
    if (delay > 0) setTimeout(answer, delay);
    else answer();
  });
});

/** The /__upstream/ control paths (see the module comment). */
function control(url: string, res: http.ServerResponse): void {
  const parsed = new URL(url, "http://upstream");
  const json = (value: unknown) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(value));
  if (parsed.pathname === "/__upstream/mode") {
    const delay = parsed.searchParams.get("delay");
    const status = parsed.searchParams.get("status");
    if (delay !== null) mode.delay = Math.max(0, Number(delay) || 0);
    if (status !== null) mode.status = Number(status) || 200;
    json({ upstream: name, ...mode });
  } else if (parsed.pathname === "/__upstream/stats") {
    const since = Number(parsed.searchParams.get("since") ?? 0);
    json({ upstream: name, count, arrivals: arrivals.filter((t) => t >= since) });
  } else {
    res.writeHead(404).end();
  }
}

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
