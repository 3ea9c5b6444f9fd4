/**
 * 400s: malformed JSON, unknown fields and invalid values, each naming the fields at fault;
 * plus 404s for unknown names and ids, and the 413/415 body guards.
 */
import { describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../../../control/api/app.ts";
import { backends } from "../../support/backends.ts";
import { unique, useApi } from "../../support/fixture.ts";

const fieldPaths = (body: { fields: { path: string }[] }) => body.fields.map((f) => f.path).sort();

describe.each(backends())("API validation on $name", (backend) => {
  const api = useApi(backend);
  const appkey = unique("val");
  const instances = `/v1/services/${appkey}/groups/blue/instances`;

  it("sets up a service with a group", async () => {
    expect((await api.client.post("/v1/services", { appkey })).status).toBe(201);
    expect((await api.client.post(`/v1/services/${appkey}/groups`, { name: "blue" })).status).toBe(201);
  });

  it("answers malformed JSON with 400 bad_request", async () => {
    const res = await api.client.call("POST", "/v1/services", undefined, { raw: '{"appkey": ' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: "bad_request", fields: [{ path: "" }] });
    expect(typeof res.body.message).toBe("string");
  });

  it("names every unknown field", async () => {
    const res = await api.client.post("/v1/services", { appkey: unique("svc"), colour: "red", owner: 1 });
    expect(res.status).toBe(400);
    expect(res.body.fields).toEqual(
      expect.arrayContaining([
        { path: "colour", message: "unknown field", in: "json" },
        { path: "owner", message: "unknown field", in: "json" },
      ]),
    );
  });

  const invalid: { name: string; path: string; body: unknown; fields: string[] }[] = [
    { name: "appkey with capitals", path: "/v1/services", body: { appkey: "Orders" }, fields: ["appkey"] },
    { name: "one-letter appkey", path: "/v1/services", body: { appkey: "o" }, fields: ["appkey"] },
    {
      name: "missing appkey, wrong description type",
      path: "/v1/services",
      body: { description: 5 },
      fields: ["appkey", "description"],
    },
    {
      name: "group name with a slash",
      path: `/v1/services/${appkey}/groups`,
      body: { name: "a/b" },
      fields: ["name"],
    },
    {
      name: "unknown balancer",
      path: `/v1/services/${appkey}/groups`,
      body: { name: "g", balancer: "round-robin" },
      fields: ["balancer"],
    },
    {
      name: "port 0 and weight 10001",
      path: instances,
      body: { host: "10.0.0.1", port: 0, weight: 10001 },
      fields: ["port", "weight"],
    },
    {
      name: "port 65536, fractional weight",
      path: instances,
      body: { host: "10.0.0.1", port: 65536, weight: 1.5 },
      fields: ["port", "weight"],
    },
    {
      name: "host with a space, unknown status",
      path: instances,
      body: { host: "a b", port: 80, status: "up" },
      fields: ["host", "status"],
    },
    {
      name: "route path without /",
      path: "/v1/routes",
      body: { appkey, path: "api", match: "prefix", defaultGroup: "blue" },
      fields: ["path"],
    },
    {
      name: "route path with whitespace",
      path: "/v1/routes",
      body: { appkey, path: "/a b", match: "prefix", defaultGroup: "blue" },
      fields: ["path"],
    },
    {
      name: "route path with a control char",
      path: "/v1/routes",
      body: { appkey, path: "/a\u0001", match: "prefix", defaultGroup: "blue" },
      fields: ["path"],
    },
    {
      name: "route path that can never match: /a/../b",
      path: "/v1/routes",
      body: { appkey, path: "/a/../b", match: "prefix", defaultGroup: "blue" },
      fields: ["path"],
    },
    {
      name: "route path that can never match: /%2e%2e/x",
      path: "/v1/routes",
      body: { appkey, path: "/%2e%2e/x", match: "prefix", defaultGroup: "blue" },
      fields: ["path"],
    },
    {
      name: "route path that can never match: /a/./b",
      path: "/v1/routes",
      body: { appkey, path: "/a/./b", match: "prefix", defaultGroup: "blue" },
      fields: ["path"],
    },
    {
      name: "route path that can never match: /%61dmin (routed as /admin)",
      path: "/v1/routes",
      body: { appkey, path: "/%61dmin", match: "prefix", defaultGroup: "blue" },
      fields: ["path"],
    },
    {
      name: "route path that can never match: encoded slash",
      path: "/v1/routes",
      body: { appkey, path: "/a%2Fb", match: "prefix", defaultGroup: "blue" },
      fields: ["path"],
    },
    {
      name: "route path that can never match: raw non-ASCII",
      path: "/v1/routes",
      body: { appkey, path: "/café", match: "prefix", defaultGroup: "blue" },
      fields: ["path"],
    },
    {
      name: "route path /\\ (a backslash is read as /; was a 500)",
      path: "/v1/routes",
      body: { appkey, path: "/\\", match: "prefix", defaultGroup: "blue" },
      fields: ["path"],
    },
    {
      name: "route path over 1024",
      path: "/v1/routes",
      body: { appkey, path: `/${"a".repeat(1024)}`, match: "prefix", defaultGroup: "blue" },
      fields: ["path"],
    },
    {
      name: "uppercase host, unknown match",
      path: "/v1/routes",
      body: { appkey, host: "API.example.com", path: "/", match: "regex", defaultGroup: "blue" },
      fields: ["host", "match"],
    },
    {
      name: "wildcard in the middle",
      path: "/v1/routes",
      body: { appkey, host: "api.*.com", path: "/", match: "exact", defaultGroup: "blue" },
      fields: ["host"],
    },
    {
      name: "timeout 0 and 300001",
      path: "/v1/routes",
      body: { appkey, path: "/", match: "exact", defaultGroup: "blue", timeoutMs: 300001 },
      fields: ["timeoutMs"],
    },
    {
      name: "body cap above 1 MiB",
      path: "/v1/routes",
      body: { appkey, path: "/", match: "exact", defaultGroup: "blue", bodyCapBytes: 1_048_577 },
      fields: ["bodyCapBytes"],
    },
    {
      name: "policy listed twice",
      path: "/v1/routes",
      body: { appkey, path: "/", match: "exact", defaultGroup: "blue", policies: ["p", "p"] },
      fields: ["policies[1]"],
    },
  ];
  it.each(invalid)("400 for $name", async ({ path, body, fields }) => {
    const res = await api.client.post(path, body);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("bad_request");
    expect(fieldPaths(res.body)).toEqual(fields);
  });

  const policy = (overrides: Record<string, unknown>) => ({
    name: unique("pol"),
    category: "public",
    key: "uid",
    passway: "query",
    condition: "key == 'a'",
    group: "blue",
    ...overrides,
  });
  const invalidPolicies: { name: string; body: unknown; fields: string[] }[] = [
    { name: "private without appkey", body: policy({ category: "private" }), fields: ["appkey"] },
    { name: "public with appkey", body: policy({ appkey }), fields: ["appkey"] },
    { name: "header key that is no token", body: policy({ passway: "header", key: "x:y" }), fields: ["key"] },
    { name: "unknown passway", body: policy({ passway: "path" }), fields: ["passway"] },
    {
      name: "graylist over 10000 entries",
      body: policy({ graylist: Array.from({ length: 10001 }, (_, i) => `u${i}`) }),
      fields: ["graylist"],
    },
    { name: "empty graylist entry", body: policy({ graylist: ["ok", ""] }), fields: ["graylist[1]"] },
    {
      name: "condition over 16 KiB",
      body: policy({ condition: `key == '${"x".repeat(16 * 1024)}'` }),
      fields: ["condition"],
    },
    { name: "empty condition", body: policy({ condition: "" }), fields: ["condition"] },
    // Cross-field rules must not run on (or crash over) fields that already failed.
    {
      name: "mistyped key and condition",
      body: policy({ category: "private", passway: "header", key: 5, condition: 7 }),
      fields: ["condition", "key"],
    },
  ];
  it.each(invalidPolicies)("400 for a policy: $name", async ({ body, fields }) => {
    const res = await api.client.post("/v1/policies", body);
    expect(res.status).toBe(400);
    expect(fieldPaths(res.body)).toEqual(fields);
  });

  it("400 for a condition the compiler refuses, with position and reason", async () => {
    const res = await api.client.post("/v1/policies", policy({ condition: "key == " }));
    expect(res.status).toBe(400);
    expect(res.body.fields).toHaveLength(1);
    const [field] = res.body.fields;
    expect(field.path).toBe("condition");
    expect(typeof field.position).toBe("number");
    expect(field.message).toMatch(/position \d+/);
  });

  const refusals: [string, string, RegExp][] = [
    ['key.matches("(a)\\1")', '"(a)\\1"', /backreferences/],
    ['cidr("10.0.0.0/40").contains(request.ip)', '"10.0.0.0/40"', /prefix length outside 0–32/],
    ['bucket(key, "10") < 1', '"10"', /bucket\(\) count must be int/],
    ['string(1.5) == "1.5"', "1.5", /string\(\) of a double/],
    ['key == "a" && request.cf.city == "x"', "request.cf.city", /request.cf has the fields/],
  ];
  for (const [condition, span, reason] of refusals) {
    it(`400 for ${condition}: the position falls on ${span}`, async () => {
      const res = await api.client.post("/v1/policies", policy({ condition }));
      expect(res.status).toBe(400);
      const [field] = res.body.fields;
      expect(field.path).toBe("condition");
      expect(field.message).toMatch(reason);
      const start = condition.indexOf(span);
      expect(field.position).toBeGreaterThanOrEqual(start);
      expect(field.position).toBeLessThanOrEqual(start + span.length);
    });
  }

  // Issue 12 (8): a deep tree used to overflow the compiler's recursive passes (a 500).
  const deep: [string, string][] = [
    ["`1 + ` repeated 2,000 times", `${"1 + ".repeat(2000)}1 == 2`],
    ["a list nested 300 deep", `key in ${"[".repeat(300)}1${"]".repeat(300)}`],
    ["a call chain 300 deep", `key${".size()".repeat(300)} == 1`],
  ];
  it.each(deep)("400 naming the position for a condition nesting too deep: %s", async (_, condition) => {
    const res = await api.client.post("/v1/policies", policy({ condition }));
    expect(res.status).toBe(400);
    const [field] = res.body.fields;
    expect(field.path).toBe("condition");
    expect(field.message).toMatch(/nests deeper than 250 levels/);
    expect(field.position).toBeGreaterThanOrEqual(0);
    expect(field.position).toBeLessThan(condition.length);
  });

  it("accepts a condition nesting as deep as the bound allows", async () => {
    const res = await api.client.post("/v1/policies", policy({ condition: `${"1 + ".repeat(240)}1 == 241` }));
    expect(res.status).toBe(201);
  });

  it("names the normal form of a route path that is not in it", async () => {
    const res = await api.client.post("/v1/routes", { appkey, path: "/a/../b", match: "prefix", defaultGroup: "blue" });
    expect(res.status).toBe(400);
    expect(res.body.fields[0].message).toMatch(/must be written as "\/b"/);
  });

  it("reads a route path as a request's path, never as a URL with a host", async () => {
    const backslash = await api.client.post("/v1/routes", { appkey, path: "/a\\b", match: "prefix", defaultGroup: "blue" });
    expect(backslash.body.fields[0].message).toMatch(/must be written as "\/a\/b"/);
    // `//x/a` is a request path of its own (pathname `//x/a`), not host `x` and path `/a`.
    expect((await api.client.post("/v1/routes", { appkey, path: "//x/a", match: "prefix", defaultGroup: "blue" })).status).toBe(201);
  });

  it("400 when a PATCH leaves an invalid combination", async () => {
    const body = policy({});
    expect((await api.client.post("/v1/policies", body)).status).toBe(201);
    const res = await api.client.patch(`/v1/policies/${body.name}`, { category: "private" });
    expect(res.status).toBe(400);
    expect(fieldPaths(res.body)).toEqual(["appkey"]);
    const unknown = await api.client.patch(`/v1/policies/${body.name}`, { name: "renamed" });
    expect(fieldPaths(unknown.body)).toEqual(["name"]);
  });

  it("400 for bad path and query parameters", async () => {
    expect(fieldPaths((await api.client.get("/v1/routes/abc")).body)).toEqual(["id"]);
    expect((await api.client.get("/v1/routes/0")).status).toBe(400);
    expect(fieldPaths((await api.client.get("/v1/services/BAD")).body)).toEqual(["appkey"]);
    expect(fieldPaths((await api.client.get("/v1/revisions?limit=0")).body)).toEqual(["limit"]);
    expect(fieldPaths((await api.client.get("/v1/revisions?limit=x&before=-1")).body)).toEqual(["before", "limit"]);
  });

  it("404 for unknown services, groups, instances, policies, routes and paths", async () => {
    const other = unique("svc");
    await api.client.post("/v1/services", { appkey: other });
    await api.client.post(`/v1/services/${other}/groups`, { name: "blue" });
    const foreign = await api.client.post(`/v1/services/${other}/groups/blue/instances`, {
      host: "10.1.1.1",
      port: 80,
    });
    const cases = [
      ["GET", "/v1/services/nosuchservice"],
      ["PUT", "/v1/services/nosuchservice", { description: "" }],
      ["DELETE", "/v1/services/nosuchservice"],
      ["GET", `/v1/services/${appkey}/groups/nosuch`],
      ["POST", `/v1/services/nosuchservice/groups`, { name: "x" }],
      ["GET", `${instances}/999999`],
      // An instance id that exists, but in another service's group.
      ["GET", `${instances}/${foreign.body.id}`],
      ["DELETE", `${instances}/${foreign.body.id}`],
      ["GET", "/v1/policies/nosuch"],
      ["PATCH", "/v1/policies/nosuch", { enabled: false }],
      ["GET", "/v1/routes/999999"],
      ["DELETE", "/v1/routes/999999"],
      ["GET", "/v1/nothing-here"],
    ] as const;
    for (const [method, path, body] of cases) {
      const res = await api.client.call(method, path, body);
      expect({ method, path, status: res.status, error: res.body?.error }).toEqual({
        method,
        path,
        status: 404,
        error: "not_found",
      });
    }
  });

  it("415 for a non-JSON body and 413 for an oversized one", async () => {
    const text = await api.client.call("POST", "/v1/services", undefined, {
      raw: "appkey=x",
      headers: { "content-type": "text/plain" },
    });
    expect(text.status).toBe(415);
    expect(text.body.error).toBe("unsupported_media_type");
    const huge = await api.client.call("POST", "/v1/services", undefined, {
      raw: JSON.stringify({ appkey: "x".repeat(MAX_BODY_BYTES) }),
    });
    expect(huge.status).toBe(413);
    expect(huge.body.error).toBe("payload_too_large");
  });
});
