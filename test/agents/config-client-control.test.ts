/**
 * The config client and `sluice-agent --config` against the real control (startControl on
 * PGlite, its own HTTP port): a main release reaches a watcher within a second, a gray release
 * reaches only the instance its rules match, and abandoning it hands that instance main's
 * release back (a change too); the agent, with an agent token, writes the namespace's file.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createConfigClient } from "../../agents/config-client/client.ts";
import { clientFor, httpTarget } from "../support/client.ts";
import { spawnAgent, stopAll, stopGracefully } from "../support/processes.ts";

const ADMIN = "config-client-admin-token-0123456789abcdef";

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

afterAll(() => stopAll());

describe("config client against control", () => {
  it("delivers main and gray releases per identity, and the agent writes the file", async () => {
    const { startControl } = await import("../../control/server.ts");
    const dataDir = mkdtempSync(join(tmpdir(), "sluice-config-control-"));
    const control = await startControl({ dataDir, port: 0, env: { SLUICE_ADMIN_TOKEN: ADMIN } });
    const call = clientFor(httpTarget(control.url), ADMIN).call;
    const clients: { close(): Promise<void> }[] = [];
    try {
      const appkey = "com.example.orders";
      expect((await call("POST", "/v1/services", { appkey })).status).toBe(201);
      const ns = `/v1/config/namespaces/${appkey}/prod/application`;
      const created = await call("POST", "/v1/config/namespaces", {
        appkey,
        env: "prod",
        name: "application",
        format: "properties",
        content: "a=1\n",
      });
      expect(created.status).toBe(201);
      const r1 = (await call("POST", `${ns}/releases`, {})).body.id as number;

      const options = { controlUrl: control.url, token: ADMIN, appkey, env: "prod", namespaces: ["application"], watchWaitSeconds: 30 };
      const plain = createConfigClient({ ...options, cacheDir: join(dataDir, "cache") });
      const zoned = createConfigClient({ ...options, identity: { zone: "z1", instanceId: "orders-7" } });
      clients.push(plain, zoned);
      const plainSeen: number[] = [];
      const zonedSeen: [number, number | null][] = [];
      plain.onChange("application", (c) => plainSeen.push(c.release));
      zoned.onChange("application", (c) => zonedSeen.push([c.release, c.gray]));
      await plain.start();
      await zoned.start();
      expect(plain.get("application")).toEqual({ a: "1" });

      expect((await call("PUT", `${ns}/draft`, { content: "a=2\n" })).status).toBe(200);
      const releasedAt = Date.now();
      const r2 = (await call("POST", `${ns}/releases`, {})).body.id as number;
      await until(() => plain.release("application")?.release === r2, 2000, "main release 2");
      expect(Date.now() - releasedAt).toBeLessThan(1000);

      const gray = await call("POST", `${ns}/gray`, { rules: { labels: { zone: ["z1"] } }, content: "a=gray\n" });
      expect(gray.status).toBe(201);
      const r3 = (await call("POST", `${ns}/gray/releases`, {})).body.id as number;
      await until(() => zoned.release("application")?.release === r3, 2000, "the gray release");
      expect(zoned.get("application")).toEqual({ a: "gray" });
      await new Promise((r) => setTimeout(r, 300));
      expect(plain.get("application")).toEqual({ a: "2" });

      expect((await call("POST", `${ns}/gray/abandon`, {})).status).toBe(200);
      await until(() => zoned.release("application")?.release === r2, 2000, "main again after abandon");
      expect(plainSeen).toEqual([r1, r2]);
      expect(zonedSeen).toEqual([
        [r1, null],
        [r2, null],
        [r3, gray.body.id],
        [r2, null],
      ]);

      const minted = await call("POST", "/v1/agent-tokens", { name: "orders-hosts", appkeys: [appkey] });
      expect(minted.status).toBe(201);
      const configDir = join(dataDir, "agent");
      const agent = spawnAgent(
        ["--control", control.url, "--config", `${appkey}:prod:application`, "--config-dir", configDir, "--config-port", "0"],
        minted.body.token,
      );
      await agent.waitFor(/"config served"/, 10_000);
      expect(readFileSync(join(configDir, "application.properties"), "utf8")).toBe("a=2\n");
      await stopGracefully(agent);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await control.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 30_000);
});
