/**
 * The activator in a real `workerd serve` gateway process (Workers semantics: the buffered
 * request waits in its own promise; the snapshot that releases it comes through the long poll in
 * waitUntil). A stand-in control on 127.0.0.1 serves snapshots built from a ConfigModel with a
 * FUNCTIONS section (id 14) appended by hand (control's writer for it is another branch's) and
 * records pokes and metrics pushes:
 * (a) a request to a function whose version has no instance waits, pokes control with
 *     {appkey, function, version}, shows in the status document, and goes out to the instance a
 *     newer snapshot brings; the push carries the version's load;
 * (b) a version that stays inactive answers 503 activation_timeout with Retry-After: 1;
 * (c) a snapshot whose FUNCTIONS section is malformed is refused: the last good keeps serving.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startUpstream, type UpstreamServer } from "../../../control/demo/upstream-server.ts";
import type { ConfigModel } from "../../../control/snapshot/model.ts";
import { sealSnapshot } from "../../../control/snapshot/seal.ts";
import { writeSnapshot } from "../../../control/snapshot/writer.ts";
import { FUNCTIONS_SECTION_ID, type FunctionsSection } from "../../../wasm/functions-section.ts";
import { startGateway } from "../../../worker/launcher/gateway.ts";
import type { ProcessCluster } from "../../../worker/launcher/supervisor.ts";
import type { MetricsPush } from "../../../worker/telemetry/wire.ts";
import { STATUS_TOKEN } from "../../support/client.ts";
import { instantiate, route } from "../../support/wasm-fixtures.ts";

const GATEWAY_TOKEN = "gateway-token-for-activator-tests-0123";

/** Route `/hello` → function hello's entry group; version 2's group with an instance on `port`, or none. */
function functionModel(port: number | null): ConfigModel {
  return {
    groups: [
      { id: 0x40000001, appkey: "svc", name: "fn:hello", balancer: "swrr", instances: [] },
      {
        id: 0x60000002,
        appkey: "svc",
        name: "fn:hello@2",
        balancer: "least-request",
        instances:
          port === null ? [] : [{ id: 0x40000009, host: "127.0.0.1", port, weight: 10, status: "alive", zone: "", lane: "", version: "" }],
      },
    ],
    policies: [],
    routes: [route(1, "*", "/hello", { defaultGroup: "fn:hello" })],
  };
}

// One directory entry more than control writes (its FUNCTIONS writer is another branch's): STRINGS
// then starts 12 bytes later, leaving the last entry free for the section this test appends.
vi.mock("../../../control/snapshot/layout.ts", async (importOriginal) => {
  const layout = await importOriginal<typeof import("../../../control/snapshot/layout.ts")>();
  return { ...layout, SECTION_COUNT: layout.SECTION_COUNT + 1 };
});

/** `file` (writeSnapshot's output with its last directory entry free) with section `id` holding `body` appended. */
function withSection(file: Uint8Array, id: number, body: Uint8Array): Uint8Array<ArrayBuffer> {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const count = view.getUint32(20, true);
  const total = view.getUint32(16, true);
  const out = new Uint8Array(total + body.length + 68);
  out.set(file.subarray(0, total));
  out.set(body, total);
  const o = new DataView(out.buffer);
  o.setUint32(16, total + body.length, true);
  const entry = 64 + 12 * (count - 1);
  o.setUint32(entry, id, true);
  o.setUint32(entry + 4, total, true);
  o.setUint32(entry + 8, body.length, true);
  return out;
}

/** The FUNCTIONS section for `written`'s groups, at the GROUPS indices the file has them. */
async function functionsSection(written: Uint8Array, activationTimeoutMs: number): Promise<FunctionsSection> {
  const { hot } = await instantiate();
  const loaded = hot.load(withSection(written, FUNCTIONS_SECTION_ID, new TextEncoder().encode('{"functions":[]}')));
  if (!loaded.ok) throw new Error(loaded.reason);
  const index = (name: string) => hot.snapshot.groups.findIndex((g) => g.name === name);
  return {
    functions: [
      {
        id: 1,
        appkey: "svc",
        name: "hello",
        entryGroup: index("fn:hello"),
        activationTimeoutMs,
        stickiness: null,
        targets: [{ version: 2, group: index("fn:hello@2"), percent: 100, tag: null, lane: null }],
      },
    ],
  };
}

/** A control stand-in: the current snapshot on GET /v1/snapshot (304 when the ETag matches), and every POST body kept. */
class MiniControl {
  body: Uint8Array = new Uint8Array(0);
  etag = '"none"';
  readonly posts: { path: string; body: unknown; gateway: string | undefined; authorization: string | undefined }[] = [];
  private server: http.Server | null = null;
  url = "";

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const path = new URL(req.url ?? "/", "http://control").pathname;
        if (req.method === "POST") {
          this.posts.push({
            path,
            body: JSON.parse(Buffer.concat(chunks).toString("utf8")),
            gateway: req.headers["sluice-gateway"] as string | undefined,
            authorization: req.headers.authorization,
          });
          res.writeHead(path === "/v1/gateway/activations" ? 202 : 200, { "content-type": "application/json" }).end("{}");
        } else if (this.body.length === 0) {
          res.writeHead(503).end();
        } else if (req.headers["if-none-match"] === this.etag) {
          res.writeHead(304, { etag: this.etag }).end();
        } else {
          res.writeHead(200, { "content-type": "application/octet-stream", etag: this.etag }).end(this.body);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  publish(body: Uint8Array, version: bigint): void {
    this.body = body;
    this.etag = `"v${version}"`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** Polls `probe` every 50 ms until it returns a value. @throws after `timeoutMs`. */
async function until<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("the gateway as the activator (workerd)", () => {
  const control = new MiniControl();
  let privateKey: CryptoKey;
  let publicKeyBase64: string;
  let gateway: ProcessCluster;
  let upstream: UpstreamServer;

  async function snapshot(version: bigint, port: number | null, activationTimeoutMs: number, section?: Uint8Array) {
    const written = writeSnapshot(functionModel(port), { version, builtAtMs: Date.now() });
    const body = section ?? new TextEncoder().encode(JSON.stringify(await functionsSection(written, activationTimeoutMs)));
    return (await sealSnapshot(withSection(written, FUNCTIONS_SECTION_ID, body), privateKey)).file;
  }
  // biome-ignore lint/suspicious/noExplicitAny: the status document's JSON.
  const status = async (): Promise<any> =>
    (await fetch(`${gateway.url}/__sluice/status`, { headers: { authorization: `Bearer ${STATUS_TOKEN}` } })).json();

  beforeAll(async () => {
    const pair = (await crypto.subtle.generateKey("Ed25519", true, ["sign", "verify"])) as CryptoKeyPair;
    privateKey = pair.privateKey;
    publicKeyBase64 = Buffer.from(new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey))).toString("base64");
    upstream = await startUpstream("fn-hello-2");
    await control.start();
    control.publish(await snapshot(1n, null, 10_000), 1n);
    gateway = await startGateway({
      runtime: "workerd",
      controlUrl: control.url,
      gatewayToken: GATEWAY_TOKEN,
      snapshotPublicKey: publicKeyBase64,
      port: 0,
      processes: 1,
      snapshotPollMs: 100,
      statusToken: STATUS_TOKEN,
      telemetry: { METRICS_PUSH_MS: "10000", FUNCTION_METRICS_PUSH_MS: "200" },
      stdio: "ignore",
    });
  }, 20_000);

  afterAll(async () => {
    await gateway?.close();
    await control.stop();
    await upstream?.close();
  });

  it("(a) buffers a request of an inactive version, pokes control, and releases it to the instance a new snapshot brings", async () => {
    const started = Date.now();
    const pending = fetch(`${gateway.url}/hello`);
    const poke = await until(() => control.posts.find((p) => p.path === "/v1/gateway/activations"));
    expect(poke.body).toEqual({ appkey: "svc", function: "hello", version: 2 });
    expect(poke.authorization).toBe(`Bearer ${GATEWAY_TOKEN}`);
    expect(poke.gateway).toMatch(/^[0-9a-f-]{36}$/);
    const buffered = await status();
    expect(buffered.functions).toMatchObject({ buffered: 1, versions: [{ appkey: "svc", function: "hello", version: 2, buffered: 1 }] });
    // Still waiting a second later: poked again.
    await new Promise((r) => setTimeout(r, 1100));
    expect(control.posts.filter((p) => p.path === "/v1/gateway/activations").length).toBeGreaterThanOrEqual(2);

    control.publish(await snapshot(2n, upstream.port, 10_000), 2n);
    const response = await pending;
    expect(response.status).toBe(200);
    expect((await response.json()).upstream).toBe("fn-hello-2");
    expect(Date.now() - started).toBeLessThan(5000);

    // The version's load reaches control within FUNCTION_METRICS_PUSH_MS, far before METRICS_PUSH_MS (10 s).
    const series = await until(() =>
      control.posts
        .filter((p) => p.path === "/v1/gateway/metrics")
        .flatMap((p) => (p.body as MetricsPush).functions ?? [])
        .find((f) => f.requests === 1),
    );
    expect(series).toMatchObject({ appkey: "svc", function: "hello", version: 2, activations: 1 });
    expect(series.activationWait.count).toBe(1);
    const requests = control.posts.flatMap((p) => (p.path === "/v1/gateway/metrics" ? (p.body as MetricsPush).requests : []));
    expect(requests.find((r) => r.group === "fn:hello@2")?.functionVersion).toBe("svc/hello@2");
  }, 15_000);

  it("(b) answers 503 activation_timeout with Retry-After: 1 when no instance comes in time", async () => {
    control.publish(await snapshot(3n, null, 300), 3n);
    await until(async () => ((await status()).snapshotVersion === "3" ? true : undefined));
    const response = await fetch(`${gateway.url}/hello`);
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect((await response.json()).error).toBe("activation_timeout");
    expect((await status()).functions).toMatchObject({ buffered: 0, activationTimeouts: 1 });
  }, 10_000);

  it("(c) refuses a snapshot whose FUNCTIONS section is malformed and keeps serving the last good", async () => {
    control.publish(await snapshot(4n, upstream.port, 10_000, new TextEncoder().encode("{not json")), 4n);
    const s = await until(async () => {
      await fetch(`${gateway.url}/hello`).then((r) => r.body?.cancel()); // traffic keeps the poll going
      const doc = await status();
      return doc.rejectedSnapshots > 0 ? doc : undefined;
    });
    expect(s.snapshotVersion).toBe("3");
    expect(s.lastError).toMatch(/FUNCTIONS/);
  }, 10_000);
});
