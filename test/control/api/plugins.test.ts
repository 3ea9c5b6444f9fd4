/**
 * Plugin admission through the API (docs/edge-protection.md "Fields and defaults"): every plugin
 * takes a valid configuration and GET returns it with its defaults filled in; each kind of bad
 * input (unknown plugin or field, out of range, invalid regex with its offset, unknown template
 * variable, bad CIDR, `*` with credentials, a suspect rule without a group, a suspect group the
 * service lacks, a CEL limit key that does not parse, reads what it may not or is not a string or
 * integer) is refused naming `plugins.<kind>.<field>` — and nothing is written: the route
 * and service rows and the revision log are unchanged. A route's `null` turns the service's plugin
 * off in the model the snapshot is compiled from.
 */
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { loadConfigModel } from "../../../control/db/config.ts";
import { revisions, routes, services } from "../../../control/db/schema.ts";
import { PLUGIN_DEFAULTS } from "../../../control/snapshot/plugin-options.ts";
import { backends } from "../../support/backends.ts";
import { unique, useApi } from "../../support/fixture.ts";

/** A valid configuration of each plugin, and what GET returns for it. */
const VALID: Record<string, { given: Record<string, unknown>; read: Record<string, unknown> }> = {
  "limit-count": {
    given: { count: 100, windowSeconds: 60, key: { from: "consumer" }, group: "shared" },
    read: { ...PLUGIN_DEFAULTS["limit-count"], count: 100, windowSeconds: 60, key: { from: "consumer" }, group: "shared" },
  },
  "limit-req": { given: { rate: 2.5, burst: 1 }, read: { ...PLUGIN_DEFAULTS["limit-req"], rate: 2.5, burst: 1 } },
  "limit-conn": { given: { conn: 3 }, read: { ...PLUGIN_DEFAULTS["limit-conn"], conn: 3 } },
  "key-auth": { given: {}, read: { header: "apikey", query: "apikey", hideCredentials: false, anonymous: false } },
  "jwt-auth": { given: { clockSkewSeconds: 30 }, read: { ...PLUGIN_DEFAULTS["jwt-auth"], clockSkewSeconds: 30 } },
  "ip-restriction": {
    given: { deny: ["10.0.0.0/8", "2001:db8::1"] },
    read: { allow: [], deny: ["10.0.0.0/8", "2001:db8::1"], message: "Your IP address is not allowed" },
  },
  "anti-scraping": {
    given: {
      rules: [
        { name: "bots", userAgent: "(curl|python)", action: "block" },
        { name: "bare", missingHeaders: ["accept-language"], action: "suspect" },
        { name: "fast", rate: { count: 50, windowSeconds: 10 }, action: "challenge" },
      ],
      suspectGroup: "suspects",
    },
    read: {
      rules: [
        { name: "bots", userAgent: "(curl|python)", action: "block" },
        { name: "bare", missingHeaders: ["accept-language"], action: "suspect" },
        { name: "fast", rate: { count: 50, windowSeconds: 10 }, action: "challenge" },
      ],
      suspectGroup: "suspects",
      exemptConsumers: true,
    },
  },
  "proxy-rewrite": {
    given: { stripPrefix: "/api", host: "upstream.internal", headers: { set: { "X-User": "$consumer_name" }, remove: ["cookie"] } },
    read: {
      stripPrefix: "/api",
      host: "upstream.internal",
      passHost: "rewrite",
      headers: { set: { "X-User": "$consumer_name" }, remove: ["cookie"] },
    },
  },
  "response-rewrite": {
    given: { headers: { add: { "x-route": "route-$route_id" } } },
    read: { headers: { add: { "x-route": "route-$route_id" } } },
  },
  cors: {
    given: { allowOrigins: ["https://a.example"], allowOriginsByRegex: ["^https://.*\\.b\\.example$"], allowCredentials: true },
    read: {
      ...PLUGIN_DEFAULTS.cors,
      allowOrigins: ["https://a.example"],
      allowOriginsByRegex: ["^https://.*\\.b\\.example$"],
      allowCredentials: true,
    },
  },
};

/** CEL limit keys admission accepts, on each limit: stored as given, read back with the limit's defaults. */
const CEL_KEYS: [string, string][] = [
  ["limit-count", 'request.header["x-tenant"] + ":" + request.ip'],
  ["limit-count", "int(request.query.page)"],
  ["limit-req", "request.consumer.labels.tier + '/' + request.consumer.name"],
  ["limit-conn", "uint(request.cookie.shard) % 4u"],
];

/** A limit whose key is the CEL `expression`. */
const celLimit = (kind: string, expression: string): Record<string, unknown> => {
  const required: Record<string, Record<string, unknown>> = {
    "limit-count": { count: 1, windowSeconds: 1 },
    "limit-req": { rate: 1 },
    "limit-conn": { conn: 1 },
  };
  return { [kind]: { ...required[kind], key: { from: "cel", expression } } };
};

/** Bad plugin configurations on a route: each → 400 naming `field` (and `position`, `message` when given). */
const INVALID: { name: string; plugins: Record<string, unknown>; field: string; position?: number; message?: RegExp }[] = [
  {
    name: "CEL key of type bool",
    plugins: celLimit("limit-count", 'request.header["x-a"] == "b"'),
    field: "plugins.limit-count.key.expression",
    position: 0,
    message: /a limit key must be string, int or uint, found bool \(at position 0\)/,
  },
  {
    name: "CEL key of type list",
    plugins: celLimit("limit-req", "[request.ip]"),
    field: "plugins.limit-req.key.expression",
    message: /list/,
  },
  {
    name: "CEL key of type map",
    plugins: celLimit("limit-conn", '{"a": request.ip}'),
    field: "plugins.limit-conn.key.expression",
    message: /maps/,
  },
  {
    name: "CEL key with a syntax error",
    plugins: celLimit("limit-count", 'request.header["x-a"] +'),
    field: "plugins.limit-count.key.expression",
    position: 22,
    message: /^syntax error/,
  },
  {
    name: "CEL key reading an unknown variable",
    plugins: celLimit("limit-count", "request.tenant"),
    field: "plugins.limit-count.key.expression",
    position: 7,
    message: /unknown field/,
  },
  {
    name: "CEL key reading `key`",
    plugins: celLimit("limit-req", "key"),
    field: "plugins.limit-req.key.expression",
    message: /no 'key' variable/,
  },
  {
    name: "CEL key reading the body",
    plugins: celLimit("limit-conn", "request.body.user"),
    field: "plugins.limit-conn.key.expression",
    position: 12,
  },
  {
    name: "CEL key without expression",
    plugins: { "limit-count": { count: 1, windowSeconds: 1, key: { from: "cel" } } },
    field: "plugins.limit-count.key.expression",
  },
  {
    name: "CEL key with a name",
    plugins: { "limit-count": { count: 1, windowSeconds: 1, key: { from: "cel", expression: "request.ip", name: "x" } } },
    field: "plugins.limit-count.key.name",
    message: /unknown field/,
  },
  { name: "unknown plugin", plugins: { "rate-limit": {} }, field: "plugins.rate-limit" },
  { name: "unknown field", plugins: { "limit-count": { count: 1, windowSeconds: 1, burst: 3 } }, field: "plugins.limit-count.burst" },
  { name: "out of range", plugins: { "limit-count": { count: 1, windowSeconds: 86_401 } }, field: "plugins.limit-count.windowSeconds" },
  { name: "missing required", plugins: { "limit-req": { burst: 1 } }, field: "plugins.limit-req.rate" },
  { name: "rejectedCode out of range", plugins: { "limit-conn": { conn: 1, rejectedCode: 99 } }, field: "plugins.limit-conn.rejectedCode" },
  { name: "clock skew out of range", plugins: { "jwt-auth": { clockSkewSeconds: 601 } }, field: "plugins.jwt-auth.clockSkewSeconds" },
  {
    name: "invalid cors regex with its offset",
    plugins: { cors: { allowOriginsByRegex: ["^https://(a|b$"] } },
    field: "plugins.cors.allowOriginsByRegex[0]",
    position: 14,
  },
  {
    name: "regex construct RE2 lacks (backreference)",
    plugins: { "anti-scraping": { rules: [{ name: "r", userAgent: "(a)\\1", action: "block" }] } },
    field: "plugins.anti-scraping.rules[0].userAgent",
    position: 3,
  },
  {
    name: "invalid regexUri pattern",
    plugins: { "proxy-rewrite": { regexUri: ["^/(a", "/$1"] } },
    field: "plugins.proxy-rewrite.regexUri[0]",
  },
  {
    name: "unknown template variable",
    plugins: { "proxy-rewrite": { headers: { set: { "x-a": "id=$user_id" } } } },
    field: "plugins.proxy-rewrite.headers.set.x-a",
    position: 3,
  },
  {
    name: "capture outside regexUri",
    plugins: { "response-rewrite": { headers: { set: { "x-a": "$1" } } } },
    field: "plugins.response-rewrite.headers.set.x-a",
    position: 0,
  },
  { name: "bad CIDR", plugins: { "ip-restriction": { allow: ["10.0.0.0/33"] } }, field: "plugins.ip-restriction.allow[0]" },
  { name: "no address at all", plugins: { "ip-restriction": { message: "no" } }, field: "plugins.ip-restriction.allow" },
  { name: "* with credentials", plugins: { cors: { allowCredentials: true } }, field: "plugins.cors.allowCredentials" },
  {
    name: "suspect rule without a group",
    plugins: { "anti-scraping": { rules: [{ name: "r", userAgent: "bot", action: "suspect" }] } },
    field: "plugins.anti-scraping.suspectGroup",
  },
  {
    name: "rule without criteria",
    plugins: { "anti-scraping": { rules: [{ name: "r", action: "block" }] } },
    field: "plugins.anti-scraping.rules[0].userAgent",
  },
  {
    name: "two path rewrites",
    plugins: { "proxy-rewrite": { uri: "/x", stripPrefix: "/api" } },
    field: "plugins.proxy-rewrite.stripPrefix",
  },
  {
    name: "a header set twice (case differs)",
    plugins: { "response-rewrite": { headers: { set: { "X-A": "1", "x-a": "2" } } } },
    field: "plugins.response-rewrite.headers.set.x-a",
  },
  { name: "passHost rewrite without host", plugins: { "proxy-rewrite": { passHost: "rewrite" } }, field: "plugins.proxy-rewrite.host" },
];

describe.each(backends())("plugin admission on $name", (backend) => {
  const api = useApi(backend);

  /** A service with groups main and suspects, and a route to main; returns the route id. */
  async function setUp(): Promise<{ appkey: string; routeId: number }> {
    const appkey = unique("plug");
    expect((await api.client.post("/v1/services", { appkey })).status).toBe(201);
    for (const name of ["main", "suspects"]) expect((await api.client.post(`/v1/services/${appkey}/groups`, { name })).status).toBe(201);
    const route = await api.client.post("/v1/routes", { appkey, host: `${appkey}.test`, path: "/", defaultGroup: "main" });
    expect(route.status).toBe(201);
    return { appkey, routeId: route.body.id };
  }

  /** Everything a refused write must leave alone. */
  async function state(appkey: string, routeId: number) {
    const [route] = await api.db.select().from(routes).where(eq(routes.id, routeId));
    const [service] = await api.db.select().from(services).where(eq(services.appkey, appkey));
    const [{ count }] = await api.db.select({ count: sql<number>`count(*)::int` }).from(revisions);
    return { route, service, count };
  }

  it.each(Object.keys(VALID))("%s: a valid configuration round-trips with its defaults filled in", async (kind) => {
    const { appkey, routeId } = await setUp();
    const { given, read } = VALID[kind];
    const body = { appkey, host: `${appkey}.test`, path: "/", defaultGroup: "main", plugins: { [kind]: given } };
    const put = await api.client.put(`/v1/routes/${routeId}`, body);
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body.plugins).toEqual({ [kind]: read });
    expect((await api.client.get(`/v1/routes/${routeId}`)).body.plugins).toEqual({ [kind]: read });
    // Stored as given: a default that changes later reaches every route that did not pin it.
    const [row] = await api.db.select({ plugins: routes.plugins }).from(routes).where(eq(routes.id, routeId));
    expect(row.plugins).toEqual({ [kind]: given });

    const service = await api.client.put(`/v1/services/${appkey}`, { description: "", plugins: { [kind]: given } });
    expect(service.status, JSON.stringify(service.body)).toBe(200);
    expect(service.body.plugins).toEqual({ [kind]: read });
  });

  it.each(CEL_KEYS)("%s: a CEL key %s round-trips as given", async (kind, expression) => {
    const { appkey, routeId } = await setUp();
    const plugins = celLimit(kind, expression);
    const put = await api.client.put(`/v1/routes/${routeId}`, { appkey, host: `${appkey}.test`, path: "/", defaultGroup: "main", plugins });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const read = { ...PLUGIN_DEFAULTS[kind as "limit-count"], ...(plugins[kind] as object) };
    expect(put.body.plugins).toEqual({ [kind]: read });
    expect((await api.client.get(`/v1/routes/${routeId}`)).body.plugins).toEqual({ [kind]: read });
    const [row] = await api.db.select({ plugins: routes.plugins }).from(routes).where(eq(routes.id, routeId));
    expect(row.plugins).toEqual(plugins);
  });

  it.each(INVALID)("$name → 400 naming $field; nothing written", async ({ plugins, field, position, message }) => {
    const { appkey, routeId } = await setUp();
    const before = await state(appkey, routeId);
    const reply = await api.client.put(`/v1/routes/${routeId}`, {
      appkey,
      host: `${appkey}.test`,
      path: "/",
      defaultGroup: "main",
      plugins,
    });
    expect(reply.status).toBe(400);
    expect(reply.body.error).toBe("bad_request");
    const named = reply.body.fields.find((f: { path: string }) => f.path === field);
    expect(named, JSON.stringify(reply.body.fields)).toBeDefined();
    if (position !== undefined) expect(named.position).toBe(position);
    if (message !== undefined) expect(named.message).toMatch(message);

    const onService = await api.client.put(`/v1/services/${appkey}`, { description: "changed", plugins });
    expect(onService.status).toBe(400);
    expect(onService.body.fields.map((f: { path: string }) => f.path)).toContain(field);
    expect(await state(appkey, routeId)).toEqual(before);
  });

  it("a suspect group the service lacks → 422 naming the field, on the route and on the service; nothing written", async () => {
    const { appkey, routeId } = await setUp();
    const before = await state(appkey, routeId);
    const plugins = { "anti-scraping": { rules: [{ name: "r", userAgent: "bot", action: "suspect" }], suspectGroup: "nope" } };
    const route = await api.client.put(`/v1/routes/${routeId}`, {
      appkey,
      host: `${appkey}.test`,
      path: "/",
      defaultGroup: "main",
      plugins,
    });
    expect(route.status).toBe(422);
    expect(route.body).toMatchObject({ reason: "group_not_found", field: "plugins.anti-scraping.suspectGroup" });
    const service = await api.client.put(`/v1/services/${appkey}`, { description: "changed", plugins });
    expect(service.status).toBe(422);
    expect(service.body.field).toBe("plugins.anti-scraping.suspectGroup");
    const created = await api.client.post("/v1/services", { appkey: unique("plug-new"), plugins });
    expect(created.status).toBe(422);
    expect(await state(appkey, routeId)).toEqual(before);
  });

  it("a group named as suspect group cannot be deleted", async () => {
    const { appkey } = await setUp();
    const plugins = { "anti-scraping": { rules: [{ name: "r", userAgent: "bot", action: "suspect" }], suspectGroup: "suspects" } };
    expect((await api.client.put(`/v1/services/${appkey}`, { description: "", plugins })).status).toBe(200);
    const del = await api.client.del(`/v1/services/${appkey}/groups/suspects`);
    expect(del.status).toBe(409);
    expect(del.body.referrers).toContainEqual({ resource: "service", id: appkey, via: "plugins.anti-scraping.suspectGroup" });
  });

  it("merges: the service's plugins are the default, a route's plugin replaces the service's whole, null turns it off", async () => {
    const { appkey, routeId } = await setUp();
    const servicePlugins = {
      "key-auth": { header: "x-key" },
      "limit-count": { count: 10, windowSeconds: 1, policy: "cluster" },
      cors: { allowOrigins: ["https://a.example"] },
    };
    expect((await api.client.put(`/v1/services/${appkey}`, { description: "", plugins: servicePlugins })).status).toBe(200);
    const other = await api.client.post("/v1/routes", { appkey, host: `${appkey}.test`, path: "/other", defaultGroup: "main" });
    const routePlugins = { "limit-count": { count: 5, windowSeconds: 60 }, cors: null };
    const put = await api.client.put(`/v1/routes/${routeId}`, {
      appkey,
      host: `${appkey}.test`,
      path: "/",
      defaultGroup: "main",
      plugins: routePlugins,
    });
    expect(put.status).toBe(200);
    expect(put.body.plugins).toEqual({ "limit-count": { ...PLUGIN_DEFAULTS["limit-count"], count: 5, windowSeconds: 60 }, cors: null });

    const model = await loadConfigModel(api.db);
    const route = model.routes.find((r) => r.id === routeId);
    expect(route?.plugins).toEqual({
      "key-auth": { ...PLUGIN_DEFAULTS["key-auth"], header: "x-key" },
      // The route's limit-count replaces the service's whole: policy is back to its default.
      "limit-count": { ...PLUGIN_DEFAULTS["limit-count"], count: 5, windowSeconds: 60 },
    });
    const inherited = model.routes.find((r) => r.id === other.body.id);
    expect(Object.keys(inherited?.plugins ?? {})).toEqual(["cors", "key-auth", "limit-count"]);
    expect(inherited?.plugins?.["limit-count"]).toMatchObject({ count: 10, policy: "cluster" });
  });
});
