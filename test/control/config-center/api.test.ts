/**
 * The config center's admin API and fetch over a real database (PGlite, and PostgreSQL when
 * DATABASE_URL is set): bad content → 400 naming `content` with line and column (JSON, YAML) or
 * the JSON pointer (schema), nothing written; an invalid schema → 400 naming `schema`; releases
 * get increasing ids, a SHA-256 hash, and never change; rollback publishes an older content
 * anew; a gray reaches exactly the instances its rules match (ids, addresses, labels AND/OR),
 * then merges or is abandoned; a full release while a gray is active is refused (409
 * gray_active) unless rebased explicitly, a properties gray keeping its own changes over the new
 * main; fetch answers the effective release per identity with an ETag; agent tokens are scoped.
 */
import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { configReleases, revisions } from "../../../control/db/schema.ts";
import { backends } from "../../support/backends.ts";
import { unique, useApi } from "../../support/fixture.ts";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe.each(backends())("config center API on $name", (backend) => {
  const api = useApi(backend);

  /** A new service and a namespace of `format` in it; returns its path. */
  async function namespace(format: string, extra: Record<string, unknown> = {}) {
    const appkey = unique("cfg");
    expect((await api.client.post("/v1/services", { appkey })).status).toBe(201);
    const created = await api.client.post("/v1/config/namespaces", { appkey, env: "prod", name: "application", format, ...extra });
    expect(created.status).toBe(201);
    return { appkey, path: `/v1/config/namespaces/${appkey}/prod/application` };
  }

  async function counts() {
    const [r] = await api.db.select({ n: sql<number>`count(*)::int` }).from(configReleases);
    const [v] = await api.db.select({ n: sql<number>`count(*)::int` }).from(revisions);
    return { releases: r.n, revisions: v.n };
  }

  const fetchAs = (appkey: string, identity: string, headers: Record<string, string> = {}, token?: string) =>
    api.client.call("GET", `/v1/config/fetch?appkey=${appkey}&env=prod${identity}`, undefined, { headers, token });

  it("refuses invalid JSON and YAML with line and column, and writes nothing", async () => {
    const json = await namespace("json");
    const before = await counts();
    const bad = await api.client.put(`${json.path}/draft`, { content: '{\n  "a": 1,\n}' });
    expect(bad.status).toBe(400);
    expect(bad.body.fields).toEqual([expect.objectContaining({ path: "content", line: 3, column: 1, in: "json" })]);
    const yaml = await namespace("yaml");
    const badYaml = await api.client.put(`${yaml.path}/draft`, { content: "a: 1\n b: 2\n" });
    expect(badYaml.status).toBe(400);
    expect(badYaml.body.fields[0]).toMatchObject({ path: "content", line: 1, column: 4 });
    const created = await api.client.post("/v1/config/namespaces", {
      appkey: yaml.appkey,
      env: "test",
      name: "x",
      format: "yaml",
      content: "[",
    });
    expect(created.status).toBe(400);
    expect(created.body.fields[0]).toMatchObject({ path: "content", line: 1 });
    expect((await counts()).releases).toBe(before.releases);
    expect((await api.client.get(json.path)).body.draft).toBe("");
    expect((await api.client.get(`/v1/config/namespaces/${yaml.appkey}/test/x`)).status).toBe(404);
  });

  it("checks the schema: invalid schema → 400 schema; violation → 400 naming the pointer", async () => {
    const appkey = unique("cfg");
    await api.client.post("/v1/services", { appkey });
    const invalid = await api.client.post("/v1/config/namespaces", {
      appkey,
      env: "prod",
      name: "db",
      format: "json",
      schema: { type: "nope" },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.fields[0].path).toBe("schema");
    const textSchema = await api.client.post("/v1/config/namespaces", { appkey, env: "prod", name: "t", format: "text", schema: {} });
    expect(textSchema.body.fields[0].path).toBe("schema");
    const schema = { type: "object", properties: { db: { type: "object", properties: { port: { type: "integer" } } } } };
    expect((await api.client.post("/v1/config/namespaces", { appkey, env: "prod", name: "db", format: "yaml", schema })).status).toBe(201);
    const path = `/v1/config/namespaces/${appkey}/prod/db`;
    const violation = await api.client.put(`${path}/draft`, { content: "db:\n  port: x\n" });
    expect(violation.status).toBe(400);
    expect(violation.body.fields[0]).toMatchObject({ path: "content", pointer: "/db/port" });
    expect((await api.client.put(`${path}/draft`, { content: "db:\n  port: 5432\n" })).status).toBe(200);
    // A schema change is checked against the draft already there.
    const stricter = await api.client.put(path, { schema: { type: "object", required: ["name"] } });
    expect(stricter.status).toBe(400);
    expect(stricter.body.fields[0]).toMatchObject({ path: "draft", pointer: "/name" });
    // Properties: the schema sees strings.
    const props = await api.client.post("/v1/config/namespaces", {
      appkey,
      env: "prod",
      name: "p",
      format: "properties",
      schema: { type: "object", properties: { port: { type: "string", pattern: "^[0-9]+$" } } },
      content: "port=x\n",
    });
    expect(props.body.fields[0]).toMatchObject({ pointer: "/port" });
  });

  it("keeps a service with namespaces from being deleted", async () => {
    const { appkey, path } = await namespace("text", { content: "x" });
    const refused = await api.client.del(`/v1/services/${appkey}`);
    expect(refused.status).toBe(409);
    expect((await api.client.get(path)).status).toBe(200);
    expect((await api.client.del(path)).status).toBe(204);
    expect((await api.client.del(`/v1/services/${appkey}`)).status).toBe(204);
  });

  it("refuses content over 1 MiB", async () => {
    const { path } = await namespace("text");
    const big = await api.client.put(`${path}/draft`, { content: "x".repeat(1024 * 1024 + 1) });
    expect(big.status).toBe(400);
    expect(big.body.fields[0].path).toBe("content");
  });

  it("publishes immutable releases with increasing ids and hashes; rolls back", async () => {
    const { appkey, path } = await namespace("json");
    const empty = await api.client.post(`${path}/releases`, {});
    expect(empty.status).toBe(400);
    expect(empty.body.fields[0].path).toBe("draft");
    await api.client.put(`${path}/draft`, { content: '{"v": 1}' });
    const r1 = await api.client.post(`${path}/releases`, { comment: "first" });
    expect(r1.status).toBe(201);
    expect(r1.body).toMatchObject({
      kind: "main",
      hash: sha256('{"v": 1}'),
      author: "admin",
      comment: "first",
      content: '{"v": 1}',
      gray: null,
    });
    const again = await api.client.post(`${path}/releases`, {});
    expect(again.status).toBe(409);
    expect(again.body.error).toBe("nothing_to_release");
    await api.client.put(`${path}/draft`, { content: '{"v": 2}' });
    const r2 = await api.client.post(`${path}/releases`, { author: "alice" });
    expect(r2.body.id).toBeGreaterThan(r1.body.id);
    expect(r2.body.author).toBe("alice");
    // Immutable: release 1 is as it was; the draft change did not touch it.
    expect((await api.client.get(`${path}/releases/${r1.body.id}`)).body).toEqual(r1.body);
    const list = await api.client.get(`${path}/releases?limit=10`);
    expect(list.body.items.map((r: { id: number }) => r.id)).toEqual([r2.body.id, r1.body.id]);
    expect(list.body.items[0].content).toBeUndefined();
    expect((await api.client.get(`${path}/releases?before=${r2.body.id}`)).body.items.map((r: { id: number }) => r.id)).toEqual([
      r1.body.id,
    ]);

    const back = await api.client.post(`${path}/rollback`, { release: r1.body.id });
    expect(back.status).toBe(201);
    expect(back.body).toMatchObject({ kind: "rollback", content: '{"v": 1}', hash: r1.body.hash });
    expect(back.body.id).toBeGreaterThan(r2.body.id);
    expect((await api.client.get(path)).body.currentRelease).toBe(back.body.id);
    const fetched = await fetchAs(appkey, "");
    expect(fetched.body.items).toEqual([
      { namespace: "application", format: "json", release: back.body.id, hash: r1.body.hash, gray: null, content: '{"v": 1}' },
    ]);
    expect((await api.client.post(`${path}/rollback`, { release: 999_999 })).status).toBe(404);
    // Every release is in the revisions, with its content (kept after a delete).
    const before = await counts();
    expect((await api.client.del(path)).status).toBe(204);
    expect((await api.client.get(path)).status).toBe(404);
    expect((await counts()).releases).toBe(before.releases - 3);
    const history = await api.db
      .select()
      .from(revisions)
      .where(sql`${revisions.resource} = 'config_release' and ${revisions.resourceId} = ${`${appkey}/prod/application`}`);
    expect(history.map((h) => (h.body as { after: { content: string } }).after.content)).toEqual(['{"v": 1}', '{"v": 2}', '{"v": 1}']);
  });

  it("answers fetch with an ETag and 304 on If-None-Match; leaves out namespaces without release", async () => {
    const { appkey, path } = await namespace("text", { content: "hello" });
    await api.client.post("/v1/config/namespaces", { appkey, env: "prod", name: "unreleased", format: "text", content: "x" });
    expect((await fetchAs(appkey, "")).body.items).toEqual([]);
    await api.client.post(`${path}/releases`, {});
    const first = await fetchAs(appkey, "&namespaces=application,unreleased");
    expect(first.body.items.map((i: { namespace: string }) => i.namespace)).toEqual(["application"]);
    const etag = first.headers.get("etag") as string;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    const same = await fetchAs(appkey, "", { "if-none-match": etag });
    expect(same.status).toBe(304);
    await api.client.put(`${path}/draft`, { content: "bye" });
    await api.client.post(`${path}/releases`, {});
    const changed = await fetchAs(appkey, "", { "if-none-match": etag });
    expect(changed.status).toBe(200);
    expect(changed.body.items[0].content).toBe("bye");
  });

  it("scopes agent tokens to their appkeys and keeps them off the admin API", async () => {
    const { appkey, path } = await namespace("text", { content: "a" });
    await api.client.post(`${path}/releases`, {});
    const token = (await api.client.post("/v1/agent-tokens", { name: unique("agent"), appkeys: [appkey] })).body.token;
    expect((await fetchAs(appkey, "", {}, token)).status).toBe(200);
    expect((await fetchAs("other-service", "", {}, token)).status).toBe(403);
    expect((await api.client.call("GET", `${path}`, undefined, { token })).status).toBe(401);
    expect((await api.client.call("POST", `${path}/releases`, {}, { token })).status).toBe(401);
    const watched = await api.client.call("GET", `/v1/config/watch?appkey=${appkey}&env=prod&known=application:0&wait=1`, undefined, {
      token,
    });
    expect(watched.status).toBe(200);
    expect(
      (await api.client.call("GET", `/v1/config/watch?appkey=other-service&env=prod&known=a:0&wait=1`, undefined, { token })).status,
    ).toBe(403);
  });

  it("refuses bad delivery queries with 400 naming the parameter", async () => {
    const bad = await api.client.get("/v1/config/watch?appkey=abc&env=prod&known=oops&wait=1");
    expect(bad.status).toBe(400);
    expect(bad.body.fields[0]).toMatchObject({ path: "known", in: "query" });
    const wait = await api.client.get("/v1/config/watch?appkey=abc&env=prod&known=a:1&wait=91");
    expect(wait.body.fields[0].path).toBe("wait");
    expect((await api.client.get("/v1/config/fetch?appkey=abc&env=nope")).body.fields[0].path).toBe("env");
  });

  describe("gray release", () => {
    /** Five instances: what each is. */
    const fleet: Record<string, string> = {
      byId: "&instanceId=pod-7&address=10.0.0.9:80",
      byIp: "&instanceId=pod-1&address=10.0.0.1:8080",
      byLabels: "&instanceId=pod-2&zone=z1&lane=blue",
      halfLabels: "&instanceId=pod-3&zone=z1&lane=green",
      other: "&instanceId=pod-4&address=10.0.0.5:80&zone=z3&lane=blue",
    };
    const rules = { instanceIds: ["pod-7"], addresses: ["10.0.0.1"], labels: { zone: ["z1", "z2"], lane: ["blue"] } };

    async function releasesSeen(appkey: string) {
      const seen: Record<string, number> = {};
      for (const [name, identity] of Object.entries(fleet)) seen[name] = (await fetchAs(appkey, identity)).body.items[0]?.release;
      return seen;
    }

    it("reaches exactly the matching instances; merge makes it main", async () => {
      const { appkey, path } = await namespace("json", { content: '{"v": "main"}' });
      const main = (await api.client.post(`${path}/releases`, {})).body;
      const gray = await api.client.post(`${path}/gray`, { rules });
      expect(gray.status).toBe(201);
      expect(gray.body).toMatchObject({ status: "active", content: '{"v": "main"}', baseRelease: main.id, latestRelease: null });
      expect((await api.client.post(`${path}/gray`, { rules })).status).toBe(409);
      // Not published yet: everyone still gets main.
      expect(new Set(Object.values(await releasesSeen(appkey)))).toEqual(new Set([main.id]));
      expect((await api.client.put(`${path}/gray`, { content: "{" })).status).toBe(400);
      await api.client.put(`${path}/gray`, { content: '{"v": "gray"}' });
      const grayRelease = (await api.client.post(`${path}/gray/releases`, { comment: "try" })).body;
      expect(grayRelease).toMatchObject({ kind: "gray", gray: gray.body.id, content: '{"v": "gray"}' });
      expect(await releasesSeen(appkey)).toEqual({
        byId: grayRelease.id,
        byIp: grayRelease.id,
        byLabels: grayRelease.id,
        halfLabels: main.id,
        other: main.id,
      });
      const grayItem = (await fetchAs(appkey, fleet.byId)).body.items[0];
      expect(grayItem).toMatchObject({ gray: gray.body.id, content: '{"v": "gray"}' });
      // Narrower rules apply at once.
      await api.client.put(`${path}/gray`, { rules: { instanceIds: ["pod-7"] } });
      expect(await releasesSeen(appkey)).toEqual({
        byId: grayRelease.id,
        byIp: main.id,
        byLabels: main.id,
        halfLabels: main.id,
        other: main.id,
      });

      const merged = await api.client.post(`${path}/gray/merge`, {});
      expect(merged.status).toBe(201);
      expect(merged.body).toMatchObject({ kind: "merge", content: '{"v": "gray"}', gray: gray.body.id });
      const after = (await api.client.get(path)).body;
      expect(after).toMatchObject({ currentRelease: merged.body.id, gray: null, draft: '{"v": "gray"}' });
      expect(new Set(Object.values(await releasesSeen(appkey)))).toEqual(new Set([merged.body.id]));
      expect((await api.client.post(`${path}/gray/merge`, {})).status).toBe(404);
    });

    it("abandon gives its instances main again; merging an unpublished gray is refused", async () => {
      const { appkey, path } = await namespace("text", { content: "main" });
      const main = (await api.client.post(`${path}/releases`, {})).body;
      await api.client.post(`${path}/gray`, { rules: { instanceIds: ["pod-7"] }, content: "gray" });
      const unpublished = await api.client.post(`${path}/gray/merge`, {});
      expect(unpublished.status).toBe(409);
      expect(unpublished.body.error).toBe("gray_not_released");
      await api.client.post(`${path}/gray/releases`, {});
      expect((await fetchAs(appkey, fleet.byId)).body.items[0].content).toBe("gray");
      const abandoned = await api.client.post(`${path}/gray/abandon`, {});
      expect(abandoned.status).toBe(200);
      expect(abandoned.body.status).toBe("abandoned");
      expect((await fetchAs(appkey, fleet.byId)).body.items[0]).toMatchObject({ release: main.id, content: "main", gray: null });
      expect((await api.client.get(path)).body.gray).toBeNull();
    });

    it("#1677: a full release while a gray is active is refused, or rebases it explicitly (properties overlay)", async () => {
      const { appkey, path } = await namespace("properties", { content: "a=1\nb=2\nc=3\n" });
      await api.client.post(`${path}/releases`, {});
      const gray = (await api.client.post(`${path}/gray`, { rules: { instanceIds: ["pod-7"] }, content: "a=1\nb=20\nd=4\n" })).body;
      const grayRelease = (await api.client.post(`${path}/gray/releases`, {})).body;
      await api.client.put(`${path}/draft`, { content: "a=10\nb=2\nc=3\n" });
      const before = await counts();
      const refused = await api.client.post(`${path}/releases`, {});
      expect(refused.status).toBe(409);
      expect(refused.body.error).toBe("gray_active");
      expect(await counts()).toEqual(before);

      const rebased = await api.client.post(`${path}/releases`, { gray: "rebase" });
      expect(rebased.status).toBe(201);
      const ns = (await api.client.get(path)).body;
      expect(ns.gray).toMatchObject({ id: gray.id, status: "active", baseRelease: rebased.body.id, content: "a=10\nb=20\nd=4\n" });
      expect(ns.gray.latestRelease).toBeGreaterThan(rebased.body.id);
      // The gray instance keeps its own changes over the new main; the others get the new main.
      expect((await fetchAs(appkey, fleet.byId)).body.items[0]).toMatchObject({
        release: ns.gray.latestRelease,
        content: "a=10\nb=20\nd=4\n",
      });
      expect((await fetchAs(appkey, fleet.other)).body.items[0]).toMatchObject({ release: rebased.body.id, content: "a=10\nb=2\nc=3\n" });
      // Recorded: the release's revision names the rebase.
      const [rev] = await api.db
        .select()
        .from(revisions)
        .where(sql`${revisions.resource} = 'config_release' and ${revisions.body}->'after'->>'id' = ${String(rebased.body.id)}`);
      expect((rev.body as { after: { rebase: unknown } }).after.rebase).toEqual({
        gray: gray.id,
        fromRelease: grayRelease.id - 1,
        toRelease: rebased.body.id,
      });
    });

    it("#1677 for other formats: the rebase keeps the gray's content", async () => {
      const { appkey, path } = await namespace("yaml", { content: "v: 1\n" });
      await api.client.post(`${path}/releases`, {});
      await api.client.post(`${path}/gray`, { rules: { labels: { lane: ["blue"] } }, content: "v: gray\n" });
      const grayRelease = (await api.client.post(`${path}/gray/releases`, {})).body;
      await api.client.put(`${path}/draft`, { content: "v: 2\n" });
      const rebased = (await api.client.post(`${path}/releases`, { gray: "rebase" })).body;
      expect((await api.client.get(path)).body.gray).toMatchObject({
        baseRelease: rebased.id,
        latestRelease: grayRelease.id,
        content: "v: gray\n",
      });
      expect((await fetchAs(appkey, "&lane=blue")).body.items[0].release).toBe(grayRelease.id);
      expect((await fetchAs(appkey, "&lane=red")).body.items[0].release).toBe(rebased.id);
    });

    it("refuses rules without a criterion", async () => {
      const { path } = await namespace("text", { content: "x" });
      const bad = await api.client.post(`${path}/gray`, { rules: {} });
      expect(bad.status).toBe(400);
      expect(bad.body.fields[0].path).toBe("rules");
    });
  });
});
