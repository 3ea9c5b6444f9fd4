/**
 * GET /v1/config/watch on one control (PGlite, and PostgreSQL when DATABASE_URL is set): a poll
 * whose `known` is stale returns at once; a held poll wakes within ~100 ms of a release, only
 * when its instance's effective release changed (a gray release wakes the matching instance, not
 * the others); a deleted namespace answers release 0; nothing within `wait` → 304 after about
 * `wait` seconds (± 10 %). The hub: one database query per wake of an `(appkey, env)`, however
 * many polls it holds, and the periodic re-check catches a change no one was told of.
 */

import { and, eq } from "drizzle-orm";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { loadDelivery } from "../../../control/config-center/store.ts";
import { ConfigWatchHub, type LoadDelivery } from "../../../control/config-center/watch-hub.ts";
import { configNamespaces, services } from "../../../control/db/schema.ts";
import { backends } from "../../support/backends.ts";
import { unique, useApi } from "../../support/fixture.ts";

describe.each(backends())("config watch on $name", (backend) => {
  const api = useApi(backend);

  async function released(format = "text", content = "v1") {
    const appkey = unique("watch");
    await api.client.post("/v1/services", { appkey });
    await api.client.post("/v1/config/namespaces", { appkey, env: "prod", name: "app", format, content });
    const path = `/v1/config/namespaces/${appkey}/prod/app`;
    const release = (await api.client.post(`${path}/releases`, {})).body.id as number;
    return { appkey, path, release };
  }

  /** Starts a watch; resolves with its status, body and when it answered. */
  function watch(appkey: string, query: string) {
    const started = Date.now();
    return api.client
      .get(`/v1/config/watch?appkey=${appkey}&env=prod&${query}`)
      .then((reply) => ({ ...reply, at: Date.now(), tookMs: Date.now() - started }));
  }

  it("returns at once when known is stale", async () => {
    const { appkey, release } = await released();
    const reply = await watch(appkey, `known=app:0,other:0&wait=30`);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ changed: [{ namespace: "app", release }] });
    expect(reply.tookMs).toBeLessThan(500);
  });

  it("is woken by the release's notification, within a second (the re-check is 10 s away)", async () => {
    const { appkey, path, release } = await released();
    const held = watch(appkey, `known=app:${release}&wait=30`);
    await new Promise((r) => setTimeout(r, 200));
    await api.client.put(`${path}/draft`, { content: "v2" });
    const published = await api.client.post(`${path}/releases`, {});
    const publishedAt = Date.now();
    const reply = await held;
    expect(reply.status).toBe(200);
    expect(reply.body.changed).toEqual([{ namespace: "app", release: published.body.id }]);
    // ~10 ms on a quiet machine; the bound leaves room for a loaded CI host, far below the re-check.
    expect(reply.at - publishedAt).toBeLessThan(1000);
  });

  it("wakes only the instances a gray release reaches", async () => {
    const { appkey, path, release } = await released();
    await api.client.post(`${path}/gray`, { rules: { instanceIds: ["pod-7"] }, content: "gray" });
    const matching = watch(appkey, `known=app:${release}&wait=2&instanceId=pod-7`);
    const other = watch(appkey, `known=app:${release}&wait=2&instanceId=pod-8`);
    await new Promise((r) => setTimeout(r, 200));
    const grayRelease = (await api.client.post(`${path}/gray/releases`, {})).body.id;
    const [m, o] = await Promise.all([matching, other]);
    expect(m.status).toBe(200);
    expect(m.body.changed).toEqual([{ namespace: "app", release: grayRelease }]);
    expect(m.tookMs).toBeLessThan(1000);
    expect(o.status).toBe(304);
    expect(o.tookMs).toBeGreaterThan(1700);
  });

  it("answers release 0 when the namespace is deleted", async () => {
    const { appkey, path, release } = await released();
    const held = watch(appkey, `known=app:${release}&wait=30`);
    await new Promise((r) => setTimeout(r, 200));
    expect((await api.client.del(path)).status).toBe(204);
    const reply = await held;
    expect(reply.body.changed).toEqual([{ namespace: "app", release: 0 }]);
    expect(reply.tookMs).toBeLessThan(1000);
  });

  it("answers 304 after wait (± 10 %) when nothing changes", async () => {
    const { appkey, release } = await released();
    const reply = await watch(appkey, `known=app:${release}&wait=1`);
    expect(reply.status).toBe(304);
    expect(reply.tookMs).toBeGreaterThanOrEqual(880);
    expect(reply.tookMs).toBeLessThan(2500); // 1.1 s at most held, plus a loaded machine's delay
  });

  it("hub: one query per wake of an (appkey, env) for 1000 polls; the re-check catches an untold change", async () => {
    const { appkey, path, release } = await released();
    let queries = 0;
    const load: LoadDelivery = (a, e, names) => {
      queries += 1;
      return loadDelivery(api.db, a, e, names);
    };
    const hub = new ConfigWatchHub({ load, logger: pino({ level: "silent" }), recheckMs: 300 });
    try {
      const startedMs = Date.now();
      const polls = Array.from({ length: 1000 }, (_, i) =>
        hub.wait({ appkey, env: "prod", identity: { instanceId: `pod-${i}` }, known: new Map([["app", release]]), waitMs: 20_000 }),
      );
      await new Promise((r) => setTimeout(r, 100));
      expect(hub.size).toBe(1000);
      // A change no notification announces: only the re-check can find it.
      await api.client.put(`${path}/draft`, { content: "v2" });
      const published = (await api.client.post(`${path}/releases`, {})).body.id;
      const arrivalQueries = queries;
      const answers = await Promise.all(polls);
      expect(answers.every((a) => a?.[0]?.release === published)).toBe(true);
      // 1000 arrival checks, then one query per re-check round for all 1000 waiters (not one per
      // waiter): at most one round per 300 ms that passed, plus one, however slow the machine.
      const rounds = Math.ceil((Date.now() - startedMs) / 300) + 1;
      expect(arrivalQueries).toBeLessThanOrEqual(1000 + rounds);
      expect(queries - 1000).toBeLessThanOrEqual(rounds);

      // Woken by notify: one query for all of them.
      const again = Array.from({ length: 1000 }, () =>
        hub.wait({ appkey, env: "prod", identity: {}, known: new Map([["app", published]]), waitMs: 20_000 }),
      );
      await new Promise((r) => setTimeout(r, 50));
      const before = queries;
      const [service] = await api.db.select().from(services).where(eq(services.appkey, appkey));
      await api.db
        .update(configNamespaces)
        .set({ currentReleaseId: release })
        .where(and(eq(configNamespaces.serviceId, service.id), eq(configNamespaces.name, "app")));
      hub.notify(appkey, "prod", "app");
      const woken = await Promise.all(again);
      expect(woken.every((a) => a?.[0]?.release === release)).toBe(true);
      expect(queries - before).toBeLessThanOrEqual(2);
    } finally {
      hub.close();
    }
  });
});
