/**
 * Worker Loader mode (docs/functions-runtime.md): where Sluice cannot start processes, a function
 * version runs inside the gateway's workerd through the Worker Loader binding. Control in this
 * process; the gateway as a real `workerd serve` process (FUNCTION_RUNNER=loader), then under
 * `wrangler dev` (Miniflare) with worker/wrangler.jsonc's `worker_loaders`.
 *  - a request to a function route is answered by the chosen version, with its env vars;
 *  - the loaded code has no network unless its function allows outbound;
 *  - a tag reaches its version; a module that throws at start is a 502 `function_error`;
 *  - the gateway's own bindings (its token) never reach the loaded code.
 */

import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../worker/launcher/ports.ts";
import { backends } from "../support/backends.ts";
import { spawnTracked } from "../support/processes.ts";
import { eventually, type Stack, startStack } from "../support/stack.ts";

const WRANGLER = fileURLToPath(new URL("../../node_modules/wrangler/bin/wrangler.js", import.meta.url));

const APPKEY = "loadershop";
/** Tells what it can see: its version, its env, whether it can reach `?probe=` and the gateway's token. */
const CODE = `export default {
  async fetch(request, env) {
    const probe = new URL(request.url).searchParams.get("probe");
    let outbound = "not tried";
    if (probe) {
      try { outbound = await (await fetch(probe)).text(); } catch (e) { outbound = "blocked"; }
    }
    return Response.json({ version: env.VERSION, envKeys: Object.keys(env).sort(), outbound });
  },
};`;
const THROWS = 'throw new Error("bad module at start");\nexport default { fetch() { return new Response("never"); } };';
const b64 = (text: string) => Buffer.from(text).toString("base64");

describe.each(backends().slice(0, 1))("functions in Worker Loader mode on $name", (backend) => {
  let stack: Stack;
  let upstream: Server;
  let probeUrl: string;

  const deploy = async (name: string, allowOutbound: boolean, versions: string[]) => {
    expect((await stack.admin.post(`/v1/services/${APPKEY}/functions`, { name, allowOutbound })).status).toBe(201);
    for (const [i, code] of versions.entries()) {
      const r = await stack.admin.post(`/v1/services/${APPKEY}/functions/${name}/versions`, {
        modules: [{ name: "worker.js", type: "esm", content: b64(code) }],
        main: "worker.js",
        env: { VERSION: String(i + 1) },
        compatibilityDate: "2025-01-01",
      });
      expect(r.status).toBe(201);
    }
    expect((await stack.admin.post("/v1/routes", { appkey: APPKEY, path: `/${name}`, match: "prefix", function: name })).status).toBe(201);
  };

  beforeAll(async () => {
    upstream = createServer((_req, res) => res.end("reached"));
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    probeUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`;
    stack = await startStack(backend, 1, { gateway: { runtime: "workerd", functionRunner: "loader" } });
    expect((await stack.admin.post("/v1/services", { appkey: APPKEY })).status).toBe(201);
    await deploy("closed", false, [CODE, CODE]);
    await deploy("open", true, [CODE]);
    await deploy("broken", false, [THROWS]);
    expect(
      (
        await stack.admin.put(`/v1/services/${APPKEY}/functions/closed/traffic`, {
          targets: [
            { version: 1, percent: 100 },
            { version: 2, percent: 0, tag: "next" },
          ],
        })
      ).status,
    ).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    upstream?.close();
  });

  const get = async (base: string, path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, { headers });
    const text = await res.text();
    return { status: res.status, body: text.startsWith("{") ? JSON.parse(text) : text };
  };

  it("runs the chosen version in a loaded isolate with its env and nothing else", async () => {
    await eventually(async () => (await get(stack.gateway.url, "/closed")).status === 200, 10_000, "the function route");
    const answer = await get(stack.gateway.url, "/closed");
    expect(answer.body).toEqual({ version: "1", envKeys: ["VERSION"], outbound: "not tried" });
    expect((await get(stack.gateway.url, "/closed", { "sluice-function-tag": "next" })).body.version).toBe("2");
  });

  it("cuts the network of a function that does not allow outbound", async () => {
    expect((await get(stack.gateway.url, `/closed?probe=${encodeURIComponent(probeUrl)}`)).body.outbound).toBe("blocked");
    expect((await get(stack.gateway.url, `/open?probe=${encodeURIComponent(probeUrl)}`)).body.outbound).toBe("reached");
  });

  it("answers 502 function_error for a module that throws at start", async () => {
    const answer = await get(stack.gateway.url, "/broken");
    expect(answer.status).toBe(502);
    expect(answer.body.error).toBe("function_error");
    expect(answer.body.message).toContain("bad module at start");
  });

  it("runs the same under wrangler dev (Miniflare) with worker_loaders", async () => {
    const port = await freePort();
    const persist = await mkdtemp(join(tmpdir(), "sluice-wrangler-"));
    const vars = {
      CONTROL_URL: stack.control.url,
      GATEWAY_TOKEN: stack.control.tokens.gatewayToken,
      SNAPSHOT_PUBLIC_KEY: stack.control.signingKey.publicKeyBase64,
      METRICS_PUSH_MS: "0",
      ACCESS_LOG: "off",
    };
    const wrangler = spawnTracked(
      process.execPath,
      [WRANGLER, "dev", "--config", "worker/wrangler.jsonc", "--local", "--ip", "127.0.0.1", "--port", String(port)]
        .concat(["--persist-to", persist, "--show-interactive-dev-session=false"])
        .concat(Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`])),
      { WRANGLER_SEND_METRICS: "false", CI: "1" },
    );
    try {
      await wrangler.waitFor(/Ready on/, 60_000);
      const base = `http://127.0.0.1:${port}`;
      await eventually(async () => (await get(base, "/closed")).status === 200, 15_000, "the function route under wrangler dev");
      expect((await get(base, "/closed")).body).toEqual({ version: "1", envKeys: ["VERSION"], outbound: "not tried" });
      expect((await get(base, `/closed?probe=${encodeURIComponent(probeUrl)}`)).body.outbound).toBe("blocked");
    } finally {
      wrangler.kill("SIGTERM");
      await rm(persist, { recursive: true, force: true });
    }
  }, 90_000);
});
