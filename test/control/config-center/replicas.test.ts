/**
 * Config watches across two control replicas on one real PostgreSQL (skipped without
 * DATABASE_URL): a release published through replica A wakes a watch held by replica B (the
 * release's `sluice_config` NOTIFY, sent in its transaction); a change B is never told of (written
 * straight to the database, as if B's LISTEN connection had missed it) still reaches B's watch by
 * its periodic re-check (CONFIG_WATCH_RECHECK_MS, here 400 ms); B fetches what A released; a
 * watch whose client went away is dropped at once (no waiter leaks).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { and, eq } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contentHash } from "../../../control/config-center/store.ts";
import { configNamespaces, configReleases, services } from "../../../control/db/schema.ts";
import { type RunningControl, startControl } from "../../../control/server.ts";
import { backends, type TestDatabase } from "../../support/backends.ts";
import { type Client, clientFor, httpTarget } from "../../support/client.ts";
import { eventually } from "../../support/stack.ts";

const postgres = backends().find((b) => b.name === "postgres");
const RECHECK_MS = 400;

describe.skipIf(!postgres)("config watch across control replicas on PostgreSQL", () => {
  let database: TestDatabase;
  let dataDir: string;
  let a: RunningControl;
  let b: RunningControl;
  let adminA: Client;
  let agentB: Client;
  const path = "/v1/config/namespaces/cfgrep/prod/app";

  const start = () =>
    startControl({
      dataDir,
      databaseUrl: database.url,
      port: 0,
      debounceMs: 10,
      configWatchRecheckMs: RECHECK_MS,
      env: {},
      logger: pino({ level: "warn" }),
    });

  beforeAll(async () => {
    database = await (postgres as NonNullable<typeof postgres>).open();
    dataDir = await mkdtemp(join(tmpdir(), "sluice-config-replicas-"));
    a = await start();
    b = await start();
    adminA = clientFor(httpTarget(a.url), a.tokens.adminToken);
    expect((await adminA.post("/v1/services", { appkey: "cfgrep" })).status).toBe(201);
    expect(
      (await adminA.post("/v1/config/namespaces", { appkey: "cfgrep", env: "prod", name: "app", format: "text", content: "v1" })).status,
    ).toBe(201);
    expect((await adminA.post(`${path}/releases`, {})).status).toBe(201);
    const token = (await adminA.post("/v1/agent-tokens", { name: "cfgrep", appkeys: ["cfgrep"] })).body.token;
    agentB = clientFor(httpTarget(b.url), token);
    // B learns of the new token through the write's notification.
    await eventually(async () => (await agentB.get("/v1/config/fetch?appkey=cfgrep&env=prod")).status === 200, 3000);
  }, 60_000);

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function currentRelease(): Promise<number> {
    return (await adminA.get(path)).body.currentRelease;
  }

  /** A watch held by B for `known`; resolves with its reply and when it came. */
  function watchOnB(known: number) {
    return agentB.get(`/v1/config/watch?appkey=cfgrep&env=prod&known=app:${known}&wait=30`).then((reply) => ({ ...reply, at: Date.now() }));
  }

  it("a release through A wakes a watch held by B", async () => {
    const known = await currentRelease();
    const held = watchOnB(known);
    await eventually(async () => b.configWatch.size === 1, 2000);
    await adminA.put(`${path}/draft`, { content: "v2" });
    const published = await adminA.post(`${path}/releases`, {});
    const publishedAt = Date.now();
    const reply = await held;
    expect(reply.status).toBe(200);
    expect(reply.body.changed).toEqual([{ namespace: "app", release: published.body.id }]);
    // Well under the re-check period: the notification woke it.
    expect(reply.at - publishedAt).toBeLessThan(RECHECK_MS / 2);
    const fetched = await agentB.get("/v1/config/fetch?appkey=cfgrep&env=prod");
    expect(fetched.body.items[0]).toMatchObject({ release: published.body.id, content: "v2" });
  });

  it("a change B was never told of still reaches its watch by the re-check", async () => {
    const known = await currentRelease();
    const held = watchOnB(known);
    await new Promise((r) => setTimeout(r, 100));
    // Straight to the database, no NOTIFY: as if B's LISTEN connection had missed it.
    const [service] = await database.db.select().from(services).where(eq(services.appkey, "cfgrep"));
    const [ns] = await database.db
      .select()
      .from(configNamespaces)
      .where(and(eq(configNamespaces.serviceId, service.id), eq(configNamespaces.name, "app")));
    const [row] = await database.db
      .insert(configReleases)
      .values({ namespaceId: ns.id, kind: "main", content: "v3", hash: contentHash("v3"), author: "test" })
      .returning();
    await database.db.update(configNamespaces).set({ currentReleaseId: row.id }).where(eq(configNamespaces.id, ns.id));
    const writtenAt = Date.now();
    const reply = await held;
    expect(reply.body.changed).toEqual([{ namespace: "app", release: row.id }]);
    expect(reply.at - writtenAt).toBeLessThan(RECHECK_MS + 500);
  });

  it("forgets a watch whose client went away", async () => {
    const known = await currentRelease();
    const cut = new AbortController();
    const held = fetch(`${b.url}/v1/config/watch?appkey=cfgrep&env=prod&known=app:${known}&wait=60`, {
      headers: { authorization: `Bearer ${b.tokens.adminToken}` },
      signal: cut.signal,
    }).catch((error: Error) => error.name);
    await eventually(async () => b.configWatch.size === 1, 2000);
    cut.abort();
    expect(await held).toBe("AbortError");
    await eventually(async () => b.configWatch.size === 0, 2000);
  });
});
