/**
 * The tracer and its OTLP encoder (@opentelemetry/otlp-transformer) on every gateway runtime:
 * workerd runs the probe bundled as the gateway is (worker/launcher/bundle.ts: esbuild,
 * platform neutral — no code generation at run time, which Workers forbid), Bun and Deno run it
 * from source as their entries load the Worker's modules. Each exports one trace, with the
 * runtime's own fetch, into the test OTLP receiver, which decodes it with the OTLP schema.
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUN_BIN } from "../../../worker/launcher/bun.ts";
import { bundleWorker } from "../../../worker/launcher/bundle.ts";
import { DENO_BIN } from "../../../worker/launcher/deno.ts";
import { WORKERD_BIN } from "../../../worker/launcher/workerd.ts";
import { parseTraceparent } from "../../../worker/telemetry/trace-context.ts";
import { type OtlpReceiver, startOtlpReceiver } from "../../support/otlp-receiver.ts";
import { INCOMING_TRACEPARENT, type ProbeReport } from "./export-probe.ts";

const run = promisify(execFile);
const DIR = fileURLToPath(new URL("../../../build/telemetry-probe/", import.meta.url));
const PROBE = "../../test/worker/telemetry/export-probe.ts";

/** A script entry (Bun, Deno) that runs the probe and prints its report. */
const scriptEntry = (url: string, protocol: string, runtime: string) =>
  `import { exportOneTrace } from "${PROBE}";\nconsole.log(JSON.stringify(await exportOneTrace(${JSON.stringify(url)}, "${protocol}", "${runtime}")));\n`;

/** A Worker whose test() handler runs the probe (`workerd test`), failing unless the export succeeded. */
const workerEntry = (url: string, protocol: string) =>
  `import { exportOneTrace } from "${PROBE}";
export default {
  async test() {
    const report = await exportOneTrace(${JSON.stringify(url)}, "${protocol}", "workerd");
    console.log("REPORT " + JSON.stringify(report));
    if (report.stats.exportedSpans !== 2) throw new Error("export failed: " + JSON.stringify(report.stats));
  },
};
`;

const CAPNP = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = (modules = [(name = "worker.js", esModule = embed "out/worker.js")],
      compatibilityDate = "2026-07-01", globalOutbound = "internal")),
    (name = "internal", network = (allow = ["public", "private", "local"])),
  ],
);
`;

async function onRuntime(runtime: "workerd" | "bun" | "deno", url: string, protocol: string): Promise<ProbeReport> {
  if (runtime === "workerd") {
    await writeFile(`${DIR}worker-entry.ts`, workerEntry(url, protocol));
    await bundleWorker(`${DIR}worker-entry.ts`, `${DIR}out`);
    const bundle = await readFile(`${DIR}out/worker.js`, "utf8");
    expect(bundle).not.toMatch(/\bnew Function\b|\beval\(/);
    await writeFile(`${DIR}config.capnp`, CAPNP);
    const { stdout, stderr } = await run(WORKERD_BIN, ["test", "--experimental", `${DIR}config.capnp`], { timeout: 20_000 });
    const line = `${stdout}\n${stderr}`.split("\n").find((l) => l.includes("REPORT "));
    return JSON.parse(line!.slice(line!.indexOf("REPORT ") + 7));
  }
  const entry = `${DIR}${runtime}-entry.ts`;
  await writeFile(entry, scriptEntry(url, protocol, runtime));
  const args = runtime === "bun" ? [entry] : ["run", "--allow-net=127.0.0.1", entry];
  const { stdout } = await run(runtime === "bun" ? BUN_BIN : DENO_BIN, args, { timeout: 60_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}

describe("OTLP export on every gateway runtime", () => {
  let receiver: OtlpReceiver;
  beforeAll(async () => {
    await mkdir(DIR, { recursive: true });
    receiver = await startOtlpReceiver();
  });
  afterAll(() => receiver.close());

  it.each([
    ["workerd", "http/protobuf"],
    ["workerd", "http/json"],
    ["bun", "http/protobuf"],
    ["bun", "http/json"],
    ["deno", "http/protobuf"],
    ["deno", "http/json"],
  ] as const)("%s, %s", async (runtime, protocol) => {
    receiver.exports.length = 0;
    const report = await onRuntime(runtime, receiver.url, protocol);
    expect(report.stats).toMatchObject({ exportedSpans: 2, failedExports: 0 });
    expect(receiver.rejections).toEqual([]);
    expect(receiver.exports).toHaveLength(1);
    const [server, client] = receiver.exports[0]!.spans;
    const incoming = parseTraceparent(INCOMING_TRACEPARENT)!;
    expect(server).toMatchObject({ traceId: incoming.traceId, parentSpanId: incoming.parentId, spanId: report.serverSpanId, kind: 2 });
    expect(server!.attributes["sluice.request_id"]).toBe(runtime);
    expect(client).toMatchObject({
      traceId: incoming.traceId,
      parentSpanId: report.serverSpanId,
      spanId: parseTraceparent(report.attemptTraceparent)!.parentId,
      kind: 3,
    });
  });
});
