/**
 * Functions (issue 15): the model and its REST API — functions with Knative scaling settings,
 * immutable content-addressed versions, and traffic splits — on a real control over each backend.
 */
import { count, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { functionBundles } from "../../../control/db/schema.ts";
import { SCALING_DEFAULTS } from "../../../control/functions/autoscaler/settings.ts";
import { MAX_BUNDLE_BYTES } from "../../../control/functions/bundle.ts";
import { backends } from "../../support/backends.ts";
import type { Client } from "../../support/client.ts";
import { unique, useApi } from "../../support/fixture.ts";

const WORKER = 'export default { fetch() { return new Response("hi"); } };';
const b64 = (text: string | Uint8Array) => Buffer.from(text).toString("base64");
const EMPTY_WASM = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

/** An upload of one worker module whose source is `source`. */
function upload(source = WORKER, extra: Record<string, unknown> = {}) {
  return {
    modules: [{ name: "worker.js", type: "esm", content: b64(source) }],
    main: "worker.js",
    compatibilityDate: "2026-07-01",
    ...extra,
  };
}

/** A new service with one function; returns its base path. */
async function newFunction(client: Client, body: Record<string, unknown> = {}): Promise<string> {
  const appkey = unique("fnsvc");
  expect((await client.post("/v1/services", { appkey })).status).toBe(201);
  const created = await client.post(`/v1/services/${appkey}/functions`, { name: "hello", ...body });
  expect(created.status).toBe(201);
  return `/v1/services/${appkey}/functions/hello`;
}

/** The field paths a 400 names. */
function fieldsOf(reply: { status: number; body: { fields?: { path: string }[] } }): string[] {
  expect(reply.status).toBe(400);
  return (reply.body.fields ?? []).map((f) => f.path);
}

describe.each(backends())("functions API on $name", (backend) => {
  const api = useApi(backend);

  async function bundleCount(): Promise<number> {
    const [row] = await api.db.select({ n: count() }).from(functionBundles);
    return row.n;
  }

  async function revisionCount(): Promise<number> {
    const page = await api.client.get("/v1/revisions?limit=1");
    return page.body.items[0]?.id ?? 0;
  }

  it("creates a function with Knative's scaling defaults, lists, gets, patches and deletes it", async () => {
    const appkey = unique("fnsvc");
    await api.client.post("/v1/services", { appkey });
    const created = await api.client.post(`/v1/services/${appkey}/functions`, { name: "hello" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ appkey, name: "hello", allowOutbound: false, scaling: { ...SCALING_DEFAULTS } });
    expect(created.body.scaling).toMatchObject({
      targetConcurrency: 100,
      targetUtilization: 0.7,
      stableWindowMs: 60_000,
      scaleToZeroGraceMs: 30_000,
    });
    expect((await api.client.post(`/v1/services/${appkey}/functions`, { name: "hello" })).status).toBe(409);

    const list = await api.client.get(`/v1/services/${appkey}/functions`);
    expect(list.body.items.map((f: { name: string }) => f.name)).toEqual(["hello"]);
    const path = `/v1/services/${appkey}/functions/hello`;
    expect((await api.client.get(path)).body.name).toBe("hello");

    const patched = await api.client.patch(path, { scaling: { minInstances: 2, maxInstances: 10 }, allowOutbound: true });
    expect(patched.status).toBe(200);
    expect(patched.body.allowOutbound).toBe(true);
    expect(patched.body.scaling).toEqual({ ...SCALING_DEFAULTS, minInstances: 2, maxInstances: 10 });
    // allowOutbound alone leaves scaling as it was.
    const again = await api.client.patch(path, { allowOutbound: false });
    expect(again.body.scaling.minInstances).toBe(2);

    expect((await api.client.post(`${path}/versions`, upload())).status).toBe(201);
    // The service cannot go while it has a function.
    const serviceDelete = await api.client.del(`/v1/services/${appkey}`);
    expect(serviceDelete.status).toBe(409);
    expect(serviceDelete.body.referrers).toEqual([{ resource: "function", id: "hello", via: "appkey" }]);
    expect((await api.client.del(path)).status).toBe(204);
    expect((await api.client.get(`${path}/versions/1`)).status).toBe(404);
    expect((await api.client.get(path)).status).toBe(404);
    const [revision] = (await api.client.get("/v1/revisions?limit=1")).body.items;
    expect(revision).toMatchObject({ action: "delete", resource: "function", resourceId: `${appkey}/hello` });
    expect(revision.body.before.versions).toHaveLength(1);
  });

  it("refuses invalid scaling settings, naming the field, and changes nothing", async () => {
    const path = await newFunction(api.client);
    const appkey = path.split("/")[3];
    expect(fieldsOf(await api.client.post(`/v1/services/${appkey}/functions`, { name: "x", scaling: { targetUtilization: 1.5 } }))).toEqual(
      ["scaling.targetUtilization"],
    );
    expect(fieldsOf(await api.client.post(`/v1/services/${appkey}/functions`, { name: "x", scaling: { stableWindowMs: 1000 } }))).toEqual([
      "scaling.stableWindowMs",
    ]);
    expect(fieldsOf(await api.client.patch(path, { scaling: { minInstances: 5, maxInstances: 2 } }))).toEqual(["scaling.minInstances"]);
    expect(fieldsOf(await api.client.patch(path, { scaling: { targetConcurency: 10 } }))).toEqual(["scaling.targetConcurency"]);
    expect(fieldsOf(await api.client.post(`/v1/services/${appkey}/functions`, { name: "../x" }))).toEqual(["name"]);
    expect((await api.client.get(`/v1/services/${appkey}/functions/x`)).status).toBe(404);
    expect((await api.client.get(path)).body.scaling).toEqual({ ...SCALING_DEFAULTS });
  });

  it("uploads versions numbered 1, 2, 3…, returns metadata and the bundle, and dedupes identical bundles", async () => {
    const path = await newFunction(api.client);
    const bundlesBefore = await bundleCount();
    const first = await api.client.post(`${path}/versions`, {
      ...upload(),
      modules: [
        { name: "worker.js", type: "esm", content: b64('import { x } from "./lib/util.js";\nexport default { fetch() {} };') },
        { name: "lib/util.js", type: "esm", content: b64("export const x = 1;") },
        { name: "add.wasm", type: "wasm", content: b64(EMPTY_WASM) },
      ],
      env: { API_BASE: "https://example.com" },
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ version: 1, main: "worker.js", env: { API_BASE: "https://example.com" }, status: "ready" });
    expect(first.body.sha256).toMatch(/^[0-9a-f]{64}$/);

    const second = await api.client.post(`${path}/versions`, upload());
    const third = await api.client.post(`${path}/versions`, { ...upload(), env: { MODE: "b" } });
    expect([second.body.version, third.body.version]).toEqual([2, 3]);
    // Same modules, other env: the bundle is shared.
    expect(third.body.sha256).toBe(second.body.sha256);
    expect(second.body.sha256).not.toBe(first.body.sha256);
    const bundlesAfter = await bundleCount();
    // Three versions, two bundles stored.
    const stored = await api.db
      .select({ sha256: functionBundles.sha256 })
      .from(functionBundles)
      .where(inArray(functionBundles.sha256, [first.body.sha256, second.body.sha256]));
    expect(stored).toHaveLength(2);
    expect(bundlesAfter - bundlesBefore).toBe(2);

    const meta = await api.client.get(`${path}/versions/1`);
    expect(meta.body).toEqual(first.body);
    expect(meta.body.modules).toBeUndefined();
    const bundle = await api.client.get(`${path}/versions/1/bundle`);
    expect(bundle.status).toBe(200);
    expect(bundle.body.modules.map((m: { name: string }) => m.name)).toEqual(["add.wasm", "lib/util.js", "worker.js"]);
    expect(Buffer.from(bundle.body.modules[1].content, "base64").toString()).toBe("export const x = 1;");
    expect((await api.client.get(`${path}/versions`)).body.items.map((v: { version: number }) => v.version)).toEqual([1, 2, 3]);
    expect((await api.client.get(`${path}/versions/9`)).status).toBe(404);

    // Deleting a version keeps the shared bundle; numbers are never reused.
    expect((await api.client.del(`${path}/versions/3`)).status).toBe(204);
    expect((await api.client.get(`${path}/versions/2/bundle`)).status).toBe(200);
    expect((await api.client.post(`${path}/versions`, upload())).body.version).toBe(4);
  });

  it("has no way to modify a version", async () => {
    const path = await newFunction(api.client);
    const created = await api.client.post(`${path}/versions`, upload());
    for (const method of ["PUT", "PATCH"]) {
      const reply = await api.client.call(method, `${path}/versions/1`, upload("export default { fetch() { return 1; } };"));
      expect([404, 405]).toContain(reply.status);
    }
    expect((await api.client.get(`${path}/versions/1`)).body).toEqual(created.body);
  });

  it("refuses invalid bundles with a 400 naming the field", async () => {
    const path = await newFunction(api.client);
    const before = await revisionCount();
    const cases: [unknown, string][] = [
      [upload("const x = 1;"), "modules[0].content"],
      [{ ...upload(), modules: [{ name: "worker.js", type: "esm", content: b64(new Uint8Array([0xff, 0xfe])) }] }, "modules[0].content"],
      [{ ...upload(), modules: [{ name: "worker.js", type: "esm", content: "not base64!" }] }, "modules[0].content"],
      [{ ...upload(), main: "other.js" }, "main"],
      [{ ...upload(), modules: [...upload().modules, { name: "../up.js", type: "esm", content: b64("x") }] }, "modules[1].name"],
      [{ ...upload(), modules: [...upload().modules, { name: "/abs.js", type: "esm", content: b64("x") }] }, "modules[1].name"],
      [{ ...upload(), modules: [...upload().modules, { name: "worker.js", type: "esm", content: b64("x") }] }, "modules[1].name"],
      [{ ...upload(), modules: [...upload().modules, { name: "a.wasm", type: "wasm", content: b64("nope") }] }, "modules[1].content"],
      [{ ...upload(), modules: [{ name: "w.wasm", type: "wasm", content: b64(EMPTY_WASM) }], main: "w.wasm" }, "main"],
      [{ ...upload(), modules: [] }, "modules"],
      [upload(WORKER, { compatibilityDate: "2026-7-1" }), "compatibilityDate"],
      [upload(WORKER, { compatibilityDate: "2026-02-30" }), "compatibilityDate"],
      [upload(WORKER, { env: { "lower-case": "x" } }), "env.lower-case"],
      [upload(WORKER, { env: { BIG: "x".repeat(5 * 1024 + 1) } }), "env.BIG"],
      [upload(WORKER, { env: { N: 1 } }), "env.N"],
    ];
    for (const [body, field] of cases) {
      const reply = await api.client.post(`${path}/versions`, body);
      expect(fieldsOf(reply), JSON.stringify(body).slice(0, 200)).toContain(field);
    }
    expect(await revisionCount()).toBe(before);
    expect((await api.client.get(`${path}/versions`)).body.items).toEqual([]);
  });

  it("refuses a bundle over the size cap naming modules", async () => {
    const path = await newFunction(api.client);
    const padding = "x".repeat(MAX_BUNDLE_BYTES - WORKER.length + 1);
    const reply = await api.client.post(`${path}/versions`, {
      ...upload(),
      modules: [...upload().modules, { name: "big.js", type: "esm", content: b64(padding) }],
    });
    expect(fieldsOf(reply)).toEqual(["modules"]);
    // Exactly at the cap is accepted.
    const atCap = await api.client.post(`${path}/versions`, {
      ...upload(),
      modules: [...upload().modules, { name: "big.js", type: "esm", content: b64(padding.slice(1)) }],
    });
    expect(atCap.status).toBe(201);
    // A body over the upload's HTTP cap is a 413 before it is parsed.
    const huge = await api.client.call("POST", `${path}/versions`, undefined, { raw: "x".repeat(16 * 1024 * 1024) });
    expect(huge.status).toBe(413);
  }, 60_000);

  it("sets traffic, switches blue-green in one write, and refuses invalid splits changing nothing", async () => {
    const path = await newFunction(api.client);
    await api.client.post(`${path}/versions`, upload());
    await api.client.post(`${path}/versions`, upload('export default { fetch() { return new Response("v2"); } };'));
    expect((await api.client.get(`${path}/traffic`)).body).toMatchObject({ targets: [], stickiness: null });

    const canary = {
      targets: [
        { version: 1, percent: 90, tag: "stable" },
        { version: 2, percent: 10, tag: "canary" },
      ],
      stickiness: { from: "header", name: "x-user" },
    };
    const set = await api.client.put(`${path}/traffic`, canary);
    expect(set.status).toBe(200);
    expect((await api.client.get(`${path}/traffic`)).body).toMatchObject(canary);

    const before = await revisionCount();
    const invalid: [unknown, string][] = [
      [{ targets: [{ version: 1, percent: 50 }] }, "targets"],
      [
        {
          targets: [
            { version: 1, percent: 60 },
            { version: 2, percent: 60 },
          ],
        },
        "targets",
      ],
      [
        {
          targets: [
            { version: 1, percent: 50 },
            { version: 7, percent: 50 },
          ],
        },
        "targets[1].version",
      ],
      [
        {
          targets: [
            { version: 1, percent: 99.5 },
            { version: 2, percent: 0.5 },
          ],
        },
        "targets[0].percent",
      ],
      [
        {
          targets: [
            { version: 1, percent: 50, tag: "a" },
            { version: 2, percent: 50, tag: "a" },
          ],
        },
        "targets[1].tag",
      ],
      [{ targets: [{ version: 1, percent: 100, tag: "Not_URL safe" }] }, "targets[0].tag"],
      [{ targets: [{ version: "newest", percent: 100 }] }, "targets[0].version"],
      [{ targets: [] }, "targets"],
      [{ targets: [{ version: 1, percent: 100 }], stickiness: { from: "body", name: "x" } }, "stickiness.from"],
    ];
    for (const [body, field] of invalid) {
      expect(fieldsOf(await api.client.put(`${path}/traffic`, body)), JSON.stringify(body)).toContain(field);
    }
    expect(await revisionCount()).toBe(before);
    expect((await api.client.get(`${path}/traffic`)).body).toMatchObject(canary);

    // Blue-green: one write moves 100 % to version 2 (stickiness dropped: null by default).
    const green = await api.client.put(`${path}/traffic`, { targets: [{ version: 2, percent: 100 }] });
    expect(green.status).toBe(200);
    expect(await revisionCount()).toBe(before + 1);
    const [revision] = (await api.client.get("/v1/revisions?limit=1")).body.items;
    expect(revision).toMatchObject({ action: "update", resource: "function_traffic" });
    expect(revision.body.before.targets).toEqual(canary.targets);
    expect(revision.body.after).toMatchObject({ targets: [{ version: 2, percent: 100 }], stickiness: null });
    expect((await api.client.get(`${path}/traffic`)).body).toMatchObject({ targets: [{ version: 2, percent: 100 }], stickiness: null });
  });

  it("refuses to delete a version carrying traffic (directly, through latest, or tagged at 0 %), changing nothing", async () => {
    const path = await newFunction(api.client);
    expect(fieldsOf(await api.client.put(`${path}/traffic`, { targets: [{ version: "latest", percent: 100 }] }))).toEqual([
      "targets[0].version",
    ]);
    for (let i = 0; i < 3; i++) await api.client.post(`${path}/versions`, upload());
    await api.client.put(`${path}/traffic`, {
      targets: [
        { version: 1, percent: 100 },
        { version: 2, percent: 0, tag: "preview" },
        { version: "latest", percent: 0, tag: "next" },
      ],
    });
    const before = await revisionCount();
    for (const [n, entry] of [
      [1, "targets[0]"],
      [2, "targets[1]"],
      [3, "targets[2]"],
    ] as const) {
      const reply = await api.client.del(`${path}/versions/${n}`);
      expect(reply.status).toBe(409);
      expect(reply.body.message).toContain(entry);
      expect((await api.client.get(`${path}/versions/${n}`)).status).toBe(200);
    }
    expect(await revisionCount()).toBe(before);

    await api.client.put(`${path}/traffic`, { targets: [{ version: 3, percent: 100 }] });
    expect((await api.client.del(`${path}/versions/1`)).status).toBe(204);
    expect((await api.client.get(`${path}/versions/1`)).status).toBe(404);
  });

  it("serialises concurrent traffic writes: each applies whole, in revision order", async () => {
    const path = await newFunction(api.client);
    for (let i = 0; i < 3; i++) await api.client.post(`${path}/versions`, upload());
    const splits = [
      { targets: [{ version: 1, percent: 100, tag: "one" }], stickiness: null },
      {
        targets: [
          { version: 2, percent: 30, tag: "two" },
          { version: 3, percent: 70, tag: "three" },
        ],
        stickiness: { from: "cookie", name: "uid" },
      },
    ];
    const before = await revisionCount();
    const replies = await Promise.all([...splits, ...splits].map((split) => api.client.put(`${path}/traffic`, split)));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const page = (await api.client.get(`/v1/revisions?limit=4`)).body.items.reverse();
    expect(page[0].id).toBeGreaterThan(before);
    // Each write saw exactly the previous one's result: no interleaving.
    for (let i = 1; i < page.length; i++) expect(page[i].body.before.targets).toEqual(page[i - 1].body.after.targets);
    const final = (await api.client.get(`${path}/traffic`)).body;
    expect({ targets: final.targets, stickiness: final.stickiness }).toEqual({
      targets: page[3].body.after.targets,
      stickiness: page[3].body.after.stickiness,
    });
    expect(splits.map((s) => s.targets)).toContainEqual(final.targets);
  });

  it("lists the function endpoints in the OpenAPI document", async () => {
    const doc = (await api.client.get("/v1/openapi.json")).body;
    for (const p of [
      "/v1/services/{appkey}/functions",
      "/v1/services/{appkey}/functions/{name}",
      "/v1/services/{appkey}/functions/{name}/versions",
      "/v1/services/{appkey}/functions/{name}/versions/{version}",
      "/v1/services/{appkey}/functions/{name}/versions/{version}/bundle",
      "/v1/services/{appkey}/functions/{name}/traffic",
    ]) {
      expect(doc.paths[p], p).toBeDefined();
    }
    expect(doc.paths["/v1/services/{appkey}/functions/{name}/versions/{version}"].put).toBeUndefined();
  });
});
