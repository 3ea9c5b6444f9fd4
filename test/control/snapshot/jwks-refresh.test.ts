/**
 * The JWKS refresher inside a running control (control/server.ts): a consumer's jwksUrl served by
 * a real HTTP server on 127.0.0.1 is fetched at admission, and when the server rotates its keys the
 * refresher (JWKS_REFRESH_MS shortened for the test) stores them and control publishes a new
 * snapshot whose PLUGINS section carries the new key — with no API write. close() stops the loop.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair } from "jose";
import { pino } from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type RunningControl, startControl } from "../../../control/server.ts";
import { readPluginsSection } from "../../../wasm/plugins-section.ts";
import { ADMIN_TOKEN, clientFor, httpTarget } from "../../support/client.ts";
import { type RecordingUpstream, startRecordingUpstream } from "../../support/recording-upstream.ts";

let dataDir: string;
let control: RunningControl | undefined;
let jwksServer: RecordingUpstream;
let served = "";

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "sluice-jwks-"));
  jwksServer = await startRecordingUpstream();
  jwksServer.expect((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(served));
});
afterAll(async () => {
  await control?.close();
  await jwksServer?.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** The RSA modulus of the consumer's keys in the served snapshot, or null. */
function publishedModuli(name: string): string[] | null {
  const current = control?.builder.current;
  if (!current) return null;
  const consumer = readPluginsSection(current.body)?.consumers.find((c) => c.name === name);
  return consumer?.jwt?.jwks.map((k) => k.n as string) ?? null;
}

it("publishes a snapshot with the rotated keys after a refresh, without any API write", { timeout: 30_000 }, async () => {
  control = await startControl({
    dataDir,
    port: 0,
    debounceMs: 10,
    jwksRefreshMs: 200,
    env: { SLUICE_ADMIN_TOKEN: ADMIN_TOKEN },
    logger: pino({ level: "silent" }),
  });
  const client = clientFor(httpTarget(control.url));
  const first = await generateKeyPair("RS256", { extractable: true });
  const second = await generateKeyPair("RS256", { extractable: true });
  const jwk = async (key: CryptoKey) => ({ ...(await exportJWK(key)), kid: "current" });
  served = JSON.stringify({ keys: [await jwk(first.publicKey)] });
  const created = await client.post("/v1/consumers", {
    name: "svc-account",
    credentials: { "jwt-auth": { key: "svc", algorithm: "RS256", jwksUrl: `http://127.0.0.1:${jwksServer.port}/jwks` } },
  });
  expect(created.status).toBe(201);
  const until = async (want: string) => {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (publishedModuli("svc-account")?.[0] === want) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`the served snapshot never carried key ${want.slice(0, 12)}…`);
  };
  await until((await exportJWK(first.publicKey)).n as string);
  const versionBefore = control.builder.current?.version ?? 0n;

  served = JSON.stringify({ keys: [await jwk(second.publicKey)] });
  await until((await exportJWK(second.publicKey)).n as string);
  expect((control.builder.current?.version ?? 0n) > versionBefore).toBe(true);
  const revisions = (await client.get("/v1/revisions?limit=5")).body.items as { actor: string; resourceId: string }[];
  expect(revisions.some((r) => r.actor === "jwks-refresher" && r.resourceId === "svc-account")).toBe(true);

  await control.close();
  control = undefined;
});
