/**
 * Stored condition IR in the database (docs/conditions.md, "Stored IR"): every policy write
 * stores the IR of the condition it writes, in the same statement; the loader hands it to the
 * build, which then needs no parser; the start-up backfill fills rows written without it and never
 * gives a row the IR of a condition it no longer has.
 */
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { clearLoweringCache, keyAttribute, lowerCondition } from "../../../control/compiler/index.ts";
import { backfillConditionIr, storeLoweredIr } from "../../../control/db/condition-ir.ts";
import { loadConfigModel } from "../../../control/db/config.ts";
import { policies } from "../../../control/db/schema.ts";
import type { Passway } from "../../../control/snapshot/model.ts";
import { writeSnapshot } from "../../../control/snapshot/writer.ts";
import { decodeStoredIr, encodeStoredIr, STORED_IR_VERSION } from "../../../wasm/cel/ir-codec.ts";
import { backends } from "../../support/backends.ts";
import { type ApiFixture, unique, useApi } from "../../support/fixture.ts";

async function rowOf(api: ApiFixture, name: string) {
  const [row] = await api.db.select().from(policies).where(eq(policies.name, name));
  if (!row) throw new Error(`no policy ${name}`);
  return row;
}

/** The row's stored IR equals lowering its own source afresh (not a memoised object). */
async function expectIrOfSource(api: ApiFixture, name: string) {
  const row = await rowOf(api, name);
  const key = keyAttribute(row.passway as Passway, row.key);
  clearLoweringCache();
  expect(decodeStoredIr(row.conditionIr, key), name).toEqual(lowerCondition(row.condition, key));
}

describe.each(backends())("stored condition IR on $name", (backend) => {
  const api = useApi(backend);

  async function service() {
    const appkey = unique("svc");
    await api.client.post("/v1/services", { appkey });
    await api.client.post(`/v1/services/${appkey}/groups`, { name: "green" });
    return appkey;
  }

  it("stores the IR of the condition on create, PUT and PATCH", async () => {
    const appkey = await service();
    const name = unique("pol");
    const created = await api.client.post("/v1/policies", {
      name,
      category: "private",
      appkey,
      key: "uid",
      passway: "query",
      condition: 'int(key) % 100 < 10 && request.ip.startsWith("10.")',
      group: "green",
    });
    expect(created.status).toBe(201);
    await expectIrOfSource(api, name);
    expect(created.body).not.toHaveProperty("conditionIr");

    const replaced = await api.client.put(`/v1/policies/${name}`, {
      category: "public",
      key: "X-User",
      passway: "header",
      condition: 'key.matches("^vip-[0-9]+$")',
      group: "green",
    });
    expect(replaced.status).toBe(200);
    await expectIrOfSource(api, name);
    // Lowered for the new key: the old one no longer decodes it.
    expect(decodeStoredIr((await rowOf(api, name)).conditionIr, keyAttribute("query", "uid"))).toBeNull();

    expect((await api.client.patch(`/v1/policies/${name}`, { condition: "key != ''" })).status).toBe(200);
    await expectIrOfSource(api, name);
    expect((await api.client.patch(`/v1/policies/${name}`, { passway: "cookie" })).status).toBe(200);
    await expectIrOfSource(api, name);
    expect((await api.client.patch(`/v1/policies/${name}`, { enabled: false })).status).toBe(200);
    await expectIrOfSource(api, name);
  });

  it("builds a snapshot from the loaded rows without parsing", async () => {
    const appkey = await service();
    const names = [unique("pol"), unique("pol"), unique("pol")];
    const conditions = [
      'cidr("10.0.0.0/8").contains(request.ip)',
      "uint(key) == 18446744073709551615u",
      // jsonb refuses U+0000 in strings (ir-codec.ts escapes it).
      'key != "a\\x00b" && request.query["\\u0000"] == ""',
    ];
    for (const [i, name] of names.entries()) {
      const body = { name, category: "private", appkey, key: "uid", passway: "query", condition: conditions[i], group: "green" };
      expect((await api.client.post("/v1/policies", body)).status).toBe(201);
    }
    const route = { appkey, host: "*", path: `/${appkey}`, match: "prefix", defaultGroup: "green", policies: names };
    expect((await api.client.post("/v1/routes", route)).status).toBe(201);

    for (const name of names) await expectIrOfSource(api, name);
    const model = await loadConfigModel(api.db);
    for (const name of names) expect(model.policies.find((p) => p.name === name)?.storedIr).toMatchObject({ v: STORED_IR_VERSION });
    const noParser = () => {
      throw new Error("parsed a condition that has stored IR");
    };
    const built = writeSnapshot(model, { version: 1n, builtAtMs: 0, lower: noParser });
    const withoutIr = { ...model, policies: model.policies.map(({ storedIr: _, ...p }) => p) };
    expect(built).toEqual(writeSnapshot(withoutIr, { version: 1n, builtAtMs: 0 }));
  });

  it("stores no IR for a condition that no longer lowers, and still takes an emergency PATCH", async () => {
    // As if the compiler grew stricter after admission: written below the API.
    const name = unique("pol");
    await api.db
      .insert(policies)
      .values({ name, category: "public", key: "uid", passway: "query", condition: "key ==", groupName: "green" });
    expect((await api.client.patch(`/v1/policies/${name}`, { enabled: false })).status).toBe(200);
    expect((await rowOf(api, name)).conditionIr).toBeNull();
  });

  it("backfills rows without IR or of another version, and skips what does not lower", async () => {
    const row = (name: string, condition: string, conditionIr: unknown = null) => ({
      name,
      category: "public",
      key: "X-A",
      passway: "header",
      condition,
      groupName: "green",
      conditionIr,
    });
    const key = keyAttribute("header", "X-A");
    const stale = { ...encodeStoredIr(lowerCondition("key == 'old'", key), key), v: STORED_IR_VERSION - 1 };
    const [missing, older, broken] = [unique("legacy"), unique("legacy"), unique("legacy")];
    await api.db
      .insert(policies)
      .values([row(missing, 'request.header["x-b"] == key'), row(older, "key == 'new'", stale), row(broken, "key ==")]);

    const first = await backfillConditionIr(api.db);
    expect(first.stored).toBeGreaterThanOrEqual(2);
    await expectIrOfSource(api, missing);
    await expectIrOfSource(api, older);
    expect((await rowOf(api, broken)).conditionIr).toBeNull();
    // Only rows that cannot lower are left, and they stay as they are.
    const again = await backfillConditionIr(api.db);
    expect(again.stored).toBe(0);
    expect(again.skipped).toBeGreaterThanOrEqual(1);
    expect((await rowOf(api, broken)).conditionIr).toBeNull();
  });

  it("never stores the IR of a condition the policy no longer has", async () => {
    const appkey = await service();
    const name = unique("pol");
    const body = { name, category: "private", appkey, key: "uid", passway: "query", condition: "key == 'a'", group: "green" };
    expect((await api.client.post("/v1/policies", body)).status).toBe(201);
    await api.db.update(policies).set({ conditionIr: null }).where(eq(policies.name, name));
    const readByBackfill = await rowOf(api, name);
    // An update commits between the backfill's read and its write.
    expect((await api.client.patch(`/v1/policies/${name}`, { condition: "key == 'b'" })).status).toBe(200);
    expect(await storeLoweredIr(api.db, [readByBackfill])).toEqual({ stored: 0, skipped: 1 });
    await expectIrOfSource(api, name);
    expect((await rowOf(api, name)).condition).toBe("key == 'b'");
  });
});
