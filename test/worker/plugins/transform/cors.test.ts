/**
 * cors (worker/plugins/transform/cors.ts) on APISIX's t/plugin/cors.t scenarios re-expressed as
 * Sluice settings: preflights answered by the gateway, the fields every other answer gets
 * (replacing the upstream's), origins by list, by `*` and by regex (automata compiled as control
 * compiles them, full-string), and what an origin that is not allowed gets: nothing but Vary.
 */
import { describe, expect, it } from "vitest";
import { compileRegex } from "../../../../control/compiler/regex/index.ts";
import type { CorsPlugin, SearchDfa } from "../../../../wasm/plugins-section.ts";
import { createCors, isPreflight } from "../../../../worker/plugins/transform/cors.ts";
import { answerHeaders, pluginContext } from "../plugin-context.ts";

/** An origin regex as control compiles it for CORS: a full-string match, as the SearchDfa JSON. */
function originDfa(pattern: string): SearchDfa {
  const dfa = compileRegex(`^(?:${pattern})$`);
  return { ...dfa, classMap: [...dfa.classMap], flags: [...dfa.flags], next: [...dfa.next] };
}

const DEFAULTS: CorsPlugin = {
  allowOrigins: ["*"],
  allowOriginsByRegex: [],
  allowMethods: ["*"],
  allowHeaders: ["*"],
  exposeHeaders: [],
  maxAgeSeconds: 5,
  allowCredentials: false,
};
/** cors.t TEST 8: a list of origins, methods, headers, with credentials. */
const SPECIFIED: CorsPlugin = {
  allowOrigins: ["http://sub.domain.com", "http://sub2.domain.com"],
  allowOriginsByRegex: [],
  allowMethods: ["GET", "POST"],
  allowHeaders: ["headr1", "headr2"],
  exposeHeaders: ["ex-headr1", "ex-headr2"],
  maxAgeSeconds: 50,
  allowCredentials: true,
};
const CORS_FIELDS = [
  "access-control-allow-origin",
  "access-control-allow-methods",
  "access-control-allow-headers",
  "access-control-expose-headers",
  "access-control-max-age",
  "access-control-allow-credentials",
  "vary",
];
/** The CORS fields (and Vary) of `headers`, absent ones left out. */
const corsFields = (headers: Headers) => Object.fromEntries(CORS_FIELDS.filter((n) => headers.has(n)).map((n) => [n, headers.get(n)]));

/** A simple (non-preflight) request: the plugin lets it through; the fields its answer gets. */
function simple(config: CorsPlugin, headers: Record<string, string>, upstream: Record<string, string> = {}) {
  const c = pluginContext({ url: "/hello", headers });
  expect(createCors(config).access(c)).toBeNull();
  return corsFields(answerHeaders(c, upstream));
}

describe("cors: answers to simple requests (the response phase)", () => {
  it.each<[string, CorsPlugin, Record<string, string>, Record<string, string>]>([
    [
      "TEST 7: defaults, no Origin: `*` everywhere, no Vary",
      DEFAULTS,
      {},
      {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "*",
        "access-control-max-age": "5",
      },
    ],
    [
      "defaults with an Origin and request headers: `*` headers echo them",
      DEFAULTS,
      { origin: "https://a.test", "access-control-request-headers": "x-a,x-b" },
      {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "*",
        "access-control-allow-headers": "x-a,x-b",
        "access-control-max-age": "5",
      },
    ],
    [
      "TEST 9: a listed origin is echoed, with every field and Vary",
      SPECIFIED,
      { origin: "http://sub2.domain.com" },
      {
        "access-control-allow-origin": "http://sub2.domain.com",
        "access-control-allow-methods": "GET,POST",
        "access-control-allow-headers": "headr1,headr2",
        "access-control-expose-headers": "ex-headr1,ex-headr2",
        "access-control-max-age": "50",
        "access-control-allow-credentials": "true",
        vary: "Origin",
      },
    ],
    ["TEST 10: an origin not listed gets no CORS fields", SPECIFIED, { origin: "http://sub3.domain.com" }, { vary: "Origin" }],
    ["TEST 37: no Origin with a list: no CORS fields", SPECIFIED, {}, { vary: "Origin" }],
    [
      "TEST 29: an origin matching a regex",
      { ...SPECIFIED, allowOriginsByRegex: [originDfa(".*\\.test\\.com")] },
      { origin: "http://a.test.com" },
      {
        "access-control-allow-origin": "http://a.test.com",
        "access-control-allow-methods": "GET,POST",
        "access-control-allow-headers": "headr1,headr2",
        "access-control-expose-headers": "ex-headr1,ex-headr2",
        "access-control-max-age": "50",
        "access-control-allow-credentials": "true",
        vary: "Origin",
      },
    ],
    [
      "TEST 30: an origin matching no regex",
      { ...SPECIFIED, allowOriginsByRegex: [originDfa(".*\\.test\\.com")] },
      { origin: "http://a.test2.com" },
      { vary: "Origin" },
    ],
    [
      "TEST 32: the second of two regexes",
      { ...DEFAULTS, allowOriginsByRegex: [originDfa(".*\\.test\\.com"), originDfa(".*\\.example\\.org")] },
      { origin: "http://foo.example.org" },
      {
        "access-control-allow-origin": "http://foo.example.org",
        "access-control-allow-methods": "*",
        "access-control-max-age": "5",
        vary: "Origin",
      },
    ],
    [
      "TEST 33: regexes alone decide when allowOrigins is `*`",
      { ...DEFAULTS, allowOriginsByRegex: [originDfa(".*\\.test\\.com"), originDfa(".*\\.example\\.org")] },
      { origin: "http://foo.example.com" },
      { vary: "Origin" },
    ],
    [
      "full-string match: a regex origin followed by more text is refused",
      { ...DEFAULTS, allowOriginsByRegex: [originDfa("https://[a-z]+\\.test\\.com")] },
      { origin: "https://a.test.com.evil.example" },
      { vary: "Origin" },
    ],
    [
      "max age -1 omits the field",
      { ...DEFAULTS, maxAgeSeconds: -1 },
      {},
      { "access-control-allow-origin": "*", "access-control-allow-methods": "*" },
    ],
  ])("%s", (_name, config, headers, want) => {
    expect(simple(config, headers)).toEqual(want);
  });

  it("TEST 18-23: the plugin's fields replace the upstream's, and Vary is added to the upstream's", () => {
    const upstream = {
      "access-control-allow-origin": "https://evil.example",
      "access-control-allow-methods": "methods",
      "access-control-max-age": "10",
      "access-control-allow-credentials": "false",
      vary: "Accept-Encoding",
    };
    expect(simple(SPECIFIED, { origin: "http://sub.domain.com" }, upstream)).toMatchObject({
      "access-control-allow-origin": "http://sub.domain.com",
      "access-control-allow-methods": "GET,POST",
      "access-control-max-age": "50",
      "access-control-allow-credentials": "true",
      vary: "Accept-Encoding, Origin",
    });
  });

  it("any origin with credentials echoes the origin instead of `*`", () => {
    const got = simple({ ...DEFAULTS, allowCredentials: true }, { origin: "https://a.test" });
    expect(got["access-control-allow-origin"]).toBe("https://a.test");
    expect(got.vary).toBe("Origin");
  });
});

describe("cors: preflights are answered by the gateway", () => {
  const preflight = (config: CorsPlugin, headers: Record<string, string>) => {
    const c = pluginContext({ url: "/hello", method: "OPTIONS", headers });
    const answer = createCors(config).access(c) as Response | null;
    return { answer, c };
  };

  it("an allowed origin: 200, empty, with the fields; nothing left for the response phase", async () => {
    const { answer, c } = preflight(SPECIFIED, { origin: "http://sub.domain.com", "access-control-request-method": "POST" });
    expect(answer?.status).toBe(200);
    expect(await answer?.text()).toBe("");
    expect(corsFields(answer?.headers as Headers)).toEqual({
      "access-control-allow-origin": "http://sub.domain.com",
      "access-control-allow-methods": "GET,POST",
      "access-control-allow-headers": "headr1,headr2",
      "access-control-expose-headers": "ex-headr1,ex-headr2",
      "access-control-max-age": "50",
      "access-control-allow-credentials": "true",
      vary: "Origin",
    });
    expect(c.responseEdits).toHaveLength(0);
  });

  it("`*` headers echo Access-Control-Request-Headers (TEST 12)", () => {
    const { answer } = preflight(DEFAULTS, {
      origin: "https://sub.domain.com",
      "access-control-request-method": "PUT",
      "access-control-request-headers": "req-header1,req-header2",
    });
    expect(answer?.headers.get("access-control-allow-headers")).toBe("req-header1,req-header2");
    expect(answer?.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("an origin not allowed: still 200, without CORS fields (APISIX)", () => {
    const { answer } = preflight(SPECIFIED, { origin: "http://sub3.domain.com", "access-control-request-method": "POST" });
    expect(answer?.status).toBe(200);
    expect(corsFields(answer?.headers as Headers)).toEqual({ vary: "Origin" });
  });

  it("OPTIONS without Access-Control-Request-Method is not a preflight: it goes upstream", () => {
    const { answer, c } = preflight(SPECIFIED, { origin: "http://sub.domain.com" });
    expect(answer).toBeNull();
    expect(corsFields(answerHeaders(c))["access-control-allow-origin"]).toBe("http://sub.domain.com");
    expect(isPreflight(new Request("http://gw.test/", { method: "OPTIONS", headers: { "access-control-request-method": "GET" } }))).toBe(
      false,
    );
  });
});
