/**
 * Balancing options, retry policies and traffic cuts through the API: validation answers 400 naming each bad field, GET returns the defaults filled in, and a
 * traffic cut turns into snapshot data — the drained flag of the instances it drains (their
 * configured weight kept, so undoing the cut restores them exactly), or a route forced to another group with its policies bypassed — read back through the
 * real writer and the WASM reader, and undone by one DELETE.
 */
import { eq, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfigModel } from "../../../control/db/config.ts";
import type { Database } from "../../../control/db/connect.ts";
import { groups, services } from "../../../control/db/schema.ts";
import { GROUP_BALANCING_DEFAULTS, ROUTE_RETRY_DEFAULTS } from "../../../control/snapshot/options.ts";
import type { HotPath, SnapshotInfo } from "../../../wasm/host.ts";
import { backends } from "../../support/backends.ts";
import { unique, useApi } from "../../support/fixture.ts";
import { instantiate, request, write } from "../../support/wasm-fixtures.ts";

let hot: HotPath;
let version = 1n;
beforeAll(async () => {
  ({ hot } = await instantiate());
});

/** The database's current configuration as the gateway's WASM sees it. */
async function snapshotOf(db: Database): Promise<SnapshotInfo> {
  version += 1n;
  const loaded = hot.load(write(await loadConfigModel(db), version));
  expect(loaded.ok).toBe(true);
  return hot.snapshot;
}

describe.each(backends())("balancing options and traffic cuts on $name", (backend) => {
  const api = useApi(backend);

  /** A service with groups `blue` (instances in zones z1, z2) and `green` (one in z1), and a route to blue with a canary policy. */
  async function setUp() {
    const appkey = unique("bal");
    await api.client.post("/v1/services", { appkey });
    for (const name of ["blue", "green"]) expect((await api.client.post(`/v1/services/${appkey}/groups`, { name })).status).toBe(201);
    const add = async (group: string, host: string, zone: string) =>
      (await api.client.post(`/v1/services/${appkey}/groups/${group}/instances`, { host, port: 80, zone })).body.id as number;
    const blue1 = await add("blue", "10.1.0.1", "z1");
    const blue2 = await add("blue", "10.1.0.2", "z2");
    const green1 = await add("green", "10.1.0.3", "z1");
    const policy = unique("to-green");
    await api.client.post("/v1/policies", {
      name: policy,
      category: "private",
      appkey,
      key: "uid",
      passway: "query",
      condition: 'key == "7"',
      group: "green",
    });
    const route = await api.client.post("/v1/routes", {
      appkey,
      host: `${appkey}.test`,
      path: "/",
      defaultGroup: "blue",
      policies: [policy],
    });
    expect(route.status).toBe(201);
    return { appkey, blue1, blue2, green1, routeId: route.body.id as number };
  }

  it("fills in every default on GET, and round-trips a partial options object", async () => {
    const { appkey, routeId } = await setUp();
    const group = await api.client.get(`/v1/services/${appkey}/groups/blue`);
    expect(group.body).toMatchObject({ balancer: "swrr", balancing: GROUP_BALANCING_DEFAULTS });
    expect((await api.client.get(`/v1/routes/${routeId}`)).body.retry).toEqual(ROUTE_RETRY_DEFAULTS);

    const balancing = { hashKey: { from: "cookie", name: "sid" }, maglev: { tableSize: 251 }, outlier: { consecutive5xx: 3 } };
    const put = await api.client.put(`/v1/services/${appkey}/groups/blue`, { balancer: "maglev", balancing });
    expect(put.status).toBe(200);
    const got = (await api.client.get(`/v1/services/${appkey}/groups/blue`)).body;
    expect(got.balancer).toBe("maglev");
    expect(got.balancing).toEqual({
      ...GROUP_BALANCING_DEFAULTS,
      hashKey: { from: "cookie", name: "sid" },
      maglev: { tableSize: 251 },
      outlier: { ...GROUP_BALANCING_DEFAULTS.outlier, consecutive5xx: 3 },
    });
    const s = await snapshotOf(api.db);
    const blue = s.groups.find((g) => g.name === "blue" && s.instances[g.firstInstance]?.host === "10.1.0.1");
    expect(blue?.balancer).toBe(5);
    expect(s.attributes).toContainEqual({ source: 2, name: "sid" });

    // A replace without `balancing` returns it to the defaults (full replacement, like every PUT).
    await api.client.put(`/v1/services/${appkey}/groups/blue`, { balancer: "least-request" });
    expect((await api.client.get(`/v1/services/${appkey}/groups/blue`)).body.balancing).toEqual(GROUP_BALANCING_DEFAULTS);
  });

  it("stores a route's retry policy", async () => {
    const { appkey, routeId } = await setUp();
    const current = (await api.client.get(`/v1/routes/${routeId}`)).body;
    const { id: _id, createdAt: _c, updatedAt: _u, retry: _r, ...input } = current;
    const put = await api.client.put(`/v1/routes/${routeId}`, {
      ...input,
      retry: { retryOn: ["5xx", "reset"], numRetries: 2, perTryTimeoutMs: 500 },
    });
    expect(put.status).toBe(200);
    expect(put.body.retry).toEqual({ ...ROUTE_RETRY_DEFAULTS, retryOn: ["5xx", "reset"], numRetries: 2, perTryTimeoutMs: 500 });
    expect(put.body.appkey).toBe(appkey);
  });

  // [case, body of a group replace, field paths the 400 must name]
  const badGroups: [string, unknown, string[]][] = [
    ["unknown balancer", { balancer: "round-robin" }, ["balancer"]],
    ["maglev size not prime", { balancing: { maglev: { tableSize: 65536 } } }, ["balancing.maglev.tableSize"]],
    ["maglev size above 65537", { balancing: { maglev: { tableSize: 65539 } } }, ["balancing.maglev.tableSize"]],
    ["ring min > max", { balancing: { ringHash: { minRingSize: 4096, maxRingSize: 2048 } } }, ["balancing.ringHash.minRingSize"]],
    ["ring max below the default min", { balancing: { ringHash: { maxRingSize: 512 } } }, ["balancing.ringHash.maxRingSize"]],
    ["zone factor < 1 ppm", { balancing: { routeRules: { otherZonePpm: 0 } } }, ["balancing.routeRules.otherZonePpm"]],
    ["panic threshold 101", { balancing: { panicThresholdPct: 101 } }, ["balancing.panicThresholdPct"]],
    ["choice count 1", { balancing: { leastRequest: { choiceCount: 1 } } }, ["balancing.leastRequest.choiceCount"]],
    ["ratio with 4 decimals", { balancing: { instanceBreaker: { errorRatio: 0.1234 } } }, ["balancing.instanceBreaker.errorRatio"]],
    ["base ejection above max", { balancing: { outlier: { baseEjectionTimeMs: 400_000 } } }, ["balancing.outlier.baseEjectionTimeMs"]],
    ["hash key from body", { balancing: { hashKey: { from: "body", name: "x" } } }, ["balancing.hashKey.from"]],
    ["unknown option", { balancing: { ringHash: { size: 1 } } }, ["balancing.ringHash.size"]],
    [
      "several at once",
      { balancing: { maglev: { tableSize: 4 }, groupBreaker: { maxRequests: 0 } } },
      ["balancing.maglev.tableSize", "balancing.groupBreaker.maxRequests"],
    ],
  ];
  for (const [name, body, fields] of badGroups) {
    it(`refuses a group with ${name} (400 naming ${fields.join(", ")}), changing nothing`, async () => {
      const { appkey } = await setUp();
      const before = (await api.client.get(`/v1/services/${appkey}/groups/blue`)).body;
      const res = await api.client.put(`/v1/services/${appkey}/groups/blue`, body);
      expect(res.status).toBe(400);
      expect(res.body.fields.map((f: { path: string }) => f.path).sort()).toEqual([...fields].sort());
      expect((await api.client.get(`/v1/services/${appkey}/groups/blue`)).body).toEqual(before);
    });
  }

  const badRetries: [string, unknown, string][] = [
    ["numRetries 11", { numRetries: 11 }, "retry.numRetries"],
    ["a retryOn class twice", { retryOn: ["5xx", "5xx"] }, "retry.retryOn[1]"],
    ["an unknown retryOn class", { retryOn: ["4xx"] }, "retry.retryOn[0]"],
    ["back-off base above the cap", { backoffBaseMs: 300 }, "retry.backoffBaseMs"],
    ["a per-try timeout above the route's", { perTryTimeoutMs: 20_000 }, "retry.perTryTimeoutMs"],
  ];
  for (const [name, retry, field] of badRetries) {
    it(`refuses a route retry policy with ${name} (400 naming ${field})`, async () => {
      const { appkey } = await setUp();
      const res = await api.client.post("/v1/routes", { appkey, host: `${appkey}.test`, path: "/other", defaultGroup: "blue", retry });
      expect(res.status).toBe(400);
      expect(res.body.fields.map((f: { path: string }) => f.path)).toEqual([field]);
    });
  }

  it("drains an instance, a group and a zone, and undoes each with one call", async () => {
    const { appkey, blue1, blue2, green1 } = await setUp();
    const drainedHosts = async () =>
      (await snapshotOf(api.db)).instances
        .filter((i) => i.drained && i.host.startsWith("10.1.0."))
        .map((i) => {
          expect(i.weight).toBe(10); // the configured weight is kept: the flag alone drains it
          return i.host;
        })
        .sort();
    expect(await drainedHosts()).toEqual([]);

    const cuts: [unknown, string[]][] = [
      [{ kind: "instance", instanceId: blue1, reason: "disk" }, ["10.1.0.1"]],
      [{ kind: "group", appkey, group: "blue" }, ["10.1.0.1", "10.1.0.2"]],
      [{ kind: "zone", zone: "z1", appkey }, ["10.1.0.1", "10.1.0.3"]],
    ];
    for (const [body, hosts] of cuts) {
      const changes = api.changes.length;
      const created = await api.client.post("/v1/traffic-cuts", body);
      expect(created.status).toBe(201);
      expect(api.changes.length).toBe(changes + 1); // one revision, one snapshot rebuild
      expect(created.body).toMatchObject({ ...(body as object), id: expect.any(Number), appkey });
      expect((await api.client.get("/v1/traffic-cuts")).body.items).toContainEqual(created.body);
      expect(await drainedHosts()).toEqual(hosts);
      expect((await api.client.del(`/v1/traffic-cuts/${created.body.id}`)).status).toBe(204);
      expect(await drainedHosts()).toEqual([]);
    }
    expect([blue2, green1].every(Number.isInteger)).toBe(true);
  });

  it("forces a route to another group, bypassing its policies, until the cut is undone", async () => {
    const { appkey, routeId } = await setUp();
    const decideGroup = async (uid: string) => {
      const s = await snapshotOf(api.db);
      const r = hot.decide(request(`${appkey}.test`, "/x", { "0:uid": uid }));
      return { group: s.groups[r.group]?.name, forced: s.routes[r.route]?.forced };
    };
    expect(await decideGroup("1")).toEqual({ group: "blue", forced: false });
    expect(await decideGroup("7")).toEqual({ group: "green", forced: false }); // the policy

    const cut = await api.client.post("/v1/traffic-cuts", { kind: "route", routeId, toGroup: "green" });
    expect(cut.status).toBe(201);
    expect(await decideGroup("1")).toEqual({ group: "green", forced: true });
    // A route forced to blue ignores the policy that would send uid 7 to green.
    await api.client.del(`/v1/traffic-cuts/${cut.body.id}`);
    const back = await api.client.post("/v1/traffic-cuts", { kind: "route", routeId, toGroup: "blue" });
    expect(await decideGroup("7")).toEqual({ group: "blue", forced: true });
    // The group a cut forces a route to cannot be deleted while the cut stands.
    const del = await api.client.del(`/v1/services/${appkey}/groups/blue`);
    expect(del.status).toBe(409);
    expect(del.body.referrers).toContainEqual(expect.objectContaining({ resource: "traffic_cut", id: String(back.body.id) }));
    await api.client.del(`/v1/traffic-cuts/${back.body.id}`);
    expect(await decideGroup("7")).toEqual({ group: "green", forced: false });
  });

  it("records the end of each cut that a delete takes with it in the revision log", async () => {
    const { blue1, routeId } = await setUp();
    const instanceCut = (await api.client.post("/v1/traffic-cuts", { kind: "instance", instanceId: blue1, reason: "disk" })).body;
    const routeCut = (await api.client.post("/v1/traffic-cuts", { kind: "route", routeId, toGroup: "green" })).body;
    const latest = async (n: number) => (await api.client.get(`/v1/revisions?limit=${n}`)).body.items;
    const cutIds = async () => ((await api.client.get("/v1/traffic-cuts")).body.items as { id: number }[]).map((c) => c.id);

    const { appkey } = instanceCut;
    const instancePath = `/v1/services/${appkey}/groups/blue/instances/${blue1}`;
    expect((await api.client.del(instancePath)).status).toBe(204);
    expect(await cutIds()).not.toContain(instanceCut.id);
    const [deleted, cutEnded] = await latest(2);
    expect(deleted).toMatchObject({ action: "delete", resource: "instance", resourceId: `${appkey}/blue/${blue1}` });
    expect(cutEnded).toMatchObject({ action: "delete", resource: "traffic_cut", resourceId: String(instanceCut.id) });
    expect(cutEnded.body).toEqual({ before: instanceCut, after: null });

    expect((await api.client.del(`/v1/routes/${routeId}`)).status).toBe(204);
    expect(await cutIds()).not.toContain(routeCut.id);
    const [routeDeleted, routeCutEnded] = await latest(2);
    expect(routeDeleted).toMatchObject({ action: "delete", resource: "route", resourceId: String(routeId) });
    expect(routeCutEnded).toMatchObject({ action: "delete", resource: "traffic_cut", resourceId: String(routeCut.id) });
    expect(routeCutEnded.body.before).toEqual(routeCut);

    // A group cut goes with its group.
    expect((await api.client.post(`/v1/services/${appkey}/groups`, { name: "spare" })).status).toBe(201);
    const groupCut = (await api.client.post("/v1/traffic-cuts", { kind: "group", appkey, group: "spare" })).body;
    expect((await api.client.del(`/v1/services/${appkey}/groups/spare`)).status).toBe(204);
    expect(await cutIds()).not.toContain(groupCut.id);
    const [groupDeleted, groupCutEnded] = await latest(2);
    expect(groupDeleted).toMatchObject({ action: "delete", resource: "group", resourceId: `${appkey}/spare` });
    expect(groupCutEnded).toMatchObject({ action: "delete", resource: "traffic_cut", resourceId: String(groupCut.id) });
  });

  it("answers 404 for unknown targets, 422 for a group outside the route's service, 409 for a duplicate", async () => {
    const { appkey, blue1, routeId } = await setUp();
    const post = (body: unknown) => api.client.post("/v1/traffic-cuts", body);
    expect((await post({ kind: "instance", instanceId: 2_000_000_000 })).status).toBe(404);
    expect((await post({ kind: "group", appkey, group: "nope" })).status).toBe(404);
    expect((await post({ kind: "group", appkey: "no-such-service", group: "blue" })).status).toBe(404);
    expect((await post({ kind: "zone", zone: "nowhere" })).status).toBe(404);
    expect((await post({ kind: "route", routeId: 2_000_000_000, toGroup: "blue" })).status).toBe(404);
    const outside = await post({ kind: "route", routeId, toGroup: "purple" });
    expect(outside.status).toBe(422);
    expect(outside.body).toMatchObject({ reason: "group_not_found", field: "toGroup" });
    expect((await api.client.del("/v1/traffic-cuts/2000000000")).status).toBe(404);

    const first = await post({ kind: "instance", instanceId: blue1 });
    expect(first.status).toBe(201);
    expect((await post({ kind: "instance", instanceId: blue1, reason: "again" })).status).toBe(409);
    const forced = await post({ kind: "route", routeId, toGroup: "green" });
    expect((await post({ kind: "route", routeId, toGroup: "blue" })).status).toBe(409);
    for (const id of [first.body.id, forced.body.id]) await api.client.del(`/v1/traffic-cuts/${id}`);
  });

  it("keeps a maglev group within the 65,535 instances a gateway's table can address", async () => {
    const appkey = unique("big");
    await api.client.post("/v1/services", { appkey });
    expect((await api.client.post(`/v1/services/${appkey}/groups`, { name: "big" })).status).toBe(201);
    const [group] = await api.db
      .select({ id: groups.id })
      .from(groups)
      .innerJoin(services, eq(groups.serviceId, services.id))
      .where(eq(services.appkey, appkey));
    // Straight into the table: 65,535 API calls would take minutes.
    await api.db.execute(sql`insert into instances (group_id, host, port)
      select ${group?.id}, '10.' || (g / 65536) || '.' || (g / 256 % 256) || '.' || (g % 256), 80 from generate_series(1, 65535) g`);
    const toMaglev = () => api.client.put(`/v1/services/${appkey}/groups/big`, { balancer: "maglev" });
    expect((await toMaglev()).status).toBe(200); // exactly the limit
    const more = await api.client.post(`/v1/services/${appkey}/groups/big/instances`, { host: "10.200.0.1", port: 80 });
    expect(more.status).toBe(422);
    expect(more.body).toMatchObject({ reason: "too_many_instances", field: "name" });
    expect((await api.client.put(`/v1/services/${appkey}/groups/big`, { balancer: "swrr" })).status).toBe(200);
    expect((await api.client.post(`/v1/services/${appkey}/groups/big/instances`, { host: "10.200.0.1", port: 80 })).status).toBe(201);
    const refused = await toMaglev();
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ reason: "too_many_instances", field: "balancer" });
    // Gone again before the tests that build snapshots (through SQL: the API's revision of the delete would hold every instance).
    await api.db.delete(services).where(eq(services.appkey, appkey));
  });

  it("refuses malformed cuts with 400 naming the field", async () => {
    const cases: [unknown, string][] = [
      [{ kind: "region", zone: "z1" }, "kind"],
      [{ kind: "instance", instanceId: "1" }, "instanceId"],
      [{ kind: "zone", zone: "" }, "zone"],
      [{ kind: "route", routeId: 1 }, "toGroup"],
      [{ kind: "group", appkey: "a-b", group: "x", extra: 1 }, "extra"],
    ];
    for (const [body, field] of cases) {
      const res = await api.client.post("/v1/traffic-cuts", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.fields.map((f: { path: string }) => f.path)).toContain(field);
    }
  });

  it("restarts an instance's aliveSince when it becomes routable again, not otherwise", async () => {
    const { appkey, blue1 } = await setUp();
    const base = `/v1/services/${appkey}/groups/blue/instances/${blue1}`;
    const put = (status: string, weight = 10) => api.client.put(base, { host: "10.1.0.1", port: 80, zone: "z1", status, weight });
    const first = (await api.client.get(base)).body.aliveSince;
    expect(Date.parse(first)).not.toBeNaN();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await put("alive", 20)).body.aliveSince).toBe(first); // still routable: unchanged
    const stopped = (await put("stopping")).body.aliveSince;
    expect(stopped).toBe(first);
    const again = (await put("alive")).body.aliveSince;
    expect(Date.parse(again)).toBeGreaterThan(Date.parse(first));
    const s = await snapshotOf(api.db);
    expect(s.instances.find((i) => i.id === blue1)?.aliveSinceMs).toBe(Date.parse(again));
  });
});
