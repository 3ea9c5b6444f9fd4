/**
 * Plugins in the snapshot (section 15, PLUGINS; docs/snapshot-format.md): configuration written
 * through the API, loaded in one transaction, written by the real writer and read back by the
 * gateway's reader (wasm/plugins-section.ts) — defaults filled, regexes as working search DFAs,
 * CIDRs canonical, templates parsed, scopes, the suspect group as a GROUPS index, consumers. The
 * file loads in build/hotpath.wasm and decides every request exactly as the same configuration
 * without plugins; a configuration without plugins or consumers has no section 15. A CEL limit key
 * arrives as the lowered program, which the reference evaluator runs. The section round-trips
 * through encode → decode, and decode refuses malformed content (a malformed program too) naming
 * the path; a stored CEL key that no longer lowers fails the build naming the route and field.
 */
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { lowerLimitKey } from "../../../control/compiler/index.ts";
import { loadConfigModel } from "../../../control/db/config.ts";
import { routes } from "../../../control/db/schema.ts";
import { SnapshotModelError } from "../../../control/snapshot/compile-routes.ts";
import { canonicalPrefix } from "../../../control/snapshot/plugins.ts";
import { writeSnapshot } from "../../../control/snapshot/writer.ts";
import { compileEvaluator } from "../../../wasm/cel/evaluate.ts";
import { decodeIr, encodeIr } from "../../../wasm/cel/ir-codec.ts";
import type { DecideResult } from "../../../wasm/host.ts";
import {
  decodePluginsSection,
  encodePluginsSection,
  PLUGINS_SECTION_ID,
  type PluginsSection,
  PluginsSectionError,
  readPluginsSection,
} from "../../../wasm/plugins-section.ts";
import { type Dfa, runDfa } from "../../../wasm/reference/search-dfa.ts";
import { backends } from "../../support/backends.ts";
import { unique, useApi } from "../../support/fixture.ts";
import { instantiate, request, section } from "../../support/wasm-fixtures.ts";

/** A section DFA back as typed arrays, as the gateway rebuilds it. */
const dfaOf = (d: { stateCount: number; classCount: number; classMap: number[]; flags: number[]; next: number[] }): Dfa => ({
  stateCount: d.stateCount,
  classCount: d.classCount,
  classMap: Uint8Array.from(d.classMap),
  flags: Uint8Array.from(d.flags),
  next: Uint16Array.from(d.next),
});

/** A CEL limit key: the tenant header and the client address. */
const TENANT_KEY = 'request.header["X-Tenant"] + "@" + request.ip';

describe.each(backends())("plugins in the snapshot on $name", (backend) => {
  const api = useApi(backend);

  /** Service with groups main and suspects, default plugins, a route with its own, a route without any, a consumer. */
  async function configure() {
    const appkey = unique("plugsnap");
    const ok = async (reply: Promise<{ status: number; body: unknown }>) => {
      const r = await reply;
      expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
      return r;
    };
    await ok(api.client.post("/v1/services", { appkey }));
    for (const name of ["main", "suspects"]) {
      await ok(api.client.post(`/v1/services/${appkey}/groups`, { name }));
      await ok(api.client.post(`/v1/services/${appkey}/groups/${name}/instances`, { host: `10.9.0.${name.length}`, port: 80 }));
    }
    await ok(
      api.client.put(`/v1/services/${appkey}`, {
        description: "",
        plugins: { "key-auth": { header: "X-Api-Key" }, "limit-count": { count: 100, windowSeconds: 60, group: "shared" } },
      }),
    );
    const host = `${appkey}.test`;
    const full = (
      await ok(
        api.client.post("/v1/routes", {
          appkey,
          host,
          path: "/api",
          defaultGroup: "main",
          plugins: {
            cors: { allowOrigins: ["https://a.example"], allowOriginsByRegex: ["https://[a-z]+\\.b\\.example"], allowHeaders: ["X-Trace"] },
            "ip-restriction": { allow: ["10.1.2.3/8", "2001:DB8::1"], deny: ["::ffff:192.0.2.9"] },
            "anti-scraping": {
              rules: [
                { name: "bots", userAgent: "curl|python", action: "block" },
                { name: "bare", missingHeaders: ["Accept-Language"], action: "suspect" },
              ],
              suspectGroup: "suspects",
            },
            "proxy-rewrite": {
              stripPrefix: "/api",
              headers: { set: { "X-User": "$consumer_name via $host" } },
              query: { add: { from: "$remote_addr" } },
            },
            "limit-count": { count: 5, windowSeconds: 1, key: { from: "header", name: "X-Tenant" } },
            "limit-req": { rate: 10, group: "tenants", key: { from: "cel", expression: TENANT_KEY } },
            "key-auth": null,
            "response-rewrite": { headers: { remove: ["Server"] } },
          },
        }),
      )
    ).body as { id: number };
    const plain = (
      await ok(
        api.client.post("/v1/routes", {
          appkey,
          host,
          path: "/plain",
          defaultGroup: "main",
          plugins: { "limit-count": null, "key-auth": null },
        }),
      )
    ).body as { id: number };
    const inherits = (await ok(api.client.post("/v1/routes", { appkey, host, path: "/inherits", defaultGroup: "main" }))).body as {
      id: number;
    };
    const consumer = unique("alice");
    await ok(
      api.client.post("/v1/consumers", {
        name: consumer,
        labels: { tier: "gold" },
        credentials: { "key-auth": { key: `${consumer}-0123456789` } },
      }),
    );
    return { appkey, host, ids: { full: full.id, plain: plain.id, inherits: inherits.id }, consumer };
  }

  it("writes section 15 that the reader decodes: defaults, DFAs, CIDRs, templates, scopes, suspect group, consumers", async () => {
    const { host, ids, consumer } = await configure();
    const model = await loadConfigModel(api.db);
    const file = writeSnapshot(model, { version: 3n, builtAtMs: 1_700_000_000_000 });
    const { hot } = await instantiate();
    expect(hot.load(file)).toMatchObject({ ok: true });
    const groups = hot.snapshot.groups;
    const read = readPluginsSection(file, groups.length);
    expect(read).not.toBeNull();
    if (!read) return;
    const byRoute = new Map(read.routes.map((r) => [r.route, r.plugins]));
    expect(byRoute.has(ids.plain)).toBe(false);
    const full = byRoute.get(ids.full);
    expect(Object.keys(full ?? {}).sort()).toEqual(
      ["anti-scraping", "cors", "ip-restriction", "limit-count", "limit-req", "proxy-rewrite", "response-rewrite"].sort(),
    );
    if (!full) return;
    const cors = full.cors;
    expect(cors).toMatchObject({ allowOrigins: ["https://a.example"], allowMethods: ["*"], allowHeaders: ["x-trace"], maxAgeSeconds: 5 });
    const origin = dfaOf(cors?.allowOriginsByRegex[0] as never);
    expect(runDfa(origin, "https://x.b.example")).toBe(true);
    // Anchored to the whole origin, as APISIX matches it.
    expect(runDfa(origin, "https://x.b.example.evil.test")).toBe(false);
    expect(full["ip-restriction"]).toEqual({
      allow: ["10.0.0.0/8", "2001:db8::1/128"],
      deny: ["192.0.2.9/32"],
      message: "Your IP address is not allowed",
    });
    const scraping = full["anti-scraping"];
    expect(groups[scraping?.suspectGroup ?? -1]?.name).toBe("suspects");
    expect(scraping?.exemptConsumers).toBe(true);
    const ua = dfaOf(scraping?.rules[0].userAgent as never);
    expect([runDfa(ua, "Mozilla/5.0 python-requests"), runDfa(ua, "Mozilla/5.0")]).toEqual([true, false]);
    expect(scraping?.rules[1]).toEqual({
      name: "bare",
      userAgent: null,
      missingHeaders: ["accept-language"],
      rate: null,
      action: "suspect",
    });
    expect(full["proxy-rewrite"]).toEqual({
      path: { kind: "strip", prefix: "/api" },
      passHost: "pass",
      host: null,
      headers: { set: [["x-user", [{ variable: "consumer_name" }, " via ", { variable: "host" }]]], add: [], remove: [] },
      query: { add: [["from", [{ variable: "remote_addr" }]]], remove: [] },
    });
    expect(full["limit-count"]).toEqual({
      count: 5,
      windowSeconds: 1,
      window: "fixed",
      key: { from: "header", name: "x-tenant" },
      policy: "local",
      failOpen: false,
      rejectedCode: 429,
      rejectedMessage: "too many requests",
      showHeaders: true,
      scope: `route:${ids.full}`,
    });
    expect(full["limit-req"]).toMatchObject({ rate: 10, burst: 0, nodelay: false, scope: "group:tenants" });
    const key = full["limit-req"]?.key;
    expect(key?.from).toBe("cel");
    if (key?.from !== "cel") return;
    const program = decodeIr(key.program);
    expect(program).toEqual(lowerLimitKey(TENANT_KEY));
    const attributes: Record<string, string> = { "header:x-tenant": "acme", "client:ip": "192.0.2.1" };
    const evalRequest = { method: "GET", host, path: "/api", attribute: (source: string, name: string) => attributes[`${source}:${name}`] };
    expect(compileEvaluator(program)(evalRequest)).toBe("acme@192.0.2.1");
    expect(full["response-rewrite"]).toEqual({ headers: { set: [], add: [], remove: ["server"] } });
    // The inheriting route gets the service's defaults: key-auth (header lowercased) and the shared limit.
    expect(byRoute.get(ids.inherits)).toEqual({
      "key-auth": { header: "x-api-key", query: "apikey", hideCredentials: false, anonymous: false },
      "limit-count": expect.objectContaining({ count: 100, scope: "group:shared" }),
    });
    expect(read.consumers.find((c) => c.name === consumer)).toMatchObject({
      labels: { tier: "gold" },
      keyHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      jwt: null,
    });
    expect(decodePluginsSection(encodePluginsSection(read), groups.length)).toEqual(read);

    // WASM decides exactly as for the same configuration without plugins.
    const bare = writeSnapshot(
      { ...model, routes: model.routes.map(({ plugins: _p, ...r }) => r), consumers: [] },
      { version: 4n, builtAtMs: 1_700_000_000_000 },
    );
    expect(readPluginsSection(bare)).toBeNull();
    expect(() => section(bare, PLUGINS_SECTION_ID)).toThrow();
    const decide = async (f: Uint8Array): Promise<DecideResult[]> => {
      const { hot: fresh } = await instantiate();
      expect(fresh.load(f)).toMatchObject({ ok: true });
      return ["/api/x", "/plain", "/inherits", "/nope"].map((path) => ({ ...fresh.decide(request(host, path)) }));
    };
    const withPlugins = await decide(file);
    expect(withPlugins.slice(0, 3).every((d) => groups[d.group]?.name === "main")).toBe(true);
    expect(await decide(bare)).toEqual(withPlugins);
  });

  it("a stored CEL key that does not lower fails the build, naming the route and the field", async () => {
    const { ids } = await configure();
    await api.db
      .update(routes)
      .set({ plugins: { "limit-conn": { conn: 1, key: { from: "cel", expression: "request.ip == 1" } } } })
      .where(eq(routes.id, ids.plain));
    const model = await loadConfigModel(api.db);
    // The database is shared by this file's tests: the next build must not meet the stale key.
    await api.db.update(routes).set({ plugins: {} }).where(eq(routes.id, ids.plain));
    expect(() => writeSnapshot(model, { version: 6n, builtAtMs: 0 })).toThrow(SnapshotModelError);
    expect(() => writeSnapshot(model, { version: 6n, builtAtMs: 0 })).toThrow(
      `route ${ids.plain}: limit-conn.key.expression: cannot compare string with int (at position 11)`,
    );
  });

  it("the route's own plugins are what the section carries after a PUT turns them off", async () => {
    const { ids } = await configure();
    await api.db
      .update(routes)
      .set({ plugins: { "key-auth": null, "limit-count": null } })
      .where(eq(routes.id, ids.full));
    const file = writeSnapshot(await loadConfigModel(api.db), { version: 5n, builtAtMs: 0 });
    const read = readPluginsSection(file);
    expect(read?.routes.some((r) => r.route === ids.full)).toBe(false);
  });
});

describe("canonicalPrefix", () => {
  it.each([
    ["10.1.2.3/8", "10.0.0.0/8"],
    ["192.0.2.7", "192.0.2.7/32"],
    ["2001:DB8:0:0::1/32", "2001:db8::/32"],
    ["::ffff:10.0.0.1/120", "10.0.0.0/24"],
    ["::/0", "::/0"],
    ["10.0.0.0/33", undefined],
    ["nope", undefined],
  ])("%s → %s", (text, canonical) => {
    expect(canonicalPrefix(text)).toBe(canonical);
  });
});

describe("decodePluginsSection", () => {
  const dfa = () => ({ stateCount: 1, classCount: 1, classMap: new Array(256).fill(0), flags: [1], next: [0] });
  const valid: PluginsSection = {
    routes: [
      {
        route: 7,
        plugins: {
          cors: {
            allowOrigins: ["*"],
            allowOriginsByRegex: [dfa()],
            allowMethods: ["*"],
            allowHeaders: ["*"],
            exposeHeaders: [],
            maxAgeSeconds: 5,
            allowCredentials: false,
          },
          "anti-scraping": {
            rules: [{ name: "r", userAgent: dfa(), missingHeaders: [], rate: { count: 3, windowSeconds: 1 }, action: "suspect" }],
            suspectGroup: 1,
            exemptConsumers: true,
          },
          "proxy-rewrite": {
            path: {
              kind: "regex",
              nfa: {
                start: 0,
                states: [
                  [5, 0, 0, 1, 0],
                  [4, 0, 0, 0, 0],
                ],
                groups: 1,
                anchored: false,
              },
              replacement: ["/", { variable: "1" }],
            },
            passHost: "rewrite",
            host: "h.example",
            headers: { set: [["x-a", ["v"]]], add: [], remove: [] },
            query: { add: [], remove: ["q"] },
          },
          "limit-count": {
            count: 1,
            windowSeconds: 1,
            window: "sliding",
            key: { from: "cookie", name: "s" },
            policy: "cluster",
            failOpen: true,
            rejectedCode: 503,
            rejectedMessage: "",
            showHeaders: false,
            scope: "route:7",
          },
          "limit-req": {
            rate: 2.5,
            burst: 0,
            nodelay: true,
            key: { from: "cel", program: encodeIr(lowerLimitKey('request.header["x-tenant"] + ":" + string(int(request.query.page))')) },
            rejectedCode: 429,
            rejectedMessage: "",
            scope: "route:7",
          },
        },
      },
    ],
    consumers: [
      { name: "a", labels: { tier: "gold" }, keyHash: "0".repeat(64), jwt: null },
      {
        name: "b",
        labels: {},
        keyHash: null,
        jwt: {
          key: "k",
          algorithm: "ES256",
          secret: null,
          jwks: [{ kty: "EC", crv: "P-256", x: "x", y: "y" }],
          issuer: null,
          audience: "aud",
        },
      },
    ],
  };
  const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

  it("round-trips what encodePluginsSection writes", () => {
    expect(decodePluginsSection(encodePluginsSection(valid), 2)).toEqual(valid);
  });

  /** Mutations of the valid section, and the path the error must name. */
  // biome-ignore lint/suspicious/noExplicitAny: each case reaches into the JSON to break one field.
  const cases: [string, (s: any) => void, string][] = [
    ["unknown plugin", (s) => (s.routes[0].plugins.nope = {}), "routes[0].plugins.nope"],
    ["missing field", (s) => delete s.routes[0].plugins["limit-count"].scope, "routes[0].plugins.limit-count.scope"],
    ["count out of range", (s) => (s.routes[0].plugins["limit-count"].count = 0), "routes[0].plugins.limit-count.count"],
    ["bad window", (s) => (s.routes[0].plugins["limit-count"].window = "rolling"), "routes[0].plugins.limit-count.window"],
    ["bad key", (s) => (s.routes[0].plugins["limit-count"].key = { from: "header" }), "routes[0].plugins.limit-count.key.name"],
    [
      "suspect group out of range",
      (s) => (s.routes[0].plugins["anti-scraping"].suspectGroup = 2),
      "routes[0].plugins.anti-scraping.suspectGroup",
    ],
    [
      "suspect without group",
      (s) => (s.routes[0].plugins["anti-scraping"].suspectGroup = -1),
      "routes[0].plugins.anti-scraping.suspectGroup",
    ],
    [
      "short classMap",
      (s) => s.routes[0].plugins.cors.allowOriginsByRegex[0].classMap.pop(),
      "routes[0].plugins.cors.allowOriginsByRegex[0].classMap",
    ],
    [
      "DFA target out of range",
      (s) => (s.routes[0].plugins["anti-scraping"].rules[0].userAgent.next = [1]),
      "routes[0].plugins.anti-scraping.rules[0].userAgent.next[0]",
    ],
    [
      "NFA next out of range",
      (s) => (s.routes[0].plugins["proxy-rewrite"].path.nfa.states[0][3] = 2),
      "routes[0].plugins.proxy-rewrite.path.nfa.states[0][3]",
    ],
    [
      "template part",
      (s) => (s.routes[0].plugins["proxy-rewrite"].headers.set[0][1] = [3]),
      "routes[0].plugins.proxy-rewrite.headers.set[0][1][0]",
    ],
    ["host without rewrite", (s) => (s.routes[0].plugins["proxy-rewrite"].passHost = "pass"), "routes[0].plugins.proxy-rewrite.host"],
    ["route twice", (s) => s.routes.push(s.routes[0]), "routes[1].route"],
    ["bad key hash", (s) => (s.consumers[0].keyHash = "ABC"), "consumers[0].keyHash"],
    ["consumer twice", (s) => (s.consumers[1].name = "a"), "consumers[1].name"],
    ["label not a string", (s) => (s.consumers[0].labels.tier = 1), "consumers[0].labels.tier"],
    ["HS256 without secret", (s) => (s.consumers[1].jwt.algorithm = "HS256"), "consumers[1].jwt.secret"],
    ["JWK without kty", (s) => delete s.consumers[1].jwt.jwks[0].kty, "consumers[1].jwt.jwks[0].kty"],
    ["no consumers list", (s) => delete s.consumers, "consumers"],
    ["CEL key without program", (s) => delete s.routes[0].plugins["limit-req"].key.program, "routes[0].plugins.limit-req.key.program"],
    [
      "CEL program of an unknown kind",
      (s) => (s.routes[0].plugins["limit-req"].key.program.kind = "eval"),
      "routes[0].plugins.limit-req.key.program",
    ],
    [
      "CEL program ill-typed",
      (s) => (s.routes[0].plugins["limit-req"].key.program.right = { kind: "const", type: "bool", value: true }),
      "routes[0].plugins.limit-req.key.program.right",
    ],
    [
      "CEL program of type bool",
      (s) => (s.routes[0].plugins["limit-req"].key.program = { kind: "const", type: "bool", value: true }),
      "routes[0].plugins.limit-req.key.program.type",
    ],
    [
      "CEL program with a damaged constant",
      (s) => (s.routes[0].plugins["limit-req"].key.program = { kind: "const", type: "int", value: { $int: "1.5" } }),
      "routes[0].plugins.limit-req.key.program",
    ],
  ];
  it.each(cases)("refuses %s, naming %s", (_name, mutate, path) => {
    const copy = structuredClone(valid);
    mutate(copy);
    expect(() => decodePluginsSection(bytes(copy), 2)).toThrow(PluginsSectionError);
    expect(() => decodePluginsSection(bytes(copy), 2)).toThrow(`PLUGINS section: ${path}:`);
  });

  it("refuses bytes that are not UTF-8 JSON", () => {
    expect(() => decodePluginsSection(Uint8Array.of(0xff, 0x7b), 2)).toThrow(/not UTF-8 JSON/);
    expect(() => decodePluginsSection(new TextEncoder().encode("[1]"), 2)).toThrow("PLUGINS section: root: not an object");
  });
});
