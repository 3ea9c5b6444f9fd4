/**
 * The Bun ceiling for `npm run bench` (bench/passthrough.ts starts it): Bun.serve + Bun's own
 * fetch() to one upstream, the request's method, headers, body, path and query forwarded and the
 * upstream's response returned as is, as bench/passthrough-worker.js does on workerd. No
 * routing, no header rewriting, no timeout, no fetch shim. Environment: UPSTREAM_ORIGIN
 * (e.g. `http://127.0.0.1:9101`), PORT; every process binds the port with `reusePort`.
 */
const origin = Bun.env.UPSTREAM_ORIGIN;
Bun.serve({
  hostname: "127.0.0.1",
  port: Number(Bun.env.PORT),
  reusePort: true,
  idleTimeout: 0,
  fetch(request) {
    const url = new URL(request.url);
    return fetch(origin + url.pathname + url.search, request);
  },
});
