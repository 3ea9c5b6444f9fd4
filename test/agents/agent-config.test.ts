/**
 * The agent's pure parts, as tables: its command line (args.ts), its instances file (YAML or
 * JSON, instances-file.ts) and the APISIX-style health-check counter (check-state.ts).
 */
import { describe, expect, it } from "vitest";
import { parseAgentArgs, UsageError } from "../../agents/args.ts";
import { type CheckState, INITIAL_CHECK_STATE, nextCheckState } from "../../agents/check-state.ts";
import { parseInstancesFile } from "../../agents/instances-file.ts";

const control = ["--control", "http://127.0.0.1:7400"];

describe("parseAgentArgs", () => {
  it("builds one instance from flags, with APISIX check defaults", () => {
    const config = parseAgentArgs([
      ...control,
      ...[
        "--appkey",
        "com.example.orders",
        "--group",
        "stable",
        "--port",
        "9101",
        "--zone",
        "z1",
        "--metadata",
        "commit=abc",
        "--metadata",
        "team=x",
      ],
      ...["--check", "http:/healthz", "--persistent"],
    ]);
    expect(config.controlUrl).toBe("http://127.0.0.1:7400");
    expect(config.drain).toEqual({ timeoutMs: 30_000, graceMs: 1000 });
    expect(config.instances).toEqual([
      expect.objectContaining({
        appkey: "com.example.orders",
        group: "stable",
        host: "127.0.0.1",
        port: 9101,
        weight: 10,
        registration: "persistent",
        zone: "z1",
        metadata: { commit: "abc", team: "x" },
        check: { type: "http", path: "/healthz", intervalMs: 1000, timeoutMs: 1000, healthySuccesses: 2, unhealthyFailures: 5 },
      }),
    ]);
  });

  it("defaults a TCP check to 2 failures (APISIX tcp_failures)", () => {
    const config = parseAgentArgs([...control, "--appkey", "svc", "--group", "g", "--port", "1", "--check", "tcp"]);
    expect(config.instances[0].check).toMatchObject({ type: "tcp", unhealthyFailures: 2 });
  });

  it("leaves instances to the file when --file is given", () => {
    const config = parseAgentArgs([...control, "--file", "/etc/sluice/instances.yaml", "--drain-timeout-ms", "5000"]);
    expect(config).toMatchObject({ instancesFile: "/etc/sluice/instances.yaml", instances: [], drain: { timeoutMs: 5000 } });
  });

  const bad: [string, string[], RegExp][] = [
    ["no control", ["--appkey", "svc", "--group", "g", "--port", "1"], /--control is required/],
    ["a bad URL", ["--control", "nope", "--appkey", "svc"], /--control: not a URL/],
    ["no port", [...control, "--appkey", "svc", "--group", "g"], /--port are required/],
    ["a bad port", [...control, "--appkey", "svc", "--group", "g", "--port", "x"], /--port: expected a non-negative integer/],
    ["a port out of range", [...control, "--appkey", "svc", "--group", "g", "--port", "70000"], /port/],
    [
      "a bad check",
      [...control, "--appkey", "svc", "--group", "g", "--port", "1", "--check", "udp"],
      /--check: expected http:\/path or tcp/,
    ],
    ["a bad metadata pair", [...control, "--appkey", "svc", "--group", "g", "--port", "1", "--metadata", "nokey"], /--metadata/],
    ["a token flag (tokens never go on the command line)", [...control, "--token", "x"], /Unknown option '--token'/],
    ["both --file and flags", [...control, "--file", "f", "--appkey", "svc"], /either --file or the instance flags/],
  ];
  it.each(bad)("refuses %s", (_name, argv, message) => {
    expect(() => parseAgentArgs(argv)).toThrow(UsageError);
    expect(() => parseAgentArgs(argv)).toThrow(message);
  });
});

describe("parseInstancesFile", () => {
  it("reads YAML with several instances", () => {
    const specs = parseInstancesFile(
      `instances:
  - appkey: com.example.orders
    group: stable
    port: 9101
    check: { type: http, path: /healthz, intervalMs: 500 }
  - { appkey: com.example.search, group: main, port: 9201, registration: persistent, check: { type: tcp } }
`,
      "instances.yaml",
    );
    expect(specs.map((s) => [s.appkey, s.port, s.registration, s.check?.type, s.check?.intervalMs])).toEqual([
      ["com.example.orders", 9101, "ephemeral", "http", 500],
      ["com.example.search", 9201, "persistent", "tcp", 1000],
    ]);
  });

  it("reads a bare JSON list", () => {
    expect(parseInstancesFile('[{"appkey": "svc", "group": "g", "port": 1}]', "x.json")).toHaveLength(1);
  });

  const bad: [string, string, RegExp][] = [
    ["not YAML", "instances: [", /x.yaml: not YAML or JSON/],
    ["no instances", "instances: []", /x.yaml: instances/],
    ["a bad port, naming its path", "instances:\n  - { appkey: svc, group: g, port: 0 }", /instances\.0\.port/],
    ["an unknown field", "instances:\n  - { appkey: svc, group: g, port: 1, colour: red }", /colour/],
    ["a duplicate", "- { appkey: svc, group: g, port: 1 }\n- { appkey: svc, group: g, port: 1 }", /listed twice/],
  ];
  it.each(bad)("refuses %s", (_name, text, message) => {
    expect(() => parseInstancesFile(text, "x.yaml")).toThrow(message);
  });
});

describe("nextCheckState (APISIX active checks)", () => {
  const t = { healthySuccesses: 2, unhealthyFailures: 3 };
  const run = (results: boolean[], from: CheckState = INITIAL_CHECK_STATE) => results.reduce((s, ok) => nextCheckState(s, ok, t), from);
  const healthy: CheckState = { healthy: true, successes: 0, failures: 0 };
  const cases: [string, boolean[], CheckState, boolean][] = [
    ["starts unhealthy", [], INITIAL_CHECK_STATE, false],
    ["one pass is not enough (2 needed)", [true], INITIAL_CHECK_STATE, false],
    ["two passes: healthy", [true, true], INITIAL_CHECK_STATE, true],
    ["a failure resets the passes", [true, false, true], INITIAL_CHECK_STATE, false],
    ["two failures of 3: still healthy", [false, false], healthy, true],
    ["three failures: unhealthy", [false, false, false], healthy, false],
    ["a pass resets the failures", [false, false, true, false, false], healthy, true],
    ["flapping never turns healthy at 2", [true, false, true, false], INITIAL_CHECK_STATE, false],
  ];
  it.each(cases)("%s", (_name, results, from, want) => {
    expect(run(results, from).healthy).toBe(want);
  });
});
