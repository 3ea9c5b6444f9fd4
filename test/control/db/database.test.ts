/**
 * The database layer: migrations at open (idempotent, concurrent-safe), the schema's own
 * constraints, bytea snapshots, and loadConfigModel's mapping to control/snapshot/model.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../control/api/app.ts";
import { keyAttribute, lowerCondition } from "../../../control/compiler/index.ts";
import { loadConfigModel } from "../../../control/db/config.ts";
import { openDatabase } from "../../../control/db/connect.ts";
import { groups, instances, policies, routes, services, snapshots } from "../../../control/db/schema.ts";
import type { ConfigModel } from "../../../control/snapshot/model.ts";
import { GROUP_BALANCING_DEFAULTS, ROUTE_RETRY_DEFAULTS } from "../../../control/snapshot/options.ts";
import { encodeStoredIr } from "../../../wasm/cel/ir-codec.ts";
import { backends, type TestDatabase } from "../../support/backends.ts";
import { ADMIN_TOKEN, clientFor, GATEWAY_TOKEN } from "../../support/client.ts";

describe.each(backends())("database on $name", (backend) => {
  let opened: TestDatabase;
  beforeAll(async () => {
    opened = await backend.open();
  }, 60_000);
  afterAll(() => opened?.close());

  it("loads an empty model from an empty database", async () => {
    expect(await loadConfigModel(opened.db)).toEqual({ groups: [], policies: [], routes: [] });
  });

  it("maps what the API stored to the snapshot compiler's model", async () => {
    const app = createApp({
      db: opened.db,
      auth: { adminToken: ADMIN_TOKEN, gatewayToken: GATEWAY_TOKEN },
      getSnapshot: () => null,
      logger: pino({ level: "silent" }),
    });
    const client = clientFor(app);
    const writes: [string, unknown][] = [
      ["/v1/services", { appkey: "orders" }],
      ["/v1/services/orders/groups", { name: "blue" }],
      ["/v1/services/orders/groups", { name: "green" }],
      ["/v1/services/orders/groups/blue/instances", { host: "10.0.0.1", port: 8080 }],
      [
        "/v1/services/orders/groups/blue/instances",
        { host: "10.0.0.2", port: 8080, weight: 5, status: "dead", zone: "z1", lane: "l", version: "v2" },
      ],
      [
        "/v1/policies",
        {
          name: "vip",
          category: "private",
          appkey: "orders",
          key: "uid",
          passway: "query",
          condition: "key == 'v'",
          group: "green",
          graylist: ["u1"],
        },
      ],
      [
        "/v1/policies",
        {
          name: "beta",
          category: "public",
          key: "X-Beta",
          passway: "header",
          condition: "key == '1'",
          group: "green",
          enabled: false,
        },
      ],
      [
        "/v1/routes",
        {
          appkey: "orders",
          host: "api.example.com",
          path: "/orders",
          match: "prefix",
          defaultGroup: "blue",
          policies: ["vip", "beta"],
          timeoutMs: 3000,
        },
      ],
    ];
    for (const [path, body] of writes) expect((await client.post(path, body)).status).toBe(201);

    const model = await loadConfigModel(opened.db);
    // The condition's IR, as admission stored it (docs/conditions.md, "Stored IR").
    const storedIr = (condition: string, passway: "query" | "header", key: string) =>
      JSON.parse(JSON.stringify(encodeStoredIr(lowerCondition(condition, keyAttribute(passway, key)), keyAttribute(passway, key))));
    const blueId = model.groups[0].id;
    // Fields the API leaves at their defaults: OCTO role/region/cell, no warmup, not drained.
    const v3 = { role: "primary", region: "", cell: "", warmupMs: 0, aliveSinceMs: expect.any(Number), drained: false } as const;
    const expected: ConfigModel = {
      groups: [
        {
          id: blueId,
          appkey: "orders",
          name: "blue",
          balancer: "swrr",
          balancing: GROUP_BALANCING_DEFAULTS,
          instances: [
            {
              id: expect.any(Number),
              host: "10.0.0.1",
              port: 8080,
              weight: 10,
              status: "alive",
              zone: "",
              lane: "",
              version: "",
              ...v3,
            },
            {
              id: expect.any(Number),
              host: "10.0.0.2",
              port: 8080,
              weight: 5,
              status: "dead",
              zone: "z1",
              lane: "l",
              version: "v2",
              ...v3,
            },
          ],
        },
        { id: expect.any(Number), appkey: "orders", name: "green", balancer: "swrr", balancing: GROUP_BALANCING_DEFAULTS, instances: [] },
      ],
      policies: [
        {
          id: expect.any(Number),
          name: "vip",
          category: "private",
          appkey: "orders",
          key: "uid",
          passway: "query",
          condition: "key == 'v'",
          storedIr: storedIr("key == 'v'", "query", "uid"),
          group: "green",
          enabled: true,
          graylist: ["u1"],
        },
        {
          id: expect.any(Number),
          name: "beta",
          category: "public",
          appkey: null,
          key: "X-Beta",
          passway: "header",
          condition: "key == '1'",
          storedIr: storedIr("key == '1'", "header", "X-Beta"),
          group: "green",
          enabled: false,
          graylist: [],
        },
      ],
      routes: [
        {
          id: expect.any(Number),
          appkey: "orders",
          host: "api.example.com",
          path: "/orders",
          match: "prefix",
          defaultGroup: "blue",
          policies: ["vip", "beta"],
          timeoutMs: 3000,
          bodyCapBytes: 65536,
          retry: ROUTE_RETRY_DEFAULTS,
        },
      ],
    };
    expect(model).toEqual(expected);
    // Same data, same model: the snapshot content hash depends on it.
    expect(await loadConfigModel(opened.db)).toEqual(model);
  });

  it("enforces the schema's constraints below the API", async () => {
    const db = opened.db;
    const [service] = await db.insert(services).values({ appkey: "raw" }).returning();
    const [group] = await db.insert(groups).values({ serviceId: service.id, name: "g" }).returning();
    const refused = [
      db.insert(services).values({ appkey: "raw" }),
      db.insert(groups).values({ serviceId: service.id, name: "g" }),
      db.insert(groups).values({ serviceId: service.id, name: "h", balancer: "round-robin" }),
      db.insert(groups).values({ serviceId: 999999, name: "orphan" }),
      db.insert(instances).values({ groupId: group.id, host: "h", port: 0 }),
      db.insert(instances).values({ groupId: group.id, host: "h", port: 80, weight: 10001 }),
      db.insert(instances).values({ groupId: group.id, host: "h", port: 80, status: "up" }),
      // private ⇔ service set
      db.insert(policies).values({
        name: "p1",
        category: "private",
        key: "k",
        passway: "query",
        condition: "true",
        groupName: "g",
      }),
      db.insert(policies).values({
        name: "p2",
        category: "public",
        serviceId: service.id,
        key: "k",
        passway: "query",
        condition: "true",
        groupName: "g",
      }),
      db.insert(policies).values({
        name: "p3",
        category: "public",
        key: "k",
        passway: "path",
        condition: "true",
        groupName: "g",
      }),
      db.insert(routes).values({ serviceId: service.id, path: "/", match: "regex", defaultGroup: "g" }),
      db.insert(routes).values({ serviceId: service.id, path: "/", match: "exact", defaultGroup: "g", timeoutMs: 0 }),
      db.insert(routes).values({ serviceId: service.id, path: "/b", match: "exact", defaultGroup: "g", bodyCapBytes: 1_048_577 }),
      db.insert(routes).values({ serviceId: service.id, path: "/c", match: "exact", defaultGroup: "g", bodyCapBytes: -1 }),
    ];
    for (const statement of refused) await expect(statement).rejects.toThrow();
    await db.insert(instances).values({ groupId: group.id, host: "h", port: 80 });
    await expect(db.insert(instances).values({ groupId: group.id, host: "h", port: 80 })).rejects.toThrow();
  });

  it("stores snapshot bodies as bytea with increasing versions", async () => {
    const body = new Uint8Array([0, 1, 2, 254, 255]);
    const [first] = await opened.db.insert(snapshots).values({ contentHash: "aa", size: body.length, body }).returning();
    const [second] = await opened.db.insert(snapshots).values({ contentHash: "bb", size: 0, body: new Uint8Array() }).returning();
    expect(typeof first.version).toBe("bigint");
    expect(second.version).toBeGreaterThan(first.version);
    const [row] = await opened.db.select().from(snapshots).orderBy(snapshots.version).limit(1);
    expect(new Uint8Array(row.body)).toEqual(body);
  });

  it.runIf(backend.name === "postgres")("migrates concurrently and idempotently on PostgreSQL", async () => {
    const again = await Promise.all([openDatabase({ databaseUrl: opened.url }), openDatabase({ databaseUrl: opened.url })]);
    for (const db of again) {
      expect((await loadConfigModel(db.db)).routes).toHaveLength(1);
      await db.close();
    }
  });
});

describe("PGlite on disk", () => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-db-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps data across reopen and migrates only once", async () => {
    const first = await openDatabase({ dataDir: dir });
    await first.db.insert(services).values({ appkey: "kept" });
    await first.close();
    const second = await openDatabase({ dataDir: dir });
    expect((await second.db.select().from(services)).map((s) => s.appkey)).toEqual(["kept"]);
    await second.close();
  }, 60_000);
});
