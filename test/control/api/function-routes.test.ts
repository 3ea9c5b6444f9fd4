/**
 * Routes that target a function (issue 15, docs/functions-runtime.md "Storage"): a route has
 * exactly one of `defaultGroup` or `function`; an unknown function is a 422 like an unknown
 * group; a targeted function cannot be deleted (409 naming the route); traffic targets take an
 * OCTO `lane`, one target per lane; scaling has `activationTimeoutMs`. On a real control over
 * each backend.
 */
import { describe, expect, it } from "vitest";
import { SCALING_DEFAULTS } from "../../../control/functions/autoscaler/settings.ts";
import { backends } from "../../support/backends.ts";
import type { Client } from "../../support/client.ts";
import { unique, useApi } from "../../support/fixture.ts";

const WORKER = 'export default { fetch() { return new Response("hi"); } };';
const UPLOAD = {
  modules: [{ name: "worker.js", type: "esm", content: Buffer.from(WORKER).toString("base64") }],
  main: "worker.js",
  compatibilityDate: "2026-07-01",
};

/** A service with group `main` and function `hello` (one version); returns its appkey. */
async function newService(client: Client): Promise<string> {
  const appkey = unique("fnroute");
  expect((await client.post("/v1/services", { appkey })).status).toBe(201);
  expect((await client.post(`/v1/services/${appkey}/groups`, { name: "main" })).status).toBe(201);
  expect((await client.post(`/v1/services/${appkey}/functions`, { name: "hello" })).status).toBe(201);
  expect((await client.post(`/v1/services/${appkey}/functions/hello/versions`, UPLOAD)).status).toBe(201);
  return appkey;
}

/** The field paths a 400 names. */
function fieldsOf(reply: { status: number; body: { fields?: { path: string }[] } }): string[] {
  expect(reply.status).toBe(400);
  return (reply.body.fields ?? []).map((f) => f.path);
}

describe.each(backends())("routes to functions on $name", (backend) => {
  const api = useApi(backend);

  it("creates, reads and replaces a route targeting a function; group routes read function null", async () => {
    const appkey = await newService(api.client);
    const created = await api.client.post("/v1/routes", { appkey, path: `/${appkey}`, function: "hello" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ appkey, function: "hello", defaultGroup: null });
    expect((await api.client.get(`/v1/routes/${created.body.id}`)).body).toMatchObject({ function: "hello", defaultGroup: null });
    const [revision] = (await api.client.get("/v1/revisions?limit=1")).body.items;
    expect(revision.body.after).toMatchObject({ function: "hello", defaultGroup: null });

    const group = await api.client.post("/v1/routes", { appkey, path: `/${appkey}/g`, defaultGroup: "main", function: null });
    expect(group.status).toBe(201);
    expect(group.body).toMatchObject({ defaultGroup: "main", function: null });

    // A replace moves the route from the function to a group and back.
    const toGroup = await api.client.put(`/v1/routes/${created.body.id}`, { appkey, path: `/${appkey}`, defaultGroup: "main" });
    expect(toGroup.body).toMatchObject({ defaultGroup: "main", function: null });
    const back = await api.client.put(`/v1/routes/${created.body.id}`, { appkey, path: `/${appkey}`, function: "hello" });
    expect(back.body).toMatchObject({ defaultGroup: null, function: "hello" });
  });

  it("refuses both targets or neither with a 400 naming the field", async () => {
    const appkey = await newService(api.client);
    const path = `/${appkey}`;
    expect(fieldsOf(await api.client.post("/v1/routes", { appkey, path, defaultGroup: "main", function: "hello" }))).toEqual(["function"]);
    expect(fieldsOf(await api.client.post("/v1/routes", { appkey, path }))).toEqual(["defaultGroup"]);
    expect(fieldsOf(await api.client.post("/v1/routes", { appkey, path, function: "a:b" }))).toEqual(["function"]);
    expect((await api.client.get("/v1/routes")).body.items.filter((r: { appkey: string }) => r.appkey === appkey)).toEqual([]);
  });

  it("answers an unknown function as an unknown group: 422 naming the field", async () => {
    const appkey = await newService(api.client);
    const other = await newService(api.client);
    const group = await api.client.post("/v1/routes", { appkey, path: `/${appkey}`, defaultGroup: "nope" });
    expect(group.status).toBe(422);
    expect(group.body).toMatchObject({ error: "unprocessable", reason: "group_not_found", field: "defaultGroup" });
    for (const [service, name] of [
      [appkey, "nope"],
      // A function of another service is not one of this route's service.
      [other, "nope"],
    ]) {
      const reply = await api.client.post("/v1/routes", { appkey: service, path: `/${service}`, function: name });
      expect(reply.status).toBe(group.status);
      expect(reply.body).toMatchObject({ error: "unprocessable", reason: "function_not_found", field: "function" });
      expect(reply.body.message).toContain(service);
    }
  });

  it("refuses to delete a targeted function with a 409 listing the routes, then deletes it once free", async () => {
    const appkey = await newService(api.client);
    const first = (await api.client.post("/v1/routes", { appkey, path: `/${appkey}/a`, function: "hello" })).body.id;
    const second = (await api.client.post("/v1/routes", { appkey, path: `/${appkey}/b`, function: "hello" })).body.id;
    const refused = await api.client.del(`/v1/services/${appkey}/functions/hello`);
    expect(refused.status).toBe(409);
    expect(refused.body.referrers).toEqual([
      { resource: "route", id: String(first), via: "function" },
      { resource: "route", id: String(second), via: "function" },
    ]);
    expect((await api.client.get(`/v1/services/${appkey}/functions/hello/versions/1`)).status).toBe(200);
    expect((await api.client.del(`/v1/routes/${first}`)).status).toBe(204);
    expect((await api.client.del(`/v1/routes/${second}`)).status).toBe(204);
    expect((await api.client.del(`/v1/services/${appkey}/functions/hello`)).status).toBe(204);
  });

  it("stores a lane per traffic target, one target per lane", async () => {
    const appkey = await newService(api.client);
    const path = `/v1/services/${appkey}/functions/hello`;
    expect((await api.client.post(`${path}/versions`, UPLOAD)).status).toBe(201);
    const split = {
      targets: [
        { version: 1, percent: 100 },
        { version: 2, percent: 0, tag: "canary", lane: "gray" },
      ],
      stickiness: null,
    };
    expect((await api.client.put(`${path}/traffic`, split)).status).toBe(200);
    expect((await api.client.get(`${path}/traffic`)).body).toMatchObject(split);
    const twice = {
      targets: [
        { version: 1, percent: 50, lane: "gray" },
        { version: 2, percent: 50, lane: "gray" },
      ],
    };
    expect(fieldsOf(await api.client.put(`${path}/traffic`, twice))).toEqual(["targets[1].lane"]);
    for (const lane of ["", "a b", "x".repeat(65)]) {
      expect(fieldsOf(await api.client.put(`${path}/traffic`, { targets: [{ version: 1, percent: 100, lane }] }))).toEqual([
        "targets[0].lane",
      ]);
    }
    expect((await api.client.get(`${path}/traffic`)).body).toMatchObject(split);
  });

  it("has activationTimeoutMs in scaling: default 10000, 100–600000", async () => {
    const appkey = await newService(api.client);
    const path = `/v1/services/${appkey}/functions/hello`;
    expect((await api.client.get(path)).body.scaling.activationTimeoutMs).toBe(SCALING_DEFAULTS.activationTimeoutMs);
    expect(SCALING_DEFAULTS.activationTimeoutMs).toBe(10_000);
    for (const bad of [99, 600_001, 1.5]) {
      expect(fieldsOf(await api.client.patch(path, { scaling: { activationTimeoutMs: bad } }))).toEqual(["scaling.activationTimeoutMs"]);
    }
    const patched = await api.client.patch(path, { scaling: { activationTimeoutMs: 2500 } });
    expect(patched.body.scaling.activationTimeoutMs).toBe(2500);
  });
});
