/**
 * The gateway, in real `workerd serve`, Bun and Deno, takes only authentic, newer, whole snapshots and
 * keeps serving the last good one whatever control does (static stability): a fake control on
 * 127.0.0.1 serves, phase by phase, nothing, a snapshot signed by another key, a good v5, a
 * validly signed but older v3, a truncated v6, HTTP 500, a closed port, and finally a good v7
 * with another route. Requests go through to a real upstream; `/__sluice/status` reports the
 * version, the last error and the rejection count. The fake also records what the gateway sends:
 * the Bearer gateway token and, once it has a snapshot, If-None-Match with its ETag.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, type UpstreamServer } from "../../control/demo/upstream-server.ts";
import type { ConfigModel } from "../../control/snapshot/model.ts";
import { sealSnapshot } from "../../control/snapshot/seal.ts";
import { writeSnapshot } from "../../control/snapshot/writer.ts";
import { GATEWAY_RUNTIMES, startGateway } from "../../worker/launcher/gateway.ts";
import type { ProcessCluster } from "../../worker/launcher/supervisor.ts";
import { STATUS_TOKEN } from "../support/client.ts";
import { FakeControl, oneRouteModel } from "../support/fake-control.ts";

const GATEWAY_TOKEN = "gateway-token-for-snapshot-tests-0123";
const POLL_MS = 100;

async function sign(model: ConfigModel, version: bigint, privateKey: CryptoKey): Promise<Uint8Array> {
  return (await sealSnapshot(writeSnapshot(model, { version, builtAtMs: Date.now() }), privateKey)).file;
}

async function newKeyPair(): Promise<{ privateKey: CryptoKey; publicKeyBase64: string }> {
  const pair = (await crypto.subtle.generateKey("Ed25519", true, ["sign", "verify"])) as CryptoKeyPair;
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { privateKey: pair.privateKey, publicKeyBase64: Buffer.from(raw).toString("base64") };
}

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON from the gateway or the upstream.
  body: any;
}
interface GatewayStatus {
  snapshotVersion: string | null;
  lastError: string | null;
  rejectedSnapshots: number;
}

describe.each(GATEWAY_RUNTIMES)("gateway snapshot handling on %s", (runtime) => {
  const control = new FakeControl();
  let gateway: ProcessCluster;
  let good: { privateKey: CryptoKey; publicKeyBase64: string };
  let foreign: { privateKey: CryptoKey; publicKeyBase64: string };
  let u5: UpstreamServer;
  let u7: UpstreamServer;

  const get = async (path: string): Promise<Reply> => {
    const res = await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${STATUS_TOKEN}` } });
    const text = await res.text();
    return { status: res.status, body: text.startsWith("{") ? JSON.parse(text) : text };
  };
  const status = async (): Promise<GatewayStatus> => (await get("/__sluice/status")).body;

  /**
   * Sends a request to `path` (traffic is what triggers the gateway's polls) every POLL_MS until
   * `probe(reply, status)` holds. @throws with the last reply and status after `timeoutMs`.
   */
  async function until(path: string, probe: (reply: Reply, s: GatewayStatus) => boolean, timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    let last: [Reply, GatewayStatus] | undefined;
    while (Date.now() < deadline) {
      const reply = await get(path);
      const s = await status();
      last = [reply, s];
      if (probe(reply, s)) return last;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    throw new Error(`not reached within ${timeoutMs} ms; last reply and status: ${JSON.stringify(last)}`);
  }

  beforeAll(async () => {
    [good, foreign, u5, u7] = await Promise.all([newKeyPair(), newKeyPair(), startUpstream("u5"), startUpstream("u7")]);
    await control.start();
    gateway = await startGateway({
      runtime,
      controlUrl: control.url,
      gatewayToken: GATEWAY_TOKEN,
      snapshotPublicKey: good.publicKeyBase64,
      port: 0,
      processes: 1, // one isolate, so /__sluice/status describes the isolate that serves
      snapshotPollMs: POLL_MS,
      statusToken: STATUS_TOKEN,
      stdio: "ignore",
    });
  }, 20_000);

  afterAll(async () => {
    await gateway?.close();
    await control.stop();
    await Promise.all([u5?.close(), u7?.close()]);
  });

  // The phases share one gateway and run in order.
  it("(a) control unreachable, no snapshot: 503 no_snapshot", async () => {
    const reply = await get("/a");
    expect(reply.status).toBe(503);
    expect(reply.body.error).toBe("no_snapshot");
    const s = await status();
    expect(s.snapshotVersion).toBeNull();
    expect(s.lastError).toMatch(/control unreachable/);
    expect(control.seen.length).toBeGreaterThan(0);
  });

  it("(b) a snapshot signed by another key is rejected: still 503", async () => {
    control.serve("b", { kind: "snapshot", body: await sign(oneRouteModel("/a", u5.port), 5n, foreign.privateKey), etag: '"v5-foreign"' });
    const [reply, s] = await until("/a", (_, s) => s.rejectedSnapshots > 0);
    expect(reply.status).toBe(503);
    expect(reply.body.error).toBe("no_snapshot");
    expect(s.snapshotVersion).toBeNull();
    expect(s.lastError).toMatch(/signature/);
    expect((await get("/a")).body.message).toMatch(/bad signature/);
  });

  it("(c) a good v5 is served: requests reach the upstream", async () => {
    control.serve("c", { kind: "snapshot", body: await sign(oneRouteModel("/a", u5.port), 5n, good.privateKey), etag: '"v5"' });
    const [reply, s] = await until("/a", (r) => r.status === 200);
    expect(reply.body.upstream).toBe("u5");
    expect(reply.body.path).toBe("/a");
    expect(s.snapshotVersion).toBe("5");
    // Later polls are conditional and get 304s; a 304 clears the last error.
    await until("/a", (_, s) => s.lastError === null && control.seen.some((r) => r.ifNoneMatch === '"v5"' && r.answered === 304));
  });

  it("(d) a validly signed but older v3 is rejected: v5 keeps serving", async () => {
    const before = (await status()).rejectedSnapshots;
    control.serve("d", { kind: "snapshot", body: await sign(oneRouteModel("/a", u7.port), 3n, good.privateKey), etag: '"v3"' });
    const [reply, s] = await until("/a", (_, s) => s.rejectedSnapshots > before);
    expect(s.lastError).toMatch(/version 3 is not newer than 5/);
    expect(s.snapshotVersion).toBe("5");
    expect(reply.body.upstream).toBe("u5");
  });

  it("(e) a truncated v6 is rejected: v5 keeps serving", async () => {
    const before = (await status()).rejectedSnapshots;
    const v6 = await sign(oneRouteModel("/a", u7.port), 6n, good.privateKey);
    control.serve("e", { kind: "snapshot", body: v6.subarray(0, v6.length - 100), etag: '"v6"' });
    const [reply, s] = await until("/a", (_, s) => s.rejectedSnapshots > before && /length mismatch|truncated/.test(s.lastError ?? ""));
    expect(s.snapshotVersion).toBe("5");
    expect(reply.status).toBe(200);
    expect(reply.body.upstream).toBe("u5");
  });

  it("(f) control answering 500, then gone: v5 keeps serving", async () => {
    control.serve("f", { kind: "status", status: 500 });
    let [reply, s] = await until("/a", (_, s) => s.lastError === "control answered 500");
    expect([reply.status, reply.body.upstream, s.snapshotVersion]).toEqual([200, "u5", "5"]);

    await control.stop();
    [reply, s] = await until("/a", (_, s) => /control unreachable/.test(s.lastError ?? ""));
    expect([reply.status, reply.body.upstream, s.snapshotVersion]).toEqual([200, "u5", "5"]);
  });

  it("(g) control back with a good v7 and another route: v7 is served", async () => {
    control.serve("g", { kind: "snapshot", body: await sign(oneRouteModel("/b", u7.port), 7n, good.privateKey), etag: '"v7"' });
    await control.start(); // same port
    const [reply, s] = await until("/b", (r) => r.status === 200);
    expect(reply.body.upstream).toBe("u7");
    expect(s.snapshotVersion).toBe("7");
    expect(s.lastError).toBeNull();
    const gone = await get("/a"); // v5's route
    expect(gone.status).toBe(404);
    expect(gone.body.error).toBe("no_route");
  });

  it("sent the Bearer gateway token on every snapshot request, and If-None-Match once it had a snapshot", () => {
    // Besides snapshot polls the gateway sends its metrics pushes, with the same token.
    const polls = control.seen.filter((r) => new URL(r.url, "http://control").pathname === "/v1/snapshot");
    expect(polls.length).toBeGreaterThan(5);
    for (const r of control.seen) {
      const url = new URL(r.url, "http://control");
      const push = url.pathname === "/v1/gateway/metrics";
      expect({ method: r.method, path: url.pathname, authorization: r.authorization }).toEqual({
        method: push ? "POST" : "GET",
        path: push ? "/v1/gateway/metrics" : "/v1/snapshot",
        authorization: `Bearer ${GATEWAY_TOKEN}`,
      });
    }
    for (const r of polls) {
      const url = new URL(r.url, "http://control");
      // Long polls name the version served (0 before the first) and how long control may hold them.
      expect(url.searchParams.get("index")).toMatch(/^[0-9]+$/);
      expect(url.searchParams.get("wait")).toMatch(/^[0-9]+ms$/);
    }
    const inm = (phases: string) => polls.filter((r) => phases.includes(r.phase)).map((r) => r.ifNoneMatch ?? null);
    // No ETag before the first good snapshot; v5's from then on (rejections keep it); v7's after v7.
    expect(new Set(inm("ab"))).toEqual(new Set([null]));
    const [firstC, ...restC] = inm("c");
    expect(firstC).toBeNull();
    expect(restC.length).toBeGreaterThan(0);
    expect(new Set(restC)).toEqual(new Set(['"v5"']));
    expect(new Set(inm("def"))).toEqual(new Set(['"v5"']));
    expect(inm("g").length).toBeGreaterThan(0);
    expect(inm("g")[0]).toBe('"v5"');
    expect(inm("g").every((v) => v === '"v5"' || v === '"v7"')).toBe(true);
  });
});
