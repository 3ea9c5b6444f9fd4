/**
 * The runtime's own ceiling for `npm run bench` (bench/gateway.ts): a Worker that forwards each
 * request — method, headers, body, path and query — to one upstream with fetch() and returns the
 * upstream's response as is. No routing, no header rewriting, no timeout. Binding
 * UPSTREAM_ORIGIN (text), e.g. `http://127.0.0.1:9101`.
 */
export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return fetch(env.UPSTREAM_ORIGIN + url.pathname + url.search, request);
  },
};
