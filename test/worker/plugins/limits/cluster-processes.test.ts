/**
 * Issue 16's exactness requirement across processes: two separate OS processes, each with its
 * own LimitState and its runtime's socket, fire 150 checks each at the same moment at one
 * cluster limit-count of 100 on a private redis-server: exactly 100 are allowed in all, for the
 * fixed and the sliding window. One Bun and one Deno process (worker/runtime/bun-socket.ts,
 * deno-socket.ts: a kept, pipelined connection each), then two workerd processes
 * (worker/plugins/limits/workerd-socket.ts: `cloudflare:sockets`, a connection per check), the
 * probe bundled as the gateway is (esbuild, platform neutral, `cloudflare:*` external).
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUN_BIN } from "../../../../worker/launcher/bun.ts";
import { DENO_BIN } from "../../../../worker/launcher/deno.ts";
import { COMPATIBILITY_DATE } from "../../../../worker/launcher/gateway.ts";
import { WORKERD_BIN } from "../../../../worker/launcher/workerd.ts";
import { spawnTracked, stopAll } from "../../../support/processes.ts";
import { startTestRedis, type TestRedis } from "../../../support/redis-server.ts";
import type { ProbeResult, ProbeSpec } from "./cluster-probe.ts";

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL("./cluster-child.ts", import.meta.url));
const WORKER_DIR = fileURLToPath(new URL("../../../../worker", import.meta.url));
const DIR = fileURLToPath(new URL("../../../../build/limits-probe/", import.meta.url));

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
  await mkdir(DIR, { recursive: true });
});
afterAll(async () => {
  await redis.stop();
  await stopAll();
});

const spec = (window: "fixed" | "sliding", delayMs: number): ProbeSpec => ({
  runtime: "",
  redisPort: redis.port,
  keyPrefix: `test:${process.pid}:`,
  scope: `route:${window}:${Date.now()}`,
  window,
  requests: 150,
  // Both start together, once both runtimes have loaded the modules.
  startAtMs: Date.now() + delayMs,
  reuseConnection: true,
});

function expectExactlyOneHundred(results: ProbeResult[]): void {
  expect(results.map((r) => r.failed)).toEqual([0, 0]);
  expect(results.reduce((sum, r) => sum + r.allowed, 0)).toBe(100);
  expect(results.reduce((sum, r) => sum + r.rejected, 0)).toBe(200);
}

describe("cluster limit-count across two gateway processes", () => {
  it.each(["fixed", "sliding"] as const)("Bun + Deno, %s window: 300 requests, limit 100 → exactly 100 allowed", async (window) => {
    const json = JSON.stringify(spec(window, 3000));
    const children = [
      spawnTracked(BUN_BIN, [CHILD, json]),
      spawnTracked(DENO_BIN, ["run", "--no-prompt", "--allow-net", `--allow-read=${WORKER_DIR}`, CHILD, json]),
    ];
    const lines = await Promise.all(children.map((child) => child.waitFor(/^\{"runtime"/, 20_000)));
    const results = lines.map((line) => JSON.parse(line) as ProbeResult);
    expect(results.map((r) => r.runtime).sort()).toEqual(["bun", "deno"]);
    expectExactlyOneHundred(results);
  });

  it.each(["fixed", "sliding"] as const)("two workerd processes (cloudflare:sockets), %s window: exactly 100 allowed", async (window) => {
    const probe = { ...spec(window, 2500), runtime: "workerd", reuseConnection: false };
    await writeFile(
      `${DIR}entry.ts`,
      `import { workerdConnect } from "../../worker/plugins/limits/workerd-socket.ts";
import { fireChecks } from "../../test/worker/plugins/limits/cluster-probe.ts";
export default {
  async test() {
    console.log("RESULT " + JSON.stringify(await fireChecks(workerdConnect, ${JSON.stringify(probe)})));
  },
};
`,
    );
    await build({
      entryPoints: [`${DIR}entry.ts`],
      outfile: `${DIR}worker.js`,
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      external: ["cloudflare:*"],
      logLevel: "warning",
    });
    expect(await readFile(`${DIR}worker.js`, "utf8")).toContain('from "cloudflare:sockets"');
    await writeFile(
      `${DIR}config.capnp`,
      `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = (modules = [(name = "worker.js", esModule = embed "worker.js")],
      compatibilityDate = "${COMPATIBILITY_DATE}", globalOutbound = "internal")),
    (name = "internal", network = (allow = ["public", "private", "local"])),
  ],
);
`,
    );
    const outputs = await Promise.all(
      [0, 1].map(() => run(WORKERD_BIN, ["test", "--experimental", `${DIR}config.capnp`], { timeout: 20_000 })),
    );
    const results = outputs.map(({ stdout, stderr }) => {
      const line = `${stdout}\n${stderr}`.split("\n").find((l) => l.includes("RESULT "));
      if (!line) throw new Error(`no result from workerd:\n${stdout}\n${stderr}`);
      return JSON.parse(line.slice(line.indexOf("RESULT ") + 7)) as ProbeResult;
    });
    expectExactlyOneHundred(results);
  });
});
