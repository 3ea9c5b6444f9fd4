/**
 * key-auth with APISIX's semantics, t/plugin/key-auth.t re-expressed as tables: the key from the
 * header, else the query; 401 messages; custom header / query names; hide_credentials on the
 * header or the parameter the key came from; X-Consumer-Username set and never spoofable;
 * anonymous; and the hash cache: synchronous once a key is known, bounded, never stale across
 * snapshots (a consumer removed from the snapshot is refused at once).
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { ConsumerEntry, KeyAuthPlugin } from "../../../../wasm/plugins-section.ts";
import { ConsumerDirectory } from "../../../../worker/plugins/auth/consumer-directory.ts";
import { createKeyAuth } from "../../../../worker/plugins/auth/key-auth.ts";
import { KeyHashCache } from "../../../../worker/plugins/auth/key-hash-cache.ts";
import { pluginContext, runAccess, type TestRequest, upstreamHeaders, upstreamTarget } from "../plugin-context.ts";

const sha256 = (key: string) => createHash("sha256").update(key).digest("hex");
const consumer = (name: string, key: string): ConsumerEntry => ({ name, labels: { tier: "gold" }, keyHash: sha256(key), jwt: null });
// TEST 3 and TEST 8: "jack" with auth-one, and user_1 … user_20 with auth-1 … auth-20.
const CONSUMERS = [consumer("jack", "auth-one"), ...Array.from({ length: 20 }, (_, i) => consumer(`user_${i + 1}`, `auth-${i + 1}`))];
const DEFAULTS: KeyAuthPlugin = { header: "apikey", query: "apikey", hideCredentials: false, anonymous: false };

interface Case {
  name: string;
  config?: Partial<KeyAuthPlugin>;
  request: TestRequest;
  /** The 401 message, or the consumer's name when the request goes on (null: anonymous). */
  want: { status: 401; message: string } | { consumer: string | null };
  /** Upstream headers that must be present (value) or absent (null). */
  upstream?: Record<string, string | null>;
  upstreamPath?: string;
}

const cases: Case[] = [
  {
    name: "TEST 5: valid key in the header",
    request: { headers: { apikey: "auth-one" } },
    want: { consumer: "jack" },
    upstream: { "x-consumer-username": "jack" },
  },
  { name: "TEST 6: invalid key", request: { headers: { apikey: "123" } }, want: { status: 401, message: "Invalid API key in request" } },
  { name: "TEST 7: no key", request: {}, want: { status: 401, message: "Missing API key in request" } },
  { name: "TEST 8: one of 20 consumers", request: { headers: { apikey: "auth-13" } }, want: { consumer: "user_13" } },
  {
    name: "empty header value is a key, and invalid (as APISIX)",
    request: { headers: { apikey: "" } },
    want: { status: 401, message: "Invalid API key in request" },
  },
  { name: "key in the query", request: { path: "/hello?apikey=auth-one" }, want: { consumer: "jack" } },
  {
    name: "header wins over the query",
    request: { path: "/hello?apikey=auth-one", headers: { apikey: "bad" } },
    want: { status: 401, message: "Invalid API key in request" },
  },
  {
    name: "TEST 10/11: custom header Authorization",
    config: { header: "authorization" },
    request: { headers: { Authorization: "auth-one" } },
    want: { consumer: "jack" },
  },
  {
    name: "TEST 10: custom header, default header ignored",
    config: { header: "authorization" },
    request: { headers: { apikey: "auth-one" } },
    want: { status: 401, message: "Missing API key in request" },
  },
  {
    name: "TEST 12/13: custom query string",
    config: { query: "auth" },
    request: { path: "/hello?auth=auth-one" },
    want: { consumer: "jack" },
  },
  {
    name: "TEST 15: hide_credentials=false keeps the header",
    request: { headers: { apikey: "auth-one" } },
    want: { consumer: "jack" },
    upstream: { apikey: "auth-one" },
  },
  {
    name: "TEST 17/18: hide_credentials removes only the key header",
    config: { hideCredentials: true },
    request: { headers: { apikey: "auth-one", test: "auth-two" } },
    want: { consumer: "jack" },
    upstream: { apikey: null, test: "auth-two" },
  },
  {
    name: "TEST 19: key in header and query: the header is hidden, the query kept",
    config: { hideCredentials: true },
    request: { path: "/echo?apikey=auth-one", headers: { apikey: "auth-one" } },
    want: { consumer: "jack" },
    upstream: { apikey: null },
    upstreamPath: "/echo?apikey=auth-one",
  },
  {
    name: "TEST 21/22: hide_credentials removes only the key parameter",
    config: { query: "auth", hideCredentials: true },
    request: { path: "/echo?auth=auth-one&test=auth-two" },
    want: { consumer: "jack" },
    upstreamPath: "/echo?test=auth-two",
  },
  {
    name: "TEST 21: the only parameter hidden leaves no '?'",
    config: { query: "auth", hideCredentials: true },
    request: { path: "/echo?auth=auth-one" },
    want: { consumer: "jack" },
    upstreamPath: "/echo",
  },
  {
    name: "TEST 23: key in the query, a same-named header is not the credential and stays",
    config: { query: "auth", hideCredentials: true },
    request: { path: "/echo?auth=auth-one", headers: { auth: "auth-one" } },
    want: { consumer: "jack" },
    upstream: { auth: "auth-one" },
    upstreamPath: "/echo",
  },
  {
    name: "TEST 25: hide_credentials=false keeps the parameter",
    config: { query: "auth" },
    request: { path: "/echo?auth=auth-one&x=%20y" },
    want: { consumer: "jack" },
    upstreamPath: "/echo?auth=auth-one&x=%20y",
  },
  {
    name: "a client-sent X-Consumer-Username is replaced by the consumer's",
    request: { headers: { apikey: "auth-13", "x-consumer-username": "jack" } },
    want: { consumer: "user_13" },
    upstream: { "x-consumer-username": "user_13" },
  },
  {
    name: "anonymous: no key → on without a consumer, a spoofed X-Consumer-Username removed",
    config: { anonymous: true },
    request: { headers: { "x-consumer-username": "jack" } },
    want: { consumer: null },
    upstream: { "x-consumer-username": null },
  },
  {
    name: "anonymous: an invalid key is still refused",
    config: { anonymous: true },
    request: { headers: { apikey: "nope" } },
    want: { status: 401, message: "Invalid API key in request" },
  },
];

describe("key-auth (APISIX t/plugin/key-auth.t)", () => {
  const directory = new ConsumerDirectory(CONSUMERS, new KeyHashCache());
  it.each(cases.map((c) => [c.name, c] as const))("%s", async (_, tc) => {
    const plugin = createKeyAuth({ ...DEFAULTS, ...tc.config }, directory);
    const c = pluginContext(tc.request);
    const answer = await runAccess(plugin, c);
    if ("status" in tc.want) {
      expect(answer?.status).toBe(401);
      expect(answer?.body).toEqual({ error: "unauthorized", message: tc.want.message });
      expect(answer?.headers.get("www-authenticate")).toBe('apikey realm="key"');
      expect(c.consumer).toBeNull();
      return;
    }
    expect(answer).toBeNull();
    expect(c.consumer?.name ?? null).toBe(tc.want.consumer);
    const headers = upstreamHeaders(c);
    for (const [name, value] of Object.entries(tc.upstream ?? {})) expect(headers.get(name), name).toBe(value);
    if (tc.upstreamPath !== undefined) expect(upstreamTarget(c)).toBe(tc.upstreamPath);
  });
});

describe("key-auth's presented-key cache", () => {
  it("answers synchronously once the key has been hashed in the isolate, valid or not", async () => {
    const cache = new KeyHashCache();
    const plugin = createKeyAuth(DEFAULTS, new ConsumerDirectory(CONSUMERS, cache));
    for (const key of ["auth-one", "unknown"]) {
      const first = plugin.access(pluginContext({ headers: { apikey: key } }));
      expect(first).toBeInstanceOf(Promise);
      await first;
      const c = pluginContext({ headers: { apikey: key } });
      const second = plugin.access(c);
      expect(second instanceof Promise).toBe(false);
      expect(second === null ? "ok" : (second as Response).status).toBe(key === "auth-one" ? "ok" : 401);
    }
  });

  it("is not stale across snapshots: a consumer removed from the next snapshot is refused", async () => {
    const cache = new KeyHashCache();
    const before = createKeyAuth(DEFAULTS, new ConsumerDirectory(CONSUMERS, cache));
    expect(await runAccess(before, pluginContext({ headers: { apikey: "auth-one" } }))).toBeNull();
    const after = createKeyAuth(DEFAULTS, new ConsumerDirectory(CONSUMERS.slice(1), cache));
    const c = pluginContext({ headers: { apikey: "auth-one" } });
    const answer = after.access(c);
    expect(answer instanceof Promise).toBe(false); // still the cached hash …
    expect((answer as Response).status).toBe(401); // … looked up in the new consumers
    // A key added in the next snapshot is found too.
    const added = createKeyAuth(DEFAULTS, new ConsumerDirectory([...CONSUMERS, consumer("new", "unknown-before")], cache));
    await runAccess(before, pluginContext({ headers: { apikey: "unknown-before" } }));
    const c2 = pluginContext({ headers: { apikey: "unknown-before" } });
    expect(await runAccess(added, c2)).toBeNull();
    expect(c2.consumer?.name).toBe("new");
  });

  it("is bounded: the oldest keys are dropped beyond its capacity", async () => {
    const cache = new KeyHashCache(3);
    for (const key of ["a", "b", "c", "d", "e"]) expect(await cache.hash(key)).toBe(sha256(key));
    expect(cache.size).toBe(3);
    expect(cache.get("a")).toBeUndefined();
    expect(cache.get("e")).toBe(sha256("e"));
    // Very long keys are hashed but not kept.
    await cache.hash("x".repeat(10_000));
    expect(cache.get("x".repeat(10_000))).toBeUndefined();
  });
});
