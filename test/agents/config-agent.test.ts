/**
 * `sluice-agent --config` end to end, as a child process against the fake delivery API
 * (test/support/fake-config-server.ts): it writes each namespace to `<dir>/<namespace>.<ext>`,
 * answers on its 127.0.0.1 port, signals a process we started on each change, runs a command
 * (without the agent's token, one run at a time, coalescing changes during a run), and a
 * restarted agent serves its cache while control is down.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAgentArgs, UsageError } from "../../agents/args.ts";
import { type FakeConfigServer, startFakeConfigServer } from "../support/fake-config-server.ts";
import { type Child, spawnAgent, spawnTracked, stopAll, stopGracefully } from "../support/processes.ts";

const TOKEN = "sluice_agent_config_e2e";
let server: FakeConfigServer;
let dir: string;

beforeAll(async () => {
  server = await startFakeConfigServer(TOKEN);
  dir = mkdtempSync(join(tmpdir(), "sluice-config-agent-"));
});

afterAll(async () => {
  await stopAll();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function until(condition: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const read = (path: string) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
};

/** Starts an agent delivering `spec` into `configDir`; resolves with it and its HTTP port. */
async function startAgent(spec: string, configDir: string, extra: string[] = []): Promise<{ agent: Child; port: number }> {
  const agent = spawnAgent(
    ["--control", server.url, "--config", spec, "--config-dir", configDir, "--config-port", "0", "--log-level", "info", ...extra],
    TOKEN,
  );
  const line = await agent.waitFor(/"config served"/, 10_000);
  return { agent, port: JSON.parse(line).port as number };
}

describe("sluice-agent --config (flags)", () => {
  it("parses the delivery flags and refuses bad ones naming the flag", () => {
    const c = parseAgentArgs([
      ...["--control", "http://127.0.0.1:7400", "--config", "com.example.orders:prod:app,feature", "--config-port", "9300"],
      ...["--config-signal", "1234:HUP", "--zone", "z1", "--lane", "blue"],
    ]);
    expect(c.instances).toEqual([]);
    expect(c.configDelivery).toEqual({
      appkey: "com.example.orders",
      env: "prod",
      namespaces: ["app", "feature"],
      dir: ".sluice/agent-config",
      port: 9300,
      action: { kind: "signal", pid: 1234, signal: "SIGHUP" },
      identity: { zone: "z1", lane: "blue" },
    });
    expect(
      parseAgentArgs(["--control", "http://c", "--config", "a:prod:x", "--config-command", "  nginx -s  reload "]).configDelivery?.action,
    ).toEqual({ kind: "command", argv: ["nginx", "-s", "reload"] });
    for (const [flags, message] of [
      [["--config", "a:prod"], /--config: expected/],
      [["--config", "a:prod:../x"], /--config: not a namespace/],
      [["--config", "a:prod:x", "--config-signal", "12:SIGNOPE"], /--config-signal/],
      [["--config", "a:prod:x", "--config-signal", "1:HUP", "--config-command", "true"], /not both/],
      [["--config-port", "1"], /--config-port goes with --config/],
    ] as const) {
      expect(() => parseAgentArgs(["--control", "http://c", ...flags])).toThrow(UsageError);
      expect(() => parseAgentArgs(["--control", "http://c", ...flags])).toThrow(message);
    }
  });
});

describe("sluice-agent --config (end to end)", () => {
  it("writes files, answers on 127.0.0.1, signals on change, and serves its cache while control is down", async () => {
    server.release("app", "db.host=10.0.0.1\n");
    server.release("feature", '{"beta": false}', "json");
    const target = spawnTracked(process.execPath, [
      "-e",
      'let n = 0; process.on("SIGHUP", () => console.log("hup " + ++n)); console.log("ready"); setInterval(() => {}, 1000);',
    ]);
    await target.waitFor(/^ready$/);
    const configDir = join(dir, "signal");
    const { agent, port } = await startAgent("com.example.orders:prod:app,feature,absent", configDir, [
      "--config-signal",
      `${target.pid}:SIGHUP`,
    ]);

    expect(read(join(configDir, "app.properties"))).toBe("db.host=10.0.0.1\n");
    expect(read(join(configDir, "feature.json"))).toBe('{"beta": false}');
    const answer = await fetch(`http://127.0.0.1:${port}/config/feature`);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ namespace: "feature", format: "json", content: '{"beta": false}', gray: null });
    expect((await fetch(`http://127.0.0.1:${port}/config/absent`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/config/not-configured`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/config/app`, { method: "POST" })).status).toBe(405);
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === "IPv4" && !i.internal)?.address;
    if (external) await expect(fetch(`http://${external}:${port}/config/app`)).rejects.toThrow(); // bound to 127.0.0.1 only

    const hupsBefore = target.lines.filter((l) => l.startsWith("hup")).length;
    const next = server.release("app", "db.host=10.0.0.2\n");
    await until(() => read(join(configDir, "app.properties")) === "db.host=10.0.0.2\n", 5000, "the new file");
    await target.waitFor(new RegExp(`^hup ${hupsBefore + 1}$`), 5000);
    expect(((await (await fetch(`http://127.0.0.1:${port}/config/app`)).json()) as { release: number }).release).toBe(next.release);

    await stopGracefully(agent);
    expect(await agent.exited).toBe(0);

    // Control down: a restarted agent starts from its cache and serves it.
    await server.stop();
    try {
      const restarted = await startAgent("com.example.orders:prod:app,feature", configDir);
      const cached = (await (await fetch(`http://127.0.0.1:${restarted.port}/config/app`)).json()) as { release: number; content: string };
      expect(cached).toMatchObject({ release: next.release, content: "db.host=10.0.0.2\n" });
      await stopGracefully(restarted.agent);
    } finally {
      await server.start();
    }
  });

  it("runs the command without the token, one run at a time, once more for changes during a run", async () => {
    server.release("hooked", "v=1");
    const log = join(dir, "command.log");
    const script = join(dir, "on-change.mjs");
    writeFileSync(
      script,
      [
        'import { appendFileSync } from "node:fs";',
        `const log = ${JSON.stringify(log)};`,
        "const env = process.env;",
        'appendFileSync(log, "start " + env.SLUICE_CONFIG_CHANGED + " token=" + (env.SLUICE_AGENT_TOKEN ?? "none") + " args=" + process.argv.slice(2).join("+") + "\\n");',
        'setTimeout(() => appendFileSync(log, "end\\n"), 600);',
      ].join("\n"),
    );
    const configDir = join(dir, "command");
    const { agent } = await startAgent("com.example.orders:prod:hooked", configDir, [
      "--config-command",
      `${process.execPath} ${script} a b`,
    ]);
    const lines = () => (read(log) ?? "").split("\n").filter(Boolean);
    const ends = () => lines().filter((l) => l === "end").length;
    // No cache: the start's fetch is a change (release 1), so the command runs once.
    await until(() => ends() === 1, 5000, "the run for the start's fetch");
    expect(lines()[0]).toBe("start hooked token=none args=a+b");

    server.release("hooked", "v=2");
    await until(() => lines().length === 3, 5000, "the run for v=2");
    server.release("hooked", "v=3"); // both during the run for v=2:
    await new Promise((r) => setTimeout(r, 100));
    server.release("hooked", "v=4");
    await until(() => ends() >= 3, 5000, "the run after it");
    await new Promise((r) => setTimeout(r, 800));
    // Never two at once, and the two changes during the second run made exactly one more run.
    expect(lines().map((l) => l.split(" ")[0])).toEqual(["start", "end", "start", "end", "start", "end"]);
    expect(read(join(configDir, "hooked.properties"))).toBe("v=4");
    await stopGracefully(agent);
  });
});
