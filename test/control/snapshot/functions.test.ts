/**
 * Functions in the snapshot (docs/functions-runtime.md "In the snapshot"), from the database to
 * the WASM hot path: configuration written through the API, instances as an agent's report leaves
 * them, the model loaded in one transaction (control/db/config.ts), written by the real writer,
 * read back by the gateway's reader (wasm/functions-section.ts) and decided by
 * build/hotpath.wasm — a function route lands on its entry group with NO_INSTANCE.
 */
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { loadConfigSnapshot } from "../../../control/db/config.ts";
import { functionInstances, functions, functionVersions, services } from "../../../control/db/schema.ts";
import { FUNCTION_LEASE_MS } from "../../../control/functions/lease.ts";
import { sealSnapshot } from "../../../control/snapshot/seal.ts";
import { writeSnapshot } from "../../../control/snapshot/writer.ts";
import { readFunctionsSection } from "../../../wasm/functions-section.ts";
import { DecideStatus } from "../../../wasm/host.ts";
import { backends } from "../../support/backends.ts";
import { unique, useApi } from "../../support/fixture.ts";
import { instantiate, request } from "../../support/wasm-fixtures.ts";

const UPLOAD = {
  modules: [{ name: "worker.js", type: "esm", content: Buffer.from("export default { fetch() {} };").toString("base64") }],
  main: "worker.js",
  compatibilityDate: "2026-07-01",
};

describe.each(backends())("functions in the snapshot on $name", (backend) => {
  const api = useApi(backend);

  /** Service `appkey` with group main, function hello (versions 1, 2; canary split), function bare (version 1, no split), routes to both. */
  async function configure(): Promise<{ appkey: string; ids: { hello: number; bare: number; v: Record<string, number> } }> {
    const appkey = unique("fnsnap");
    const ok = async (reply: Promise<{ status: number }>) => expect((await reply).status).toBeLessThan(300);
    await ok(api.client.post("/v1/services", { appkey }));
    await ok(api.client.post(`/v1/services/${appkey}/groups`, { name: "main" }));
    for (const name of ["hello", "bare"]) {
      await ok(
        api.client.post(`/v1/services/${appkey}/functions`, { name, scaling: name === "hello" ? { activationTimeoutMs: 2500 } : {} }),
      );
      await ok(api.client.post(`/v1/services/${appkey}/functions/${name}/versions`, UPLOAD));
    }
    await ok(api.client.post(`/v1/services/${appkey}/functions/hello/versions`, UPLOAD));
    await ok(
      api.client.put(`/v1/services/${appkey}/functions/hello/traffic`, {
        targets: [
          { version: 1, percent: 90 },
          { version: "latest", percent: 10, tag: "canary", lane: "gray" },
        ],
        stickiness: { from: "header", name: "x-user" },
      }),
    );
    await ok(api.client.post("/v1/routes", { appkey, host: `${appkey}.test`, path: "/hello", function: "hello" }));
    await ok(api.client.post("/v1/routes", { appkey, host: `${appkey}.test`, path: "/bare", function: "bare" }));
    await ok(api.client.post("/v1/routes", { appkey, host: `${appkey}.test`, path: "/main", defaultGroup: "main" }));

    const rows = await api.db
      .select({ fn: functions.name, fnId: functions.id, number: functionVersions.number, versionId: functionVersions.id })
      .from(functionVersions)
      .innerJoin(functions, eq(functionVersions.functionId, functions.id))
      .innerJoin(services, and(eq(functions.serviceId, services.id), eq(services.appkey, appkey)));
    const fnId = (name: string) => rows.find((r) => r.fn === name)?.fnId as number;
    const v = Object.fromEntries(rows.map((r) => [`${r.fn}@${r.number}`, r.versionId]));
    return { appkey, ids: { hello: fnId("hello"), bare: fnId("bare"), v } };
  }

  /** Instances of `versionId` as an agent's reports leave them; returns their ids by key. */
  async function report(versionId: number, instances: { key: string; state: string; ageMs: number }[]): Promise<Record<string, number>> {
    const ids: Record<string, number> = {};
    for (const [i, inst] of instances.entries()) {
      const [row] = await api.db
        .insert(functionInstances)
        .values({
          versionId,
          node: "node-a",
          instanceKey: `${versionId}-${inst.key}`,
          host: "127.0.0.1",
          port: 20000 + versionId * 10 + i,
          // The node's place, as its report gives it: the balancers' zone and cell affinity.
          zone: "z1",
          region: "r1",
          cell: "c1",
          state: inst.state,
          reportedAt: new Date(Date.now() - inst.ageMs),
        })
        .returning();
      ids[inst.key] = row.id;
    }
    return ids;
  }

  it("loads targeted functions with latest resolved and only ready, leased instances; writes groups and section 14; WASM decides NO_INSTANCE", async () => {
    const { appkey, ids } = await configure();
    const live = await report(ids.v["hello@1"], [
      { key: "live", state: "ready", ageMs: 0 },
      { key: "expired", state: "ready", ageMs: FUNCTION_LEASE_MS * 20 },
      { key: "starting", state: "starting", ageMs: 0 },
      { key: "draining", state: "draining", ageMs: 0 },
    ]);

    const { model } = await loadConfigSnapshot(api.db);
    const mine = (model.functions ?? []).filter((f) => f.appkey === appkey);
    expect(mine).toEqual([
      {
        id: ids.hello,
        appkey,
        name: "hello",
        activationTimeoutMs: 2500,
        stickiness: { from: "header", name: "x-user" },
        targets: [
          { version: 1, percent: 90, tag: null, lane: null },
          { version: 2, percent: 10, tag: "canary", lane: "gray" },
        ],
        versions: [
          {
            id: ids.v["hello@1"],
            number: 1,
            instances: [
              {
                id: live.live,
                host: "127.0.0.1",
                port: expect.any(Number),
                weight: 10,
                status: "alive",
                zone: "z1",
                region: "r1",
                cell: "c1",
                lane: "",
                version: "1",
              },
            ],
          },
          { id: ids.v["hello@2"], number: 2, instances: [] },
        ],
      },
      {
        // No split stored: 100 % to latest; the default activation timeout.
        id: ids.bare,
        appkey,
        name: "bare",
        activationTimeoutMs: 10_000,
        stickiness: null,
        targets: [{ version: 1, percent: 100, tag: null, lane: null }],
        versions: [{ id: ids.v["bare@1"], number: 1, instances: [] }],
      },
    ]);
    expect(model.routes.filter((r) => r.appkey === appkey).map((r) => [r.path, r.function ?? null, r.defaultGroup])).toEqual([
      ["/hello", "hello", ""],
      ["/bare", "bare", ""],
      ["/main", null, "main"],
    ]);

    const file = writeSnapshot(model, { version: 1n, builtAtMs: 1_700_000_000_000 });
    const { hot } = await instantiate();
    expect(hot.load(file)).toMatchObject({ ok: true });
    const groups = hot.snapshot.groups;
    const section = readFunctionsSection(file, groups.length);
    const hello = section?.functions.find((f) => f.appkey === appkey && f.name === "hello");
    expect(hello).toBeDefined();
    if (!hello) return;
    expect(groups[hello.entryGroup]).toMatchObject({ id: 0x40000000 + ids.hello, name: "fn:hello", instanceCount: 0 });
    expect(hello.targets.map((t) => groups[t.group].name)).toEqual(["fn:hello@1", "fn:hello@2"]);
    const v1 = groups[hello.targets[0].group];
    expect(v1).toMatchObject({ id: 0x60000000 + ids.v["hello@1"], balancer: 2 /* least-request */, instanceCount: 1 });
    expect(hot.snapshot.instances[v1.firstInstance]).toMatchObject({ id: 0x40000000 + live.live, weight: 10, status: 2 /* alive */ });
    expect(groups[hello.targets[1].group]).toMatchObject({ id: 0x60000000 + ids.v["hello@2"], instanceCount: 0 });
    expect(hello).toMatchObject({ activationTimeoutMs: 2500, stickiness: { from: "header", name: "x-user" } });

    for (const name of ["hello", "bare"]) {
      const decision = hot.decide(request(`${appkey}.test`, `/${name}`));
      const entry = section?.functions.find((f) => f.appkey === appkey && f.name === name);
      expect(decision).toMatchObject({ status: DecideStatus.NO_INSTANCE, group: entry?.entryGroup });
    }
    expect(groups[hot.decide(request(`${appkey}.test`, "/main")).group].name).toBe("main");
  });

  it("gives the same bytes, hence the same content hash, for the same data", async () => {
    const { ids } = await configure();
    await report(ids.v["hello@2"], [
      { key: "b", state: "ready", ageMs: 0 },
      { key: "a", state: "ready", ageMs: 0 },
    ]);
    const write = async () => writeSnapshot((await loadConfigSnapshot(api.db)).model, { version: 7n, builtAtMs: 1_700_000_000_000 });
    const [first, second] = [await write(), await write()];
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true);
    const { privateKey } = (await crypto.subtle.generateKey("Ed25519", true, ["sign", "verify"])) as CryptoKeyPair;
    expect((await sealSnapshot(second, privateKey)).contentHash).toBe((await sealSnapshot(first, privateKey)).contentHash);
  });
});
