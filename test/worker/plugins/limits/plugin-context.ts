/**
 * A PluginContext (worker/plugins/context.ts) for one request, built as the pipeline builds it —
 * real Request, URL and RequestAttributes — for the limits' tests, and the helpers that read what
 * the plugins left in it.
 */
import type { ConsumerEntry } from "../../../../wasm/plugins-section.ts";
import { parseClientIpRule } from "../../../../worker/client-ip.ts";
import type { PluginContext } from "../../../../worker/plugins/context.ts";
import { RequestAttributes } from "../../../../worker/request-attributes.ts";

export interface RequestSpec {
  /** The connection's peer address (default 192.0.2.1). */
  ip?: string;
  headers?: Record<string, string>;
  /** Path and query (default `/`). */
  path?: string;
  consumer?: string;
  /** The consumer's labels (default none). */
  labels?: Record<string, string>;
  /** Default Date.now(). */
  nowMs?: number;
}

export function pluginContext(spec: RequestSpec = {}): PluginContext {
  const request = new Request(`http://gw.test${spec.path ?? "/"}`, { headers: spec.headers });
  const url = new URL(request.url);
  const cf = { clientIp: `${spec.ip ?? "192.0.2.1"}:40000` };
  const consumer: ConsumerEntry | null = spec.consumer
    ? { name: spec.consumer, labels: spec.labels ?? {}, keyHash: null, jwt: null }
    : null;
  return {
    request,
    url,
    attributes: new RequestAttributes(url, request.method, request.headers, cf, parseClientIpRule(undefined, undefined)),
    routeId: 1,
    requestId: "req-1",
    nowMs: spec.nowMs ?? Date.now(),
    ctx: { waitUntil() {} },
    consumer,
    groupOverride: -1,
    upstream: null,
    responseEdits: [],
    finishers: [],
  };
}

/** The answer's headers after the context's response edits, in order. */
export function editedHeaders(c: PluginContext): Headers {
  const headers = new Headers();
  for (const edit of c.responseEdits) edit(headers);
  return headers;
}
