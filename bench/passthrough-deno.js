/**
 * The Deno ceiling for `npm run bench` (bench/passthrough.ts starts it): Deno.serve + Deno's own
 * fetch() to one upstream, the request's method, headers, body, path and query forwarded and the
 * upstream's response returned as is, as bench/passthrough-worker.js does on workerd. No
 * routing, no header rewriting, no timeout, no fetch shim. Environment: UPSTREAM_ORIGIN
 * (e.g. `http://127.0.0.1:9101`), PORT; every process binds the port with `reusePort`.
 */
const origin = Deno.env.get("UPSTREAM_ORIGIN");
Deno.serve({ hostname: "127.0.0.1", port: Number(Deno.env.get("PORT")), reusePort: true, onListen() {} }, (request) => {
  const url = new URL(request.url);
  // Not `fetch(url, request)`: that would carry request.signal, which Deno.serve aborts once the
  // response is delivered (legacy behaviour), and Deno then logs an AbortError per request.
  return fetch(origin + url.pathname + url.search, { method: request.method, headers: request.headers, body: request.body });
});
