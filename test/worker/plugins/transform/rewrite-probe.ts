/**
 * Runs proxy-rewrite on one client request inside a gateway runtime and sends the attempt the way
 * forward() does (worker/proxy.ts upstreamRequest, then the runtime's own fetch()), so
 * runtimes.test.ts can see what reaches a real upstream on workerd, Bun and Deno.
 */
import type { ProxyRewritePlugin } from "../../../../wasm/plugins-section.ts";
import { parseClientIpRule } from "../../../../worker/client-ip.ts";
import type { PluginContext } from "../../../../worker/plugins/context.ts";
import { createProxyRewrite } from "../../../../worker/plugins/transform/proxy-rewrite.ts";
import { upstreamRequest } from "../../../../worker/proxy.ts";
import { RequestAttributes } from "../../../../worker/request-attributes.ts";

/** Sends `clientUrl` (with `headers`) through proxy-rewrite `config` to 127.0.0.1:`port`. @returns the upstream's status. */
export async function rewriteAndSend(
  config: ProxyRewritePlugin,
  clientUrl: string,
  headers: Record<string, string>,
  port: number,
): Promise<number> {
  const request = new Request(clientUrl, { headers });
  const url = new URL(request.url);
  const c: PluginContext = {
    request,
    url,
    attributes: new RequestAttributes(url, request.method, request.headers, undefined, parseClientIpRule(undefined, undefined)),
    routeId: 1,
    requestId: "probe",
    nowMs: 0,
    ctx: { waitUntil: () => {} },
    consumer: null,
    groupOverride: -1,
    upstream: null,
    responseEdits: [],
    finishers: [],
  };
  createProxyRewrite(config).access(c);
  const propagated = { requestId: "probe", traceparent: null, tracestate: null };
  const attempt = upstreamRequest(
    request,
    url,
    { host: "127.0.0.1", port },
    null,
    null,
    new AbortController().signal,
    propagated,
    c.upstream,
  );
  const response = await fetch(attempt);
  await response.arrayBuffer();
  return response.status;
}
