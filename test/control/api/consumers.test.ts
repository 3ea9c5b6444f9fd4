/**
 * /v1/consumers (docs/edge-protection.md "Consumers"): the key-auth key is stored only as its
 * SHA-256 and never returned (nor its hash), not in the API and not in the revisions; a key or a
 * jwt-auth key another consumer uses → 409; jwt-auth keys are converted to JWKs with jose and a
 * key that is not one of the algorithm → 400 naming `credentials.jwt-auth.publicKey`, nothing
 * written; an HS256 secret is write-only; a JWKS URL (a real HTTP server on 127.0.0.1) is fetched
 * at admission (failure → 422 naming the field) and refreshed by the JwksRefresher, which writes a
 * revision and triggers a rebuild only when the keys change and keeps the last keys when the URL fails.
 */
import { createHash } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { exportJWK, exportSPKI, generateKeyPair } from "jose";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JwksRefresher } from "../../../control/config/jwks-refresher.ts";
import { loadConfigModel } from "../../../control/db/config.ts";
import { consumerJwtCredentials, consumers, revisions } from "../../../control/db/schema.ts";
import { backends } from "../../support/backends.ts";
import { unique, useApi } from "../../support/fixture.ts";
import { type RecordingUpstream, startRecordingUpstream } from "../../support/recording-upstream.ts";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

let jwksServer: RecordingUpstream;
/** What the JWKS server answers: a body, or an HTTP status. */
let jwksAnswer: { status: number; body: string } = { status: 404, body: "" };
let rsa: CryptoKeyPair;
let ec: CryptoKeyPair;
let rsa2: CryptoKeyPair;

beforeAll(async () => {
  jwksServer = await startRecordingUpstream();
  jwksServer.expect((_req, res) => res.writeHead(jwksAnswer.status, { "content-type": "application/json" }).end(jwksAnswer.body));
  rsa = await generateKeyPair("RS256", { extractable: true });
  rsa2 = await generateKeyPair("RS256", { extractable: true });
  ec = await generateKeyPair("ES256", { extractable: true });
});
afterAll(async () => {
  await jwksServer?.close();
});

const jwksOf = async (...keys: CryptoKey[]) =>
  JSON.stringify({ keys: await Promise.all(keys.map(async (k, i) => ({ ...(await exportJWK(k)), kid: `k${i}`, use: "sig" }))) });

describe.each(backends())("consumers on $name", (backend) => {
  const api = useApi(backend);

  /** Counts of consumer rows, jwt rows and revisions: a refused write leaves them unchanged. */
  async function counts() {
    const [c] = await api.db.select({ n: sql<number>`count(*)::int` }).from(consumers);
    const [j] = await api.db.select({ n: sql<number>`count(*)::int` }).from(consumerJwtCredentials);
    const [r] = await api.db.select({ n: sql<number>`count(*)::int` }).from(revisions);
    return { consumers: c.n, jwt: j.n, revisions: r.n };
  }

  /** Every revision body of consumer `name`, as JSON text. */
  async function revisionText(name: string): Promise<string> {
    const rows = await api.db.select({ body: revisions.body }).from(revisions).where(eq(revisions.resourceId, name));
    expect(rows.length).toBeGreaterThan(0);
    return JSON.stringify(rows);
  }

  it("stores the key-auth key as its SHA-256 and never shows the key or its hash", async () => {
    const name = unique("alice");
    const key = `key-${name}-0123456789abcdef`;
    const created = await api.client.post("/v1/consumers", { name, labels: { tier: "gold" }, credentials: { "key-auth": { key } } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name,
      description: "",
      labels: { tier: "gold" },
      credentials: { "key-auth": { configured: true } },
    });
    const [row] = await api.db.select().from(consumers).where(eq(consumers.name, name));
    expect(row.keyAuthHash).toBe(sha256(key));
    for (const text of [
      JSON.stringify(created.body),
      JSON.stringify((await api.client.get(`/v1/consumers/${name}`)).body),
      JSON.stringify((await api.client.get("/v1/consumers")).body),
      await revisionText(name),
    ]) {
      expect(text).not.toContain(key);
      expect(text).not.toContain(sha256(key));
    }

    // PUT without the key keeps it; with a new key replaces the hash.
    const kept = await api.client.put(`/v1/consumers/${name}`, { description: "d", credentials: { "key-auth": { configured: true } } });
    expect(kept.status).toBe(200);
    expect((await api.db.select().from(consumers).where(eq(consumers.name, name)))[0].keyAuthHash).toBe(sha256(key));
    const replaced = await api.client.put(`/v1/consumers/${name}`, { credentials: { "key-auth": { key: `${key}-new` } } });
    expect(replaced.status).toBe(200);
    expect((await api.db.select().from(consumers).where(eq(consumers.name, name)))[0].keyAuthHash).toBe(sha256(`${key}-new`));

    expect((await api.client.del(`/v1/consumers/${name}`)).status).toBe(204);
    expect((await api.client.get(`/v1/consumers/${name}`)).status).toBe(404);
  });

  it("a key-auth key or jwt-auth key another consumer uses → 409, nothing written", async () => {
    const key = `shared-${unique("k")}-0123456789`;
    const first = unique("first");
    const jwt = { key: unique("jwt-key"), algorithm: "HS256", secret: "s".repeat(32) };
    expect((await api.client.post("/v1/consumers", { name: first, credentials: { "key-auth": { key }, "jwt-auth": jwt } })).status).toBe(
      201,
    );
    const before = await counts();
    const clashKey = await api.client.post("/v1/consumers", { name: unique("second"), credentials: { "key-auth": { key } } });
    expect(clashKey.status).toBe(409);
    const clashJwt = await api.client.post("/v1/consumers", { name: unique("third"), credentials: { "jwt-auth": jwt } });
    expect(clashJwt.status).toBe(409);
    const clashName = await api.client.post("/v1/consumers", { name: first });
    expect(clashName.status).toBe(409);
    expect(await counts()).toEqual(before);
  });

  it("HS256: the secret is write-only, at least 32 bytes, kept by a PUT that omits it", async () => {
    const name = unique("hs");
    const secret = `secret-${"x".repeat(40)}`;
    const created = await api.client.post("/v1/consumers", {
      name,
      credentials: { "jwt-auth": { key: `${name}-key`, algorithm: "HS256", secret, issuer: "https://id.example" } },
    });
    expect(created.status).toBe(201);
    expect(created.body.credentials["jwt-auth"]).toEqual({
      key: `${name}-key`,
      algorithm: "HS256",
      publicKey: null,
      jwksUrl: null,
      jwks: [],
      jwksFetchedAt: null,
      issuer: "https://id.example",
      audience: null,
    });
    expect(JSON.stringify((await api.client.get(`/v1/consumers/${name}`)).body)).not.toContain(secret);
    const kept = await api.client.put(`/v1/consumers/${name}`, {
      credentials: { "jwt-auth": { key: `${name}-key`, algorithm: "HS256", issuer: "https://id.example" } },
    });
    expect(kept.status).toBe(200);
    const [row] = await api.db
      .select({ secret: consumerJwtCredentials.secret })
      .from(consumerJwtCredentials)
      .innerJoin(consumers, eq(consumers.id, consumerJwtCredentials.consumerId))
      .where(eq(consumers.name, name));
    expect(row.secret).toBe(secret);
    expect(await revisionText(name)).not.toContain(secret);

    const model = await loadConfigModel(api.db);
    expect(model.consumers?.find((c) => c.name === name)?.jwt).toMatchObject({ algorithm: "HS256", secret, issuer: "https://id.example" });
  });

  it.each([
    { name: "a random string", jwt: { algorithm: "RS256", publicKey: "hello" }, field: "credentials.jwt-auth.publicKey" },
    { name: "an RSA key for ES256", jwt: { algorithm: "ES256", publicKey: "RSA_PEM" }, field: "credentials.jwt-auth.publicKey" },
    { name: "an EC JWK for RS256", jwt: { algorithm: "RS256", publicKey: "EC_JWK" }, field: "credentials.jwt-auth.publicKey" },
    { name: "a private JWK", jwt: { algorithm: "RS256", publicKey: "RSA_PRIVATE_JWK" }, field: "credentials.jwt-auth.publicKey" },
    {
      name: "a JWK that is not one",
      jwt: { algorithm: "ES256", publicKey: { kty: "EC", crv: "P-256" } },
      field: "credentials.jwt-auth.publicKey",
    },
    { name: "no key material", jwt: { algorithm: "RS256" }, field: "credentials.jwt-auth.publicKey" },
    { name: "a short HS256 secret", jwt: { algorithm: "HS256", secret: "short" }, field: "credentials.jwt-auth.secret" },
    { name: "HS256 without a secret", jwt: { algorithm: "HS256" }, field: "credentials.jwt-auth.secret" },
    {
      name: "a secret for RS256",
      jwt: { algorithm: "RS256", secret: "s".repeat(32), publicKey: "RSA_PEM" },
      field: "credentials.jwt-auth.secret",
    },
    { name: "an unknown algorithm", jwt: { algorithm: "none" }, field: "credentials.jwt-auth.algorithm" },
  ])("a jwt-auth credential with $name → 400 naming $field, nothing written", async ({ jwt, field }) => {
    const keys: Record<string, unknown> = {
      RSA_PEM: await exportSPKI(rsa.publicKey),
      EC_JWK: await exportJWK(ec.publicKey),
      RSA_PRIVATE_JWK: await exportJWK(rsa.privateKey),
    };
    const credential = { key: unique("bad"), ...jwt } as Record<string, unknown>;
    if (typeof credential.publicKey === "string" && credential.publicKey in keys) credential.publicKey = keys[credential.publicKey];
    const before = await counts();
    const reply = await api.client.post("/v1/consumers", { name: unique("bad"), credentials: { "jwt-auth": credential } });
    expect(reply.status).toBe(400);
    expect(reply.body.fields.map((f: { path: string }) => f.path)).toContain(field);
    expect(await counts()).toEqual(before);
  });

  it("RS256 PEM and ES256 JWK become public JWKs in the API and the snapshot model", async () => {
    const rsName = unique("rs");
    const rs = await api.client.post("/v1/consumers", {
      name: rsName,
      credentials: {
        "jwt-auth": { key: `${rsName}-key`, algorithm: "RS256", publicKey: await exportSPKI(rsa.publicKey), audience: "orders" },
      },
    });
    expect(rs.status).toBe(201);
    const { n, e } = await exportJWK(rsa.publicKey);
    expect(rs.body.credentials["jwt-auth"]).toMatchObject({ algorithm: "RS256", publicKey: [{ kty: "RSA", n, e }], audience: "orders" });
    const esName = unique("es");
    const jwk = { ...(await exportJWK(ec.publicKey)), kid: "ec-1" };
    const es = await api.client.post("/v1/consumers", {
      name: esName,
      credentials: { "jwt-auth": { key: `${esName}-key`, algorithm: "ES256", publicKey: jwk } },
    });
    expect(es.status).toBe(201);
    expect(es.body.credentials["jwt-auth"].publicKey).toEqual([{ kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, kid: "ec-1" }]);
    const model = await loadConfigModel(api.db);
    expect(model.consumers?.find((c) => c.name === esName)).toEqual({
      name: esName,
      labels: {},
      keyHash: null,
      jwt: {
        key: `${esName}-key`,
        algorithm: "ES256",
        secret: null,
        jwks: [{ kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, kid: "ec-1" }],
        issuer: null,
        audience: null,
      },
    });
  });

  it("fetches a jwksUrl at admission (failure → 422 naming it), refreshes it, keeps the last keys when it fails", async () => {
    const url = `http://127.0.0.1:${jwksServer.port}/.well-known/jwks.json`;
    const name = unique("jwks");
    const credentials = { "jwt-auth": { key: `${name}-key`, algorithm: "RS256", jwksUrl: url } };
    jwksAnswer = { status: 503, body: "" };
    const before = await counts();
    const refused = await api.client.post("/v1/consumers", { name, credentials });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ reason: "jwks_unavailable", field: "credentials.jwt-auth.jwksUrl" });
    expect(await counts()).toEqual(before);

    jwksAnswer = { status: 200, body: await jwksOf(rsa.publicKey, ec.publicKey) };
    const created = await api.client.post("/v1/consumers", { name, credentials });
    expect(created.status).toBe(201);
    // The EC key is not an RS256 key: only the RSA one is kept.
    expect(created.body.credentials["jwt-auth"].jwks).toEqual([
      { kty: "RSA", n: (await exportJWK(rsa.publicKey)).n, e: "AQAB", kid: "k0" },
    ]);

    const logs: string[] = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => void logs.push(line) });
    const changesBefore = api.changes.length;
    const refresher = new JwksRefresher({ deps: { db: api.db, onChange: (r) => void api.changes.push(r), logger }, logger });
    // Unchanged keys: no write.
    expect(await refresher.refreshOnce()).toMatchObject({ changed: [] });
    expect(api.changes.length).toBe(changesBefore);

    jwksAnswer = { status: 200, body: await jwksOf(rsa2.publicKey) };
    expect((await refresher.refreshOnce()).changed).toContain(name);
    expect(api.changes.length).toBe(changesBefore + 1);
    const rotated = (await api.client.get(`/v1/consumers/${name}`)).body.credentials["jwt-auth"].jwks;
    expect(rotated).toEqual([{ kty: "RSA", n: (await exportJWK(rsa2.publicKey)).n, e: "AQAB", kid: "k0" }]);
    const [last] = await api.db.select().from(revisions).where(eq(revisions.resourceId, name)).orderBy(sql`${revisions.id} desc`).limit(1);
    expect(last).toMatchObject({ actor: "jwks-refresher", action: "update", resource: "consumer" });

    jwksAnswer = { status: 500, body: "" };
    expect((await refresher.refreshOnce()).failed).toContain(name);
    expect((await api.client.get(`/v1/consumers/${name}`)).body.credentials["jwt-auth"].jwks).toEqual(rotated);
    expect(logs.join("")).toContain("JWKS refresh failed");
    await refresher.stop();
  });
});
