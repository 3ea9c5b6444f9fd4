/**
 * 409 duplicates, 422 reference errors, 409 deletes of what is still referenced, and
 * all-or-nothing writes: a refused write leaves no row, no revision and no onChange call.
 */
import { count, eq } from "drizzle-orm";
import { pino } from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { runWrite } from "../../../control/config/write.ts";
import { revisions, services } from "../../../control/db/schema.ts";
import { backends } from "../../support/backends.ts";
import { unique, useApi } from "../../support/fixture.ts";

describe.each(backends())("API references on $name", (backend) => {
  const api = useApi(backend);
  // Service A has groups blue/green; service B has only blue.
  const a = unique("ref-a");
  const b = unique("ref-b");
  const privA = unique("priv-a"); // private to A, targets green
  const pubGreen = unique("pub-green"); // public, targets green
  const pubBlue = unique("pub-blue"); // public, targets blue
  const policy = (name: string, extra: Record<string, unknown>) => ({
    name,
    key: "uid",
    passway: "query",
    condition: "key == 'x'",
    ...extra,
  });
  const route = (appkey: string, extra: Record<string, unknown>) => ({
    appkey,
    path: `/${unique("r")}`,
    match: "prefix",
    defaultGroup: "blue",
    ...extra,
  });

  beforeAll(async () => {
    const setup: [string, unknown][] = [
      ["/v1/services", { appkey: a }],
      ["/v1/services", { appkey: b }],
      [`/v1/services/${a}/groups`, { name: "blue" }],
      [`/v1/services/${a}/groups`, { name: "green" }],
      [`/v1/services/${b}/groups`, { name: "blue" }],
      ["/v1/policies", policy(privA, { category: "private", appkey: a, group: "green" })],
      ["/v1/policies", policy(pubGreen, { category: "public", group: "green" })],
      ["/v1/policies", policy(pubBlue, { category: "public", group: "blue" })],
    ];
    for (const [path, body] of setup) expect((await api.client.post(path, body)).status).toBe(201);
  });

  it("409 for duplicates of every resource", async () => {
    await api.client.post(`/v1/services/${a}/groups/blue/instances`, { host: "10.0.0.9", port: 80 });
    const second = await api.client.post(`/v1/services/${a}/groups/blue/instances`, {
      host: "10.0.0.9",
      port: 81,
    });
    const r = route(a, {});
    await api.client.post("/v1/routes", r);
    const cases: [string, string, unknown][] = [
      ["POST", "/v1/services", { appkey: a }],
      ["POST", `/v1/services/${a}/groups`, { name: "blue" }],
      ["POST", `/v1/services/${a}/groups/blue/instances`, { host: "10.0.0.9", port: 80 }],
      ["PUT", `/v1/services/${a}/groups/blue/instances/${second.body.id}`, { host: "10.0.0.9", port: 80 }],
      ["POST", "/v1/policies", policy(pubBlue, { category: "public", group: "blue" })],
      ["POST", "/v1/routes", { ...r, defaultGroup: "green" }],
    ];
    for (const [method, path, body] of cases) {
      const res = await api.client.call(method, path, body);
      expect({ path, status: res.status, error: res.body.error }).toEqual({
        path,
        status: 409,
        error: "conflict",
      });
    }
    // The same path on another host, or with the other match kind, is a different route.
    expect((await api.client.post("/v1/routes", { ...r, match: "exact" })).status).toBe(201);
    expect((await api.client.post("/v1/routes", { ...r, host: "a.example.com" })).status).toBe(201);
  });

  const unprocessable: {
    name: string;
    path: string;
    body: () => unknown;
    reason: string;
    field: string;
    mentions: () => string[];
  }[] = [
    {
      name: "a private policy whose group its service lacks",
      path: "/v1/policies",
      body: () => policy(unique("p"), { category: "private", appkey: b, group: "green" }),
      reason: "group_not_found",
      field: "group",
      mentions: () => ["green", b],
    },
    {
      name: "a private policy of an unknown service",
      path: "/v1/policies",
      body: () => policy(unique("p"), { category: "private", appkey: "nosuchservice", group: "blue" }),
      reason: "service_not_found",
      field: "appkey",
      mentions: () => ["nosuchservice"],
    },
    {
      name: "a route of an unknown service",
      path: "/v1/routes",
      body: () => route("nosuchservice", {}),
      reason: "service_not_found",
      field: "appkey",
      mentions: () => ["nosuchservice"],
    },
    {
      name: "a route whose defaultGroup is not a group of its service",
      path: "/v1/routes",
      body: () => route(b, { defaultGroup: "green" }),
      reason: "group_not_found",
      field: "defaultGroup",
      mentions: () => ["green", b],
    },
    {
      name: "a route listing a missing policy",
      path: "/v1/routes",
      body: () => route(a, { policies: [pubBlue, "nosuchpolicy"] }),
      reason: "policy_not_found",
      field: "policies[1]",
      mentions: () => ["nosuchpolicy"],
    },
    {
      name: "a route listing another service's private policy",
      path: "/v1/routes",
      body: () => route(b, { policies: [privA] }),
      reason: "private_policy_of_other_service",
      field: "policies[0]",
      mentions: () => [privA, a, b, "private"],
    },
    {
      name: "a route listing a public policy whose group its service lacks",
      path: "/v1/routes",
      body: () => route(b, { policies: [pubBlue, pubGreen] }),
      reason: "policy_group_not_found",
      field: "policies[1]",
      mentions: () => [pubGreen, "green", b],
    },
  ];
  it.each(unprocessable)("422 for $name", async ({ path, body, reason, field, mentions }) => {
    const res = await api.client.post(path, body());
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: "unprocessable", reason, field });
    for (const word of mentions()) expect(res.body.message).toContain(word);
  });

  it("422 when a policy change would break a route that lists it", async () => {
    const shared = unique("shared");
    await api.client.post("/v1/policies", policy(shared, { category: "public", group: "blue" }));
    expect((await api.client.post("/v1/routes", route(b, { policies: [shared] }))).status).toBe(201);
    // Private to A, but B's route lists it.
    const toPrivate = await api.client.patch(`/v1/policies/${shared}`, { category: "private", appkey: a });
    expect(toPrivate.status).toBe(422);
    expect(toPrivate.body.reason).toBe("private_policy_of_other_service");
    // B has no group green.
    const toGreen = await api.client.patch(`/v1/policies/${shared}`, { group: "green" });
    expect(toGreen.status).toBe(422);
    expect(toGreen.body.reason).toBe("policy_group_not_found");
    expect((await api.client.get(`/v1/policies/${shared}`)).body).toMatchObject({
      category: "public",
      group: "blue",
    });
  });

  it("409 naming the referrers when deleting what is in use", async () => {
    const r = await api.client.post("/v1/routes", route(a, { defaultGroup: "blue", policies: [pubGreen] }));
    const id = String(r.body.id);

    const green = await api.client.del(`/v1/services/${a}/groups/green`);
    expect(green.status).toBe(409);
    expect(green.body.referrers).toEqual(
      expect.arrayContaining([
        { resource: "policy", id: privA, via: "group" },
        { resource: "route", id, via: `policy "${pubGreen}"` },
      ]),
    );
    const blue = await api.client.del(`/v1/services/${a}/groups/blue`);
    expect(blue.status).toBe(409);
    expect(blue.body.referrers).toContainEqual({ resource: "route", id, via: "defaultGroup" });
    expect(blue.body.message).toContain(`route ${id}`);

    const pub = await api.client.del(`/v1/policies/${pubGreen}`);
    expect(pub.status).toBe(409);
    expect(pub.body.referrers).toContainEqual({ resource: "route", id, via: "policies" });

    const service = await api.client.del(`/v1/services/${a}`);
    expect(service.status).toBe(409);
    expect(service.body.referrers).toEqual(
      expect.arrayContaining([
        { resource: "route", id, via: "appkey" },
        { resource: "policy", id: privA, via: "appkey" },
      ]),
    );

    // Once the route is gone the policy can go too.
    expect((await api.client.del(`/v1/routes/${id}`)).status).toBe(204);
    expect((await api.client.get(`/v1/services/${a}/groups/green`)).status).toBe(200);
  });

  it("leaves no row, no revision and no onChange call when a write is refused", async () => {
    const revisionsBefore = (await api.client.get("/v1/revisions?limit=1")).body.items[0].id;
    const changesBefore = api.changes.length;
    const routesBefore = (await api.client.get("/v1/routes")).body.items.length;
    expect((await api.client.post("/v1/routes", route(b, { policies: [privA] }))).status).toBe(422);
    expect((await api.client.post("/v1/services", { appkey: a })).status).toBe(409);
    expect((await api.client.del(`/v1/policies/${privA}`)).status).toBe(204);
    expect((await api.client.get("/v1/revisions?limit=1")).body.items[0].id).toBe(revisionsBefore + 1);
    expect(api.changes.length).toBe(changesBefore + 1);
    expect((await api.client.get("/v1/routes")).body.items.length).toBe(routesBefore);
  });

  it("never lets a concurrent delete and a new reference both succeed", async () => {
    const appkey = unique("race");
    await api.client.post("/v1/services", { appkey });
    for (let round = 0; round < 8; round++) {
      const group = `g${round}`;
      await api.client.post(`/v1/services/${appkey}/groups`, { name: group });
      const [deleted, created] = await Promise.all([
        api.client.del(`/v1/services/${appkey}/groups/${group}`),
        api.client.post("/v1/routes", route(appkey, { defaultGroup: group })),
      ]);
      // Either the route came first (delete refused) or the delete did (route refused).
      const outcome = `${deleted.status}/${created.status}`;
      expect(["409/201", "204/422"]).toContain(outcome);
    }
    const duplicates = await Promise.all(Array.from({ length: 5 }, () => api.client.post("/v1/services", { appkey: `${appkey}-dup` })));
    expect(duplicates.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
  });

  it("rolls back rows written before a failure in the same transaction", async () => {
    const appkey = unique("rollback");
    const [{ n: before }] = await api.db.select({ n: count() }).from(revisions);
    const failing = runWrite(
      {
        db: api.db,
        onChange: () => {
          api.changes.push(-1);
        },
        logger: pino({ level: "silent" }),
      },
      "admin",
      async (tx) => {
        await tx.insert(services).values({ appkey });
        throw new Error("boom after insert");
      },
    );
    await expect(failing).rejects.toThrow("boom after insert");
    expect(await api.db.select().from(services).where(eq(services.appkey, appkey))).toEqual([]);
    const [{ n: after }] = await api.db.select({ n: count() }).from(revisions);
    expect(after).toBe(before);
    expect(api.changes).not.toContain(-1);
  });
});
