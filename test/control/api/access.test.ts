/**
 * Who may call what (bearer tokens), the snapshot endpoint's caching contract, the OpenAPI
 * document, /healthz, and the 500 that hides internals.
 */
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createApp } from "../../../control/api/app.ts";
import { backends } from "../../support/backends.ts";
import { ADMIN_TOKEN, clientFor, GATEWAY_TOKEN } from "../../support/client.ts";
import { useApi } from "../../support/fixture.ts";

describe.each(backends())("API access on $name", (backend) => {
  const api = useApi(backend);

  it("serves /healthz without a token", async () => {
    const res = await api.client.call("GET", "/healthz", undefined, { token: null });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
  });

  const refused: { name: string; token: string | null; header?: string }[] = [
    { name: "no token", token: null },
    { name: "a wrong token", token: "not-the-admin-token-at-all" },
    { name: "the admin token with one character changed", token: `${ADMIN_TOKEN.slice(0, -1)}X` },
    { name: "the gateway token", token: GATEWAY_TOKEN },
    { name: "a non-bearer scheme", token: null, header: `Basic ${ADMIN_TOKEN}` },
  ];
  it.each(refused)("401 with WWW-Authenticate for $name on admin endpoints", async ({ token, header }) => {
    for (const [method, path] of [
      ["GET", "/v1/services"],
      ["POST", "/v1/services"],
      ["GET", "/v1/openapi.json"],
      ["GET", "/v1/unknown"],
    ]) {
      const headers = header ? { authorization: header } : undefined;
      const res = await api.client.call(method, path, method === "POST" ? { appkey: "sneaky" } : undefined, {
        token,
        headers,
      });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect(res.body.error).toBe("unauthorized");
    }
    expect((await api.client.get("/v1/services/sneaky")).status).toBe(404);
  });

  it("503 JSON on /v1/snapshot before the first build", async () => {
    api.snapshot = null;
    const res = await api.client.call("GET", "/v1/snapshot", undefined, { token: GATEWAY_TOKEN });
    expect(res.status).toBe(503);
    expect(res.body.error).toBe("snapshot_unavailable");
  });

  it("serves the snapshot to the gateway and admin tokens, with a strong ETag and 304", async () => {
    const bytes = new Uint8Array([0x53, 0x4c, 0x53, 0x31, 1, 2, 3]);
    api.snapshot = { version: 42n, etag: "sha256-abc", body: bytes };
    for (const token of [GATEWAY_TOKEN, ADMIN_TOKEN]) {
      const res = await api.app.request("/v1/snapshot", { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/vnd.sluice.snapshot");
      expect(res.headers.get("etag")).toBe('"sha256-abc"');
      expect(res.headers.get("sluice-snapshot-version")).toBe("42");
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
    }
    const auth = { authorization: `Bearer ${GATEWAY_TOKEN}` };
    for (const match of ['"sha256-abc"', 'W/"sha256-abc"', '"old", "sha256-abc"', "*"]) {
      const res = await api.app.request("/v1/snapshot", { headers: { ...auth, "if-none-match": match } });
      expect({ match, status: res.status }).toEqual({ match, status: 304 });
      expect(await res.text()).toBe("");
      expect(res.headers.get("etag")).toBe('"sha256-abc"');
    }
    const stale = await api.app.request("/v1/snapshot", { headers: { ...auth, "if-none-match": '"old"' } });
    expect(stale.status).toBe(200);
    const noToken = await api.app.request("/v1/snapshot");
    expect(noToken.status).toBe(401);
  });

  it("publishes an OpenAPI 3.1 document listing every path", async () => {
    const res = await api.client.get("/v1/openapi.json");
    expect(res.status).toBe(200);
    expect(res.body.openapi).toMatch(/^3\.1/);
    const paths = res.body.paths;
    expect(Object.keys(paths).sort()).toEqual([
      "/v1/agent-tokens",
      "/v1/agent-tokens/{id}",
      "/v1/agents/functions/assignments",
      "/v1/agents/functions/bundles/{sha256}",
      "/v1/agents/functions/report",
      "/v1/config/fetch",
      "/v1/config/namespaces",
      "/v1/config/namespaces/{appkey}/{env}/{name}",
      "/v1/config/namespaces/{appkey}/{env}/{name}/draft",
      "/v1/config/namespaces/{appkey}/{env}/{name}/gray",
      "/v1/config/namespaces/{appkey}/{env}/{name}/gray/abandon",
      "/v1/config/namespaces/{appkey}/{env}/{name}/gray/merge",
      "/v1/config/namespaces/{appkey}/{env}/{name}/gray/releases",
      "/v1/config/namespaces/{appkey}/{env}/{name}/releases",
      "/v1/config/namespaces/{appkey}/{env}/{name}/releases/{id}",
      "/v1/config/namespaces/{appkey}/{env}/{name}/rollback",
      "/v1/config/watch",
      "/v1/consumers",
      "/v1/consumers/{name}",
      "/v1/events",
      "/v1/gateway/activations",
      "/v1/gateway/functions/{appkey}/{name}/versions/{version}/code",
      "/v1/gateway/metrics",
      "/v1/gateways",
      "/v1/metrics/history",
      "/v1/policies",
      "/v1/policies/{name}",
      "/v1/propagation",
      "/v1/registry/heartbeats",
      "/v1/registry/instances",
      "/v1/registry/instances/{id}",
      "/v1/registry/instances/{id}/status",
      "/v1/revisions",
      "/v1/routes",
      "/v1/routes/{id}",
      "/v1/services",
      "/v1/services/{appkey}",
      "/v1/services/{appkey}/functions",
      "/v1/services/{appkey}/functions/{name}",
      "/v1/services/{appkey}/functions/{name}/traffic",
      "/v1/services/{appkey}/functions/{name}/versions",
      "/v1/services/{appkey}/functions/{name}/versions/{version}",
      "/v1/services/{appkey}/functions/{name}/versions/{version}/bundle",
      "/v1/services/{appkey}/groups",
      "/v1/services/{appkey}/groups/{name}",
      "/v1/services/{appkey}/groups/{name}/instances",
      "/v1/services/{appkey}/groups/{name}/instances/{id}",
      "/v1/snapshot",
      "/v1/traffic-cuts",
      "/v1/traffic-cuts/{id}",
    ]);
    expect(Object.keys(paths["/v1/policies/{name}"]).sort()).toEqual(["delete", "get", "patch", "put"]);
    expect(paths["/v1/services"].post.responses).toHaveProperty("409");
    expect(res.body.components.schemas).toHaveProperty("Policy");
    expect(res.body.components.securitySchemes.bearerAuth).toEqual({ type: "http", scheme: "bearer" });
  });

  it("answers an unexpected error with a 500 that has no stack", async () => {
    const app = createApp({
      db: api.db,
      auth: { adminToken: ADMIN_TOKEN, gatewayToken: GATEWAY_TOKEN },
      getSnapshot: () => {
        throw new Error("secret internal detail");
      },
      logger: pino({ level: "silent" }),
    });
    const res = await clientFor(app).get("/v1/snapshot");
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: "internal", message: "internal server error" });
  });
});
