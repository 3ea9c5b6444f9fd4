/**
 * Text the database cannot store exactly (issue 12, item 7): NUL, which PostgreSQL's text type
 * refuses, and lone UTF-16 surrogates, which UTF-8 cannot carry (they were silently stored as
 * U+FFFD), are refused in every string of a request — body, path and query — with a 400 naming
 * the field; so is `__proto__` as an object key (JSON.parse makes it an own property that zod
 * then silently dropped). Bodies nested deeper than any Sluice schema are refused before they are
 * walked. Nothing is stored by a refused write.
 */
import { describe, expect, it } from "vitest";
import { backends } from "../../support/backends.ts";
import { unique, useApi } from "../../support/fixture.ts";

describe.each(backends())("text the API refuses, on $name", (backend) => {
  const api = useApi(backend);
  const appkey = unique("txt");
  const instances = `/v1/services/${appkey}/groups/g/instances`;

  it("sets up a service with a group", async () => {
    expect((await api.client.post("/v1/services", { appkey })).status).toBe(201);
    expect((await api.client.post(`/v1/services/${appkey}/groups`, { name: "g" })).status).toBe(201);
  });

  const bad: [string, string][] = [
    ["NUL", "a\u0000b"],
    ["a lone high surrogate", "a\ud800b"],
    ["a lone low surrogate", "\udc00"],
  ];
  const fields: [string, string, (s: string) => unknown, string][] = [
    ["service description", "/v1/services", (s) => ({ appkey: unique("svc"), description: s }), "description"],
    ["instance metadata value", instances, (s) => ({ host: "127.0.0.1", port: 8080, metadata: { owner: s } }), "metadata.owner"],
    ["instance metadata key", instances, (s) => ({ host: "127.0.0.1", port: 8081, metadata: { [s]: "x" } }), "metadata"],
    [
      "graylist entry",
      "/v1/policies",
      (s) => ({ name: unique("p"), category: "public", passway: "query", key: "k", condition: "key == 'a'", graylist: ["ok", s] }),
      "graylist[1]",
    ],
    [
      "condition string literal",
      "/v1/policies",
      (s) => ({ name: unique("p"), category: "public", passway: "query", key: "k", condition: `key == '${s}'` }),
      "condition",
    ],
  ];
  for (const [what, path, body, field] of fields) {
    for (const [kind, text] of bad) {
      it(`400 for ${kind} in a ${what}, naming ${field}`, async () => {
        const before = (await api.client.get("/v1/revisions?limit=1")).body.items[0]?.id;
        const res = await api.client.post(path, body(text));
        expect(res.status).toBe(400);
        expect(res.body.error).toBe("bad_request");
        expect(res.body.fields.map((f: { path: string }) => f.path)).toContain(field);
        expect((await api.client.get("/v1/revisions?limit=1")).body.items[0]?.id).toBe(before);
      });
    }
  }

  it("400 for NUL in a path parameter and in a query parameter", async () => {
    const inPath = await api.client.get("/v1/services/a%00b");
    expect(inPath.status).toBe(400);
    expect(inPath.body.fields[0]).toMatchObject({ in: "param" });
    const inQuery = await api.client.get(`/v1/registry/instances?appkey=${appkey}&env=a%00b`);
    expect(inQuery.status).toBe(400);
    expect(inQuery.body.fields[0]).toMatchObject({ path: "env", in: "query" });
  });

  // Every JSON media type the validators parse is guarded; these were a 500 (NUL) and a silent U+FFFD.
  for (const contentType of ["Application/JSON", "application/merge-patch+json", "application/json; charset=utf-8"]) {
    it(`400 for NUL and a lone surrogate in a body sent as ${contentType}`, async () => {
      for (const description of ["a\u0000b", "a\ud800b"]) {
        const res = await api.client.call(
          "POST",
          "/v1/services",
          { appkey: unique("svc"), description },
          { headers: { "content-type": contentType } },
        );
        expect(res.status).toBe(400);
        expect(res.body.fields).toEqual([expect.objectContaining({ path: "description", in: "json" })]);
      }
    });
  }

  it("400 for __proto__ as a metadata key, which was silently dropped", async () => {
    const res = await api.client.call("POST", instances, undefined, {
      raw: '{"host": "127.0.0.1", "port": 8090, "metadata": {"__proto__": {"admin": "1"}, "a": "b"}}',
    });
    expect(res.status).toBe(400);
    expect(res.body.fields[0]).toMatchObject({ path: "metadata.__proto__" });
  });

  it("400, not a crash, for a body nested 100,000 deep", async () => {
    const res = await api.client.call("POST", "/v1/services", undefined, {
      raw: `{"appkey": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`,
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("bad_request");
  });

  it("stores text with every other character exactly: astral, combining, RTL, U+FFFD itself", async () => {
    const description = "🚀 é\u0301 שלום \ufffd \u2028 tab\tend";
    const created = unique("svc");
    expect((await api.client.post("/v1/services", { appkey: created, description })).status).toBe(201);
    expect((await api.client.get(`/v1/services/${created}`)).body.description).toBe(description);
  });
});
