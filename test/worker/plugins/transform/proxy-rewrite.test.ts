/**
 * proxy-rewrite (worker/plugins/transform/proxy-rewrite.ts) on APISIX's t/plugin/proxy-rewrite.t,
 * proxy-rewrite2.t and proxy-rewrite3.t scenarios re-expressed as Sluice settings: each case runs
 * the plugin on a real Request and builds the attempt exactly as forward() does
 * (worker/proxy.ts upstreamRequest), then reads the path, query and headers it would send.
 */
import { describe, expect, it } from "vitest";
import { compileCaptureRegex } from "../../../../control/compiler/regex/index.ts";
import type { ProxyRewritePlugin } from "../../../../wasm/plugins-section.ts";
import { parseTemplate } from "../../../../wasm/template.ts";
import { createProxyRewrite, nodeHost } from "../../../../worker/plugins/transform/proxy-rewrite.ts";
import { pluginContext, type TestRequest, upstreamOf, upstreamTarget } from "../plugin-context.ts";

/** The settings as admission would compile them (`regexUri` → capture automaton, values → templates). */
interface Settings {
  uri?: string;
  stripPrefix?: string;
  regexUri?: [string, string];
  host?: string;
  passHost?: "pass" | "node" | "rewrite";
  headers?: { set?: Record<string, string>; add?: Record<string, string>; remove?: string[] };
  query?: { add?: Record<string, string>; remove?: string[] };
}

function compile(s: Settings): ProxyRewritePlugin {
  const templates = (o: Record<string, string> = {}) =>
    Object.entries(o).map(([k, v]) => [k.toLowerCase(), parseTemplate(v)] as [string, ReturnType<typeof parseTemplate>]);
  return {
    path: s.uri
      ? { kind: "set", path: parseTemplate(s.uri) }
      : s.stripPrefix
        ? { kind: "strip", prefix: s.stripPrefix }
        : s.regexUri
          ? { kind: "regex", nfa: compileCaptureRegex(s.regexUri[0]), replacement: parseTemplate(s.regexUri[1], true) }
          : null,
    passHost: s.host ? "rewrite" : (s.passHost ?? "pass"),
    host: s.host ?? null,
    headers: {
      set: templates(s.headers?.set),
      add: templates(s.headers?.add),
      remove: (s.headers?.remove ?? []).map((h) => h.toLowerCase()),
    },
    query: { add: templates(s.query?.add), remove: s.query?.remove ?? [] },
  };
}

/** Runs the plugin on `req` and returns the attempt Request forward() would send to 127.0.0.1:1980. */
function rewrite(settings: Settings, req: TestRequest) {
  const c = pluginContext({ routeId: 7, requestId: "req-16", ...req });
  expect(createProxyRewrite(compile(settings)).access(c)).toBeNull();
  return { c, target: upstreamTarget(c), headers: upstreamOf(c).headers };
}

describe("proxy-rewrite: the path and query sent upstream", () => {
  it.each<[string, Settings, string, string]>([
    // [scenario, settings, client path, upstream target]
    ["uri set (proxy-rewrite.t TEST 2)", { uri: "/test/add" }, "/hello", "/test/add"],
    [
      "uri keeps the client's args (TEST 16)",
      { uri: "/plugin_proxy_rewrite_args" },
      "/hello?q=apisix&a=iresty",
      "/plugin_proxy_rewrite_args?q=apisix&a=iresty",
    ],
    ["uri with no args (TEST 18)", { uri: "/plugin_proxy_rewrite_args" }, "/hello", "/plugin_proxy_rewrite_args"],
    ["uri with its own query, args appended with &", { uri: "/v2?x=1" }, "/hello?q=a", "/v2?x=1&q=a"],
    ["uri from variables (proxy-rewrite3.t TEST 23: /$uri/remain)", { uri: "$uri/remain" }, "/hello", "/hello/remain"],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: nginx variables in a template, not JS
    ["uri from a header and a query parameter", { uri: "/u/${http_x_user}/$arg_id" }, "/x?id=42", "/u/alice%20b/42?id=42"],
    [
      "regexUri with three captures (TEST 21-22)",
      { regexUri: ["^/test/(.*)/(.*)/(.*)", "/$1_$2_$3"] },
      "/test/plugin/proxy/rewrite",
      "/plugin_proxy_rewrite",
    ],
    ["regexUri not matching keeps the path (TEST 23)", { regexUri: ["^/test/(.*)/(.*)/(.*)", "/$1_$2_$3"] }, "/test/not", "/test/not"],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: nginx variables in a template, not JS
    ["regexUri ${1} form (TEST 24-25)", { regexUri: ["^/test/(.*)", "/${1}1"] }, "/test/hello", "/hello1"],
    ["regexUri replaces the first match only, args kept", { regexUri: ["/v1/", "/v2/"] }, "/a/v1/b/v1/c?k=v", "/a/v2/b/v1/c?k=v"],
    ["regexUri capture that did not take part is empty", { regexUri: ["^/(x)?(y)", "/($1)($2)"] }, "/y", "/()(y)"],
    ["regexUri over UTF-8: captures map back to the encoded path", { regexUri: ["^/(.*)/end$", "/$1"] }, "/é/end", "/%C3%A9"],
    ["stripPrefix /api on /api/x", { stripPrefix: "/api" }, "/api/x?a=1", "/x?a=1"],
    ["stripPrefix /api on /api", { stripPrefix: "/api" }, "/api", "/"],
    ["stripPrefix /api on /api/", { stripPrefix: "/api" }, "/api/", "/"],
    ["stripPrefix /api/ on /api/x/y", { stripPrefix: "/api/" }, "/api/x/y", "/x/y"],
    ["stripPrefix on a segment boundary only: /apix is kept", { stripPrefix: "/api" }, "/apix", "/apix"],
    ["query.remove (hide a credential)", { query: { remove: ["apikey"] } }, "/p?a=1&apikey=s&b=2&apikey=t", "/p?a=1&b=2"],
    ["query.add with a template", { query: { add: { user: "$http_x_user", v: "2" } } }, "/p?a=1", "/p?a=1&user=alice%20b&v=2"],
    ["query.remove + add replaces", { query: { remove: ["v"], add: { v: "2" } } }, "/p?v=1", "/p?v=2"],
    ["query edits after a rewrite", { stripPrefix: "/api", query: { add: { z: "1" } } }, "/api/x", "/x?z=1"],
    [
      "CRLF in the client's path stays encoded (proxy-rewrite3.t TEST 22)",
      { uri: "$uri" },
      "/hello%3f0z=700%26a=c%20HTTP/1.1%0D%0AHost:google.com",
      "/hello%3f0z=700%26a=c%20HTTP/1.1%0D%0AHost:google.com",
    ],
    ["a rendered header cannot inject a fragment or a space", { uri: "/u/$http_x_user#x" }, "/", "/u/alice%20b%23x"],
  ])("%s", (_name, settings, path, want) => {
    expect(rewrite(settings, { url: path, headers: { "x-user": "alice b" } }).target).toBe(want);
  });

  it("starts from what an earlier plugin left (key-auth hide_credentials), and routing keeps the client's URL", () => {
    const c = pluginContext({ url: "/api/x?apikey=s&a=1" });
    c.upstream = { pathAndQuery: "/api/x?a=1", headers: [] };
    createProxyRewrite(compile({ stripPrefix: "/api" })).access(c);
    expect(upstreamTarget(c)).toBe("/x?a=1");
    expect(c.url.pathname + c.url.search).toBe("/api/x?apikey=s&a=1");
  });

  it("leaves the path alone when it only edits headers", () => {
    const c = pluginContext({ url: "/a?b=1" });
    createProxyRewrite(compile({ headers: { set: { "x-a": "1" } } })).access(c);
    expect(c.upstream?.pathAndQuery).toBeNull();
    expect(upstreamTarget(c)).toBe("/a?b=1");
  });
});

describe("proxy-rewrite: headers sent upstream", () => {
  it("set overrides the client's (TEST 9-10: X-Api-Version)", () => {
    const { headers } = rewrite({ headers: { set: { "X-Api-Version": "v2" } } }, { headers: { "X-Api-Version": "v1" } });
    expect(headers.get("x-api-version")).toBe("v2");
  });

  it("add / set / remove in APISIX's order (proxy-rewrite3.t TEST 14-20)", () => {
    const settings: Settings = { headers: { add: { test: "123" }, set: { test2: "2233" }, remove: ["hello"] } };
    const { headers } = rewrite(settings, { headers: { test: "abc", hello: "world" } });
    expect(headers.get("test")).toBe("abc, 123"); // added to the existing value
    expect(headers.get("test2")).toBe("2233");
    expect(headers.has("hello")).toBe(false);
    // TEST 19-20: add then set of one name: set wins.
    const both = rewrite({ headers: { add: { test: "test_in_add" }, set: { test: "test_in_set" } } }, {}).headers;
    expect(both.get("test")).toBe("test_in_set");
  });

  it("renders variables: client address, consumer, route, request id, cookie, method, scheme, host, args", () => {
    const settings: Settings = {
      headers: {
        set: {
          "x-ip": "$remote_addr",
          "x-who": "$consumer_name",
          "x-route": "route-$route_id",
          // biome-ignore lint/suspicious/noTemplateCurlyInString: nginx variables in a template, not JS
          "x-rid": "${request_id}",
          "x-sess": "$cookie_sess",
          "x-line": "$request_method $scheme://$host$uri?$args",
          "x-missing": "[$http_x_none][$arg_none][$cookie_none]",
          "x-dollar": "$$5",
        },
      },
    };
    const { headers } = rewrite(settings, {
      url: "https://API.Example.com:8443/p/q?a=1&b=2",
      method: "POST",
      headers: { cookie: "sess=s1; other=2", "x-forwarded-for": "203.0.113.9" },
      peer: "10.0.0.1:5555",
      trustedProxies: "10.0.0.0/8",
      consumer: "alice",
    });
    expect(
      Object.fromEntries([...headers].filter(([k]) => k.startsWith("x-") && !k.startsWith("x-forwarded") && k !== "x-request-id")),
    ).toEqual({
      "x-ip": "203.0.113.9",
      "x-who": "alice",
      "x-route": "route-7",
      "x-rid": "req-16",
      "x-sess": "s1",
      "x-line": "POST https://api.example.com/p/q?a=1&b=2",
      "x-missing": "[][][]",
      "x-dollar": "$5",
    });
  });

  it("runs after Sluice's own fields, so it may replace X-Forwarded-Host (proxy-rewrite3.t TEST 12-13)", () => {
    const { headers } = rewrite({ headers: { set: { "X-Forwarded-Host": "test.com" } } }, {});
    expect(headers.get("x-forwarded-host")).toBe("test.com");
  });
});

describe("proxy-rewrite: Host per passHost (on the attempt's Request)", () => {
  it.each<[string, Settings, string]>([
    ["pass: the client's Host", { passHost: "pass" }, "gw.test:8080"],
    ["node: the instance's host:port", { passHost: "node" }, "10.1.2.3:8081"],
    ["rewrite: the configured host (proxy-rewrite.t TEST 5-6)", { host: "apisix.iresty.com" }, "apisix.iresty.com"],
  ])("%s", (_name, settings, want) => {
    const c = pluginContext({ url: "http://gw.test:8080/x" });
    createProxyRewrite(compile(settings)).access(c);
    expect(upstreamOf(c, { host: "10.1.2.3", port: 8081 }).headers.get("host")).toBe(want);
  });

  it("node Host brackets IPv6 and leaves out port 80", () => {
    expect(nodeHost({ host: "::1", port: 8080 })).toBe("[::1]:8080");
    expect(nodeHost({ host: "svc.internal", port: 80 })).toBe("svc.internal");
  });

  it("is applied per attempt with that attempt's target (a retry on another instance)", () => {
    const c = pluginContext({ url: "/x" });
    createProxyRewrite(compile({ passHost: "node" })).access(c);
    expect(upstreamOf(c, { host: "10.0.0.1", port: 1 }).headers.get("host")).toBe("10.0.0.1:1");
    expect(upstreamOf(c, { host: "10.0.0.2", port: 2 }).headers.get("host")).toBe("10.0.0.2:2");
  });
});
