/**
 * The config client (agents/config-client/) against a fake of control's delivery API
 * (test/support/fake-config-server.ts, real HTTP on 127.0.0.1, long polls held for real) and a
 * real cache directory: releases arrive in order and each once, a release made while the watch
 * is being re-established or whose notification was lost is still seen, errors back off, a cut
 * watch is retried at once, the cache serves while control is down and a corrupted cache file is
 * ignored, and cache writes are atomic. The pure parts (backoff, formats, wire) are tables.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { writeFileAtomic } from "../../agents/config-client/atomic-write.ts";
import { backoffDelayMs } from "../../agents/config-client/backoff.ts";
import { cacheFilePath } from "../../agents/config-client/cache.ts";
import { type ConfigChange, type ConfigClient, type ConfigClientOptions, createConfigClient } from "../../agents/config-client/client.ts";
import { extensionOf, parseContent } from "../../agents/config-client/formats.ts";
import { parseFetchAnswer, parseWatchAnswer, WireError, watchUrl } from "../../agents/config-client/wire.ts";
import { type FakeConfigServer, startFakeConfigServer } from "../support/fake-config-server.ts";

const TOKEN = "sluice_agent_test";
let server: FakeConfigServer;
let dir: string;
const clients: ConfigClient[] = [];

beforeAll(async () => {
  server = await startFakeConfigServer(TOKEN);
  dir = mkdtempSync(join(tmpdir(), "sluice-config-client-"));
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  server.wakeOnRelease = true;
  server.failNext(0);
});

afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

let nsCounter = 0;
/** A namespace name no other test uses (the fake's store is shared). */
const freshNamespace = () => `ns${++nsCounter}`;

function client(options: Partial<ConfigClientOptions> & { namespaces: string[] }): ConfigClient {
  const c = createConfigClient({
    controlUrl: server.url,
    token: TOKEN,
    appkey: "com.example.orders",
    env: "prod",
    watchWaitSeconds: 30,
    ...options,
  });
  clients.push(c);
  return c;
}

async function until(condition: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("pure parts", () => {
  it.each([
    { failures: 1, random: 0, ms: 500 },
    { failures: 1, random: 0.999999, ms: 1000 },
    { failures: 2, random: 0, ms: 1000 },
    { failures: 3, random: 0.5, ms: 3000 },
    { failures: 6, random: 0.999999, ms: 30_000 },
    { failures: 50, random: 0, ms: 15_000 },
  ])("backoff after $failures failures (random $random) = $ms ms", ({ failures, random, ms }) => {
    expect(backoffDelayMs(failures, random)).toBe(ms);
  });

  it.each([
    {
      format: "properties" as const,
      content: "db.host = 10.0.0.1\n# note\ndb.port:5432\n",
      value: { "db.host": "10.0.0.1", "db.port": "5432" },
    },
    { format: "json" as const, content: '{"a": [1, 2]}', value: { a: [1, 2] } },
    { format: "yaml" as const, content: "a:\n  - 1\n  - on\n", value: { a: [1, "on"] } },
    { format: "text" as const, content: "plain\n", value: "plain\n" },
  ])("parses $format", ({ format, content, value }) => {
    expect(parseContent(format, content)).toEqual(value);
  });

  it("names files by format", () => {
    expect(["properties", "json", "yaml", "text"].map((f) => extensionOf(f as never))).toEqual(["properties", "json", "yaml", "txt"]);
  });

  it("reads and writes the contract's fields", () => {
    const hash = "0".repeat(64);
    expect(parseFetchAnswer({ items: [{ namespace: "a", format: "json", release: 3, hash, gray: 7, content: "{}" }] })).toEqual([
      { namespace: "a", format: "json", release: 3, hash, gray: 7, content: "{}" },
    ]);
    expect(parseWatchAnswer({ changed: [{ namespace: "a", release: 4 }] })).toEqual([{ namespace: "a", release: 4 }]);
    expect(() => parseFetchAnswer({ items: [{ namespace: "a", format: "toml", release: 3, hash, content: "" }] })).toThrow(WireError);
    expect(() => parseWatchAnswer({ changes: [] })).toThrow(/changed/);
    const url = new URL(
      watchUrl(
        "http://c/",
        "app",
        "prod",
        new Map([
          ["a", 12],
          ["b", 0],
        ]),
        60,
        { zone: "z1", lane: "" },
      ),
    );
    expect(url.pathname).toBe("/v1/config/watch");
    expect(Object.fromEntries(url.searchParams)).toEqual({ appkey: "app", env: "prod", zone: "z1", known: "a:12,b:0", wait: "60" });
  });
});

describe("config client", () => {
  it("delivers releases in order, each once, with values parsed by format", async () => {
    const ns = freshNamespace();
    const json = freshNamespace();
    const zero = server.release(ns, "v=0").release;
    // Full checks every 30 ms run beside the watch's fetches: still never twice for one release.
    const c = client({ namespaces: [ns, json], fullCheckMs: 30 });
    const seen: ConfigChange[] = [];
    c.onChange(ns, (change) => seen.push(change));
    await c.start();
    expect(c.get(ns)).toEqual({ v: "0" });
    // No cache: the start's fetch is the first change (previous 0). A listener added now gets nothing retroactively.
    expect(seen.map((s) => [s.release, s.previousRelease])).toEqual([[zero, 0]]);
    const late: number[] = [];
    c.onChange(ns, (change) => late.push(change.release));
    seen.length = 0;

    // One at a time, each awaited: every release is seen, exactly once, in order.
    const stepwise: number[] = [];
    for (let i = 1; i <= 10; i++) {
      stepwise.push(server.release(ns, `v=${i}`).release);
      await until(() => c.release(ns)?.release === stepwise.at(-1), 3000, `release ${i}`);
    }
    expect(seen.map((s) => s.release)).toEqual(stepwise);
    expect(seen.map((s) => s.value)).toEqual(stepwise.map((_, i) => ({ v: String(i + 1) })));
    expect(seen[0]!.previousRelease).toBe(zero);
    expect(late).toEqual(stepwise);

    // A burst: some may be superseded before a fetch, but ids only grow, none repeats, the last arrives.
    seen.length = 0;
    const burst: number[] = [];
    for (let i = 0; i < 40; i++) {
      burst.push(server.release(ns, `v=burst${i}`).release);
      await sleep(Math.random() * 8);
    }
    await until(() => c.release(ns)?.release === burst.at(-1), 3000, "the burst's last release");
    await sleep(200);
    const ids = seen.map((s) => s.release);
    expect(ids.at(-1)).toBe(burst.at(-1));
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]!);
    expect(server.requests.filter((r) => r.path === "/v1/config/fetch").length).toBeGreaterThan(burst.length / 2);
    for (const s of seen) expect(s.value).toEqual({ v: `burst${burst.indexOf(s.release)}` });

    server.release(json, '{"pool": {"max": 8}}', "json");
    await until(() => c.get(json) !== undefined);
    expect(c.get<{ pool: { max: number } }>(json)?.pool.max).toBe(8);
    expect(c.release(json)?.format).toBe("json");
  });

  it("sees a release made while the watch is being re-established (known ids), without the full check", async () => {
    const ns = freshNamespace();
    server.release(ns, "v=1");
    let sneaked: number | null = null;
    const c = client({
      namespaces: [ns],
      watchWaitSeconds: 1,
      fullCheckMs: 600_000,
      // After the first 304, publish before the client has polled again: no poll is open to wake.
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        if (String(input).includes("/watch") && res.status === 304 && sneaked === null) sneaked = server.release(ns, "v=2").release;
        return res;
      },
    });
    const seen: number[] = [];
    c.onChange(ns, (change) => seen.push(change.release));
    await c.start();
    seen.length = 0; // the start's fetch
    await until(() => sneaked !== null, 3000, "the first 304");
    const after = Date.now();
    await until(() => c.release(ns)?.release === sneaked, 2000, "the sneaked release");
    expect(Date.now() - after).toBeLessThan(500); // the next poll answered at once, no second hold
    expect(seen).toEqual([sneaked]);
  });

  it("converges by the full check when a notification is lost", async () => {
    const ns = freshNamespace();
    server.release(ns, "v=1");
    const c = client({ namespaces: [ns], watchWaitSeconds: 60, fullCheckMs: 400 });
    await c.start();
    await until(() => server.held() > 0);
    server.wakeOnRelease = false;
    const r = server.release(ns, "v=2");
    await until(() => c.release(ns)?.release === r.release, 2000, "the full check");
    expect(c.get(ns)).toEqual({ v: "2" });
  });

  it("refuses a release whose content does not match its hash, keeps the previous one, and does not spin", async () => {
    const ns = freshNamespace();
    server.release(ns, '{"a": 1}', "json");
    let corrupt = 0;
    const warnings: string[] = [];
    const c = client({
      namespaces: [ns],
      logger: { info() {}, warn: (_fields, message) => warnings.push(message) },
      // Truncates the content of the release numbered `corrupt` on its way (as a broken proxy would).
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        if (!String(input).includes("/fetch") || res.status !== 200) return res;
        const body = (await res.json()) as { items: { release: number; content: string }[] };
        for (const item of body.items) if (item.release === corrupt) item.content = item.content.slice(0, 3);
        return new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } });
      },
    });
    await c.start();
    expect(c.get(ns)).toEqual({ a: 1 });
    await until(() => server.held() > 0);
    const from = server.requests.length;
    corrupt = server.release(ns, '{"a": 2}', "json").release;
    await until(() => warnings.includes("config release refused"), 2000, "the refusal");
    await sleep(500);
    expect(c.get(ns)).toEqual({ a: 1 });
    expect(server.requests.slice(from).length).toBeLessThan(5); // one wake-up, one fetch, one new poll: no hot loop
    const good = server.release(ns, '{"a": 3}', "json");
    await until(() => c.release(ns)?.release === good.release, 2000);
    expect(c.get(ns)).toEqual({ a: 3 });
  });

  it("names the instance in every request, so gray rules can match it", async () => {
    const ns = freshNamespace();
    server.release(ns, "v=1");
    const from = server.requests.length;
    const identity = { instanceId: "orders-7", address: "10.0.0.7:9101", zone: "z1", cell: "c2", lane: "blue", version: "1.4.2" };
    const c = client({ namespaces: [ns], identity });
    await c.start();
    await until(() => server.held() > 0);
    const sent = server.requests.slice(from);
    expect(sent.map((r) => r.path)).toEqual(["/v1/config/fetch", "/v1/config/watch"]);
    for (const r of sent) expect(Object.fromEntries(r.query)).toMatchObject({ appkey: "com.example.orders", env: "prod", ...identity });
    expect(sent[0]!.query.get("namespaces")).toBe(ns);
    expect(sent[1]!.query.get("known")).toBe(`${ns}:${c.release(ns)?.release}`);
    expect(sent[1]!.query.get("wait")).toBe("30");
  });

  it("backs off on 500s (doubling, jittered), then converges", async () => {
    const ns = freshNamespace();
    server.release(ns, "v=1");
    const from = server.requests.length;
    server.failNext(5, 500); // the start's fetch, then four watches
    const c = client({ namespaces: [ns], backoff: { initialMs: 200, maxMs: 800 } });
    await c.start();
    expect(c.release(ns)).toBeUndefined();
    await until(() => c.release(ns)?.release !== undefined, 5000, "convergence after the failures");
    const watches = server.requests.slice(from).filter((r) => r.path === "/v1/config/watch");
    expect(watches.slice(0, 4).map((w) => w.status)).toEqual([500, 500, 500, 500]);
    const gaps = watches.slice(1, 5).map((w, i) => w.at - watches[i]!.at);
    // Ceilings 200, 400, 800, 800 ms; each delay is in [ceiling / 2, ceiling].
    [200, 400, 800, 800].forEach((ceiling, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(ceiling / 2 - 5);
      expect(gaps[i]).toBeLessThan(ceiling + 600);
    });
  });

  it("polls again at once when a held watch is cut, and still gets the next release", async () => {
    const ns = freshNamespace();
    server.release(ns, "v=1");
    const c = client({ namespaces: [ns], backoff: { initialMs: 5000, maxMs: 5000 } });
    await c.start();
    await until(() => server.held() > 0);
    await sleep(1100); // held long enough to be a cut, not a refusal
    const from = server.requests.length;
    const cutAt = Date.now();
    expect(server.cutHeldWatches()).toBe(1);
    await until(() => server.requests.slice(from).some((r) => r.path === "/v1/config/watch"), 2000, "the next poll");
    expect(Date.now() - cutAt).toBeLessThan(1000); // not the 2.5–5 s backoff
    await until(() => server.held() > 0);
    const r = server.release(ns, "v=2");
    await until(() => c.release(ns)?.release === r.release, 2000);
  });

  it("starts from the cache while control is down, ignores a corrupted file, and converges when control returns", async () => {
    const ns = freshNamespace();
    const other = freshNamespace();
    const cacheDir = join(dir, "cache");
    server.release(ns, "db.port=5432");
    server.release(other, "x: 1\n", "yaml");
    const first = client({ namespaces: [ns, other], cacheDir });
    await first.start();
    expect(first.get(ns)).toEqual({ "db.port": "5432" });
    await first.close();

    // Corrupt one namespace's file: same hash, other content.
    const otherFile = cacheFilePath(cacheDir, "com.example.orders", "prod", other);
    const entry = JSON.parse(readFileSync(otherFile, "utf8"));
    writeFileSync(otherFile, JSON.stringify({ ...entry, content: "x: 2\n" }));

    await server.stop();
    const warnings: object[] = [];
    const restarted = client({
      namespaces: [ns, other],
      cacheDir,
      backoff: { initialMs: 100, maxMs: 200 },
      logger: { info() {}, warn: (fields) => warnings.push(fields) },
    });
    const startedAt = Date.now();
    await restarted.start();
    expect(Date.now() - startedAt).toBeLessThan(2000);
    expect(restarted.get(ns)).toEqual({ "db.port": "5432" });
    expect(restarted.release(ns)?.release).toBe(first.release(ns)?.release);
    expect(restarted.get(other)).toBeUndefined();
    expect(warnings).toContainEqual({ namespace: other, reason: "content does not match its hash" });
    await sleep(500);
    expect(restarted.get(ns)).toEqual({ "db.port": "5432" }); // still served while control is down

    await server.start();
    const r = server.release(ns, "db.port=6432");
    await until(() => restarted.release(ns)?.release === r.release, 3000, "convergence after control returns");
    expect(restarted.get(other)).toEqual({ x: 1 }); // refetched, not the corrupted file
    expect(JSON.parse(readFileSync(cacheFilePath(cacheDir, "com.example.orders", "prod", ns), "utf8")).content).toBe("db.port=6432");
  });

  it("writes atomically: a reader never sees a partial file", async () => {
    const path = join(dir, "atomic.txt");
    const versions = ["a".repeat(1 << 20), "b".repeat(1 << 19)];
    await writeFileAtomic(path, versions[0]!);
    let reading = true;
    let reads = 0;
    const torn: number[] = [];
    const reader = (async () => {
      while (reading) {
        const text = readFileSync(path, "utf8");
        if (!versions.includes(text)) torn.push(text.length);
        reads++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let i = 0; i < 40; i++) await writeFileAtomic(path, versions[i % 2]!);
    reading = false;
    await reader;
    expect(reads).toBeGreaterThan(10);
    expect(torn).toEqual([]);
  });
});
