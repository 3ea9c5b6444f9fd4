/**
 * GET /v1/gateway/functions/{appkey}/{name}/versions/{n}/code: a gateway in Worker Loader mode
 * reads a version's code and run settings with the gateway token (docs/functions-runtime.md).
 */
import { describe, expect, it } from "vitest";
import { backends } from "../../support/backends.ts";
import { GATEWAY_TOKEN } from "../../support/client.ts";
import { unique, useApi } from "../../support/fixture.ts";

const WORKER = "export default { fetch(req, env) { return new Response(env.GREETING); } };";
const b64 = (text: string) => Buffer.from(text).toString("base64");

describe.each(backends())("function code for gateways on $name", (backend) => {
  const api = useApi(backend);

  it("serves modules, main, compatibility date, env and allowOutbound to the gateway token", async () => {
    const appkey = unique("codesvc");
    expect((await api.client.post("/v1/services", { appkey })).status).toBe(201);
    expect((await api.client.post(`/v1/services/${appkey}/functions`, { name: "hello", allowOutbound: true })).status).toBe(201);
    const uploaded = await api.client.post(`/v1/services/${appkey}/functions/hello/versions`, {
      modules: [{ name: "worker.js", type: "esm", content: b64(WORKER) }],
      main: "worker.js",
      env: { GREETING: "hi" },
      compatibilityDate: "2026-07-01",
    });
    expect(uploaded.status).toBe(201);
    const path = `/v1/gateway/functions/${appkey}/hello/versions/1/code`;
    const code = await api.client.call("GET", path, undefined, { token: GATEWAY_TOKEN });
    expect(code.status).toBe(200);
    expect(code.body).toEqual({
      appkey,
      function: "hello",
      version: 1,
      sha256: uploaded.body.sha256,
      main: "worker.js",
      compatibilityDate: "2026-07-01",
      env: { GREETING: "hi" },
      allowOutbound: true,
      modules: [{ name: "worker.js", type: "esm", content: b64(WORKER) }],
    });
    // The admin may read it too; nobody else.
    expect((await api.client.get(path)).status).toBe(200);
    expect((await api.client.call("GET", path, undefined, { token: "not-a-token-0123456789" })).status).toBe(401);
    expect((await api.client.call("GET", path, undefined, { token: null })).status).toBe(401);
  });

  it("answers 404 for a missing function or version and 400 for a malformed version", async () => {
    const appkey = unique("codesvc");
    expect((await api.client.post("/v1/services", { appkey })).status).toBe(201);
    expect((await api.client.post(`/v1/services/${appkey}/functions`, { name: "hello" })).status).toBe(201);
    expect(
      (await api.client.call("GET", `/v1/gateway/functions/${appkey}/hello/versions/1/code`, undefined, { token: GATEWAY_TOKEN })).status,
    ).toBe(404);
    expect(
      (await api.client.call("GET", `/v1/gateway/functions/${appkey}/nope/versions/1/code`, undefined, { token: GATEWAY_TOKEN })).status,
    ).toBe(404);
    // Not matched by the gateway's allow-list: the gateway token may not call it.
    expect(
      (await api.client.call("GET", `/v1/gateway/functions/${appkey}/hello/versions/x/code`, undefined, { token: GATEWAY_TOKEN })).status,
    ).toBe(401);
    expect((await api.client.get(`/v1/gateway/functions/${appkey}/hello/versions/0/code`)).status).toBe(400);
  });
});
