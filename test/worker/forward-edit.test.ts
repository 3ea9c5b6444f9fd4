/**
 * forward() (worker/forward.ts) with the UpstreamEdit the route's plugins leave in the context,
 * against real HTTP upstreams on 127.0.0.1 that record what arrives (test/support/
 * recording-upstream.ts): the rewritten path and query, the edited headers — applied again on a
 * retry, with that attempt's instance — and the Host. And without an edit, the client's request
 * as before.
 *
 * Host: the edit sets it on each attempt's Request, but fetch() sends the URL's authority — Node's
 * (undici) as workerd's (measured: workerd 2026 sends `Host: <instance host:port>` whatever the
 * Request's Host), so the upstream receives the instance's address; X-Forwarded-Host carries the
 * client's.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileCaptureRegex } from "../../control/compiler/regex/index.ts";
import type { ConfigModel, InstanceConfig } from "../../control/snapshot/model.ts";
import type { ProxyRewritePlugin } from "../../wasm/plugins-section.ts";
import { parseTemplate } from "../../wasm/template.ts";
import { type ForwardScope, forward } from "../../worker/forward.ts";
import type { PluginContext } from "../../worker/plugins/context.ts";
import { createProxyRewrite } from "../../worker/plugins/transform/proxy-rewrite.ts";
import { newExchange } from "../../worker/telemetry/exchange.ts";
import { MetricsAggregator } from "../../worker/telemetry/metrics.ts";
import { type Received, type RecordingUpstream, startRecordingUpstream } from "../support/recording-upstream.ts";
import { group, instantiate, request, route, write } from "../support/wasm-fixtures.ts";
import { pluginContext } from "./plugins/plugin-context.ts";

let first: RecordingUpstream;
let second: RecordingUpstream;

beforeAll(async () => {
  first = await startRecordingUpstream();
  second = await startRecordingUpstream();
});

afterAll(async () => {
  await first.close();
  await second.close();
});

const instanceOn = (id: number, port: number): InstanceConfig => ({
  id,
  host: "127.0.0.1",
  port,
  weight: 1,
  status: "alive",
  zone: "",
  lane: "",
  version: "",
});

/** Header values as received, by lowercase name. */
const field = (got: Received, name: string) => got.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);

const REWRITE: ProxyRewritePlugin = {
  path: { kind: "regex", nfa: compileCaptureRegex("^/api/(v[0-9]+)/(.*)"), replacement: parseTemplate("/$2/$1", true) },
  passHost: "rewrite",
  host: "internal.example",
  headers: {
    set: [["x-user", parseTemplate("$http_x_client-$consumer_name")]],
    add: [["x-trace-tag", parseTemplate("edge")]],
    remove: ["x-secret"],
  },
  query: { add: [["from", parseTemplate("$remote_addr")]], remove: ["apikey"] },
};

/** Sends `c`'s request through forward() on a one-group route of `instances`, retrying once on a 5xx. */
async function send(c: PluginContext, instances: InstanceConfig[]): Promise<Response> {
  const { hot } = await instantiate();
  const retry = {
    retryOn: ["5xx" as const],
    numRetries: 1,
    perTryTimeoutMs: 0,
    retryNonIdempotent: false,
    backoffBaseMs: 1,
    backoffMaxMs: 2,
    budgetPercent: 100,
    minRetryConcurrency: 10,
  };
  const model: ConfigModel = { groups: [group(1, "main", instances)], policies: [], routes: [route(1, "*", "/", { retry })] };
  expect(hot.load(write(model, 1n)).ok).toBe(true);
  const attributes = request(c.url.hostname, c.url.pathname);
  const now = Date.now();
  const d = hot.decide(attributes, now);
  const scope: ForwardScope = { hot, waiters: new Map(), counts: new Map(), retries: 0, metrics: new MetricsAggregator() };
  const decided = { route: d.route, group: d.group, instance: d.instance, probe: d.probe, atMs: now };
  return forward(scope, c.request, c.url, attributes, decided, "10.9.8.7", undefined, newExchange("req-16"), c.upstream);
}

describe("forward() with an UpstreamEdit", () => {
  it("the upstream receives the rewritten path, query and headers; Host is the instance's address", async () => {
    first.expect((_req, res) => res.writeHead(200).end("ok"));
    const c = pluginContext({
      url: "http://shop.test:8080/api/v2/orders/7?apikey=s3cret&page=2",
      headers: { "x-client": "web", "x-secret": "hide-me" },
      peer: "10.9.8.7:4000",
      consumer: "alice",
    });
    expect(createProxyRewrite(REWRITE).access(c)).toBeNull();
    const res = await send(c, [instanceOn(1, first.port)]);
    expect(res.status).toBe(200);
    const got = first.received[0] as Received;
    expect(got.target).toBe("/orders/7/v2?page=2&from=10.9.8.7");
    expect(field(got, "x-user")).toEqual(["web-alice"]);
    expect(field(got, "x-trace-tag")).toEqual(["edge"]);
    expect(field(got, "x-secret")).toEqual([]);
    expect(field(got, "x-client")).toEqual(["web"]); // untouched fields pass
    expect(field(got, "host")).toEqual([`127.0.0.1:${first.port}`]);
    expect(field(got, "x-forwarded-host")).toEqual(["shop.test:8080"]);
    expect(field(got, "x-forwarded-for")).toEqual(["10.9.8.7"]);
    // Routing saw the client's request: the context's URL is unchanged.
    expect(c.url.pathname + c.url.search).toBe("/api/v2/orders/7?apikey=s3cret&page=2");
  });

  it("a retry on another instance gets the same edit, applied with its own target", async () => {
    // Whichever instance is picked first answers 503; the retry goes to the other.
    let answered = 0;
    const firstBusy: Parameters<RecordingUpstream["expect"]>[0] = (_req, res) => {
      answered++;
      res.writeHead(answered === 1 ? 503 : 200).end();
    };
    first.expect(firstBusy);
    second.expect(firstBusy);
    const c = pluginContext({ url: "http://shop.test/api/v1/x" });
    const seen: string[] = [];
    createProxyRewrite({ ...REWRITE, passHost: "node", host: null }).access(c);
    c.upstream?.headers.push((headers, target) => {
      seen.push(`${target.host}:${target.port}=${headers.get("host")}`);
    });
    const res = await send(c, [instanceOn(1, first.port), instanceOn(2, second.port)]);
    expect(res.status).toBe(200);
    const all = [...first.received, ...second.received];
    expect(all.map((r) => r.target)).toEqual(["/x/v1?from=192.0.2.1", "/x/v1?from=192.0.2.1"]);
    expect(all.map((r) => field(r, "x-trace-tag"))).toEqual([["edge"], ["edge"]]); // once per attempt, not accumulated
    expect(seen.sort()).toEqual(
      [`127.0.0.1:${first.port}=127.0.0.1:${first.port}`, `127.0.0.1:${second.port}=127.0.0.1:${second.port}`].sort(),
    );
  });

  it("without an edit the client's path, query and headers go upstream as before", async () => {
    first.expect((_req, res) => res.writeHead(200).end("ok"));
    const c = pluginContext({ url: "http://shop.test/api/v2/orders?apikey=s3cret", headers: { "x-secret": "kept" } });
    const res = await send(c, [instanceOn(1, first.port)]);
    expect(res.status).toBe(200);
    const got = first.received[0] as Received;
    expect(got.target).toBe("/api/v2/orders?apikey=s3cret");
    expect(field(got, "x-secret")).toEqual(["kept"]);
  });
});
