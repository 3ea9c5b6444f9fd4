/**
 * The function runtime's pure parts, as tables: the queue-proxy's concurrency averaging and
 * admission (concurrency.ts), the reconcile plan (plan.ts), the workerd config (workerd-config.ts),
 * the bundle encoding (bundle.ts, pinned to control's) and the `--functions` command line.
 */
import { describe, expect, it } from "vitest";
import { parseAgentArgs, UsageError } from "../../../agents/args.ts";
import { bundleSha256, decodeBundleAnswer, encodeBundle, isSafeModuleName } from "../../../agents/functions/bundle.ts";
import { admit, changeInFlight, readMeter, startMeter } from "../../../agents/functions/concurrency.ts";
import { type Action, type CurrentInstance, planReconcile, specKeyOf } from "../../../agents/functions/plan.ts";
import { capnpText, renderInstanceConfig } from "../../../agents/functions/workerd-config.ts";
import { encodeBundle as controlEncode, bundleSha256 as controlSha256 } from "../../../control/functions/bundle.ts";

describe("concurrency meter: time-weighted average in flight", () => {
  // Each case: events [atMs, delta] from a meter started at 0, read at `readAt`.
  const cases: { name: string; events: [number, number][]; readAt: number; want: number }[] = [
    { name: "idle", events: [], readAt: 1000, want: 0 },
    { name: "one request the whole window", events: [[0, +1]], readAt: 1000, want: 1 },
    // 1 × 500 ms / 1000 ms = 0.5
    {
      name: "one request half the window",
      events: [
        [250, +1],
        [750, -1],
      ],
      readAt: 1000,
      want: 0.5,
    },
    // (1 × 500 + 2 × 500) / 1000 = 1.5
    {
      name: "one, then two",
      events: [
        [0, +1],
        [500, +1],
      ],
      readAt: 1000,
      want: 1.5,
    },
    // (3 × 100 + 1 × 100) / 400 = 1
    {
      name: "burst of three, two end",
      events: [
        [0, +1],
        [0, +1],
        [0, +1],
        [100, -1],
        [100, -1],
        [200, -1],
      ],
      readAt: 400,
      want: 1,
    },
    // A clock going back adds no time: 1 × 100 / 100.
    {
      name: "clock going backwards",
      events: [
        [100, +1],
        [50, 0],
      ],
      readAt: 200,
      want: 0.5,
    },
    {
      name: "empty window reports what is in flight",
      events: [
        [0, +1],
        [0, +1],
      ],
      readAt: 0,
      want: 2,
    },
  ];
  it.each(cases)("$name", ({ events, readAt, want }) => {
    let meter = startMeter(0);
    for (const [at, delta] of events) meter = changeInFlight(meter, at, delta);
    expect(readMeter(meter, readAt).concurrency).toBeCloseTo(want, 9);
  });

  it("starts the next window where the last ended, with what is still in flight", () => {
    let meter = changeInFlight(startMeter(0), 0, +2);
    const first = readMeter(meter, 1000);
    expect(first).toMatchObject({ concurrency: 2, windowMs: 1000 });
    meter = changeInFlight(first.next, 1500, -2);
    // 2 × 500 / 1000 = 1
    expect(readMeter(meter, 2000)).toMatchObject({ concurrency: 1, windowMs: 1000 });
  });

  it("never counts below zero", () => {
    expect(changeInFlight(startMeter(0), 10, -1).inFlight).toBe(0);
  });
});

describe("admit: containerConcurrency with a queue of 10 × the limit", () => {
  const cases: { limit: number; inFlight: number; queued: number; want: string }[] = [
    { limit: 0, inFlight: 10_000, queued: 0, want: "run" }, // 0 = unlimited
    { limit: 1, inFlight: 0, queued: 0, want: "run" },
    { limit: 1, inFlight: 1, queued: 0, want: "queue" },
    { limit: 1, inFlight: 1, queued: 9, want: "queue" }, // the 10th waiter
    { limit: 1, inFlight: 1, queued: 10, want: "reject" }, // 10 × 1 already waiting
    { limit: 4, inFlight: 3, queued: 0, want: "run" },
    { limit: 4, inFlight: 4, queued: 39, want: "queue" },
    { limit: 4, inFlight: 4, queued: 40, want: "reject" },
    // A free slot with waiters left: queue behind them (FIFO), never overtake.
    { limit: 2, inFlight: 1, queued: 1, want: "queue" },
  ];
  it.each(cases)("limit $limit, $inFlight in flight, $queued queued → $want", ({ limit, inFlight, queued, want }) => {
    expect(admit(limit, inFlight, queued)).toBe(want);
  });
});

describe("planReconcile", () => {
  const i = (key: string, specKey: string, state: CurrentInstance["state"], startedAtMs: number): CurrentInstance => ({
    key,
    specKey,
    state,
    startedAtMs,
  });
  const cases: { name: string; assigned: { specKey: string; desired: number }[]; current: CurrentInstance[]; want: Action[] }[] = [
    { name: "nothing to do", assigned: [], current: [], want: [] },
    {
      name: "start up to desired, in parallel",
      assigned: [{ specKey: "A", desired: 2 }],
      current: [],
      want: [
        { kind: "start", specKey: "A" },
        { kind: "start", specKey: "A" },
      ],
    },
    {
      name: "starting instances count",
      assigned: [{ specKey: "A", desired: 2 }],
      current: [i("a1", "A", "starting", 1)],
      want: [{ kind: "start", specKey: "A" }],
    },
    {
      name: "draining instances do not count",
      assigned: [{ specKey: "A", desired: 1 }],
      current: [i("a1", "A", "draining", 1)],
      want: [{ kind: "start", specKey: "A" }],
    },
    {
      name: "a failed instance holds its slot (no respawn loop)",
      assigned: [{ specKey: "A", desired: 1 }],
      current: [i("a1", "A", "failed", 1)],
      want: [],
    },
    {
      name: "above desired: drain the newest",
      assigned: [{ specKey: "A", desired: 1 }],
      current: [i("a1", "A", "ready", 1), i("a3", "A", "ready", 3), i("a2", "A", "ready", 2)],
      want: [
        { kind: "drain", key: "a3" },
        { kind: "drain", key: "a2" },
      ],
    },
    {
      name: "above desired: failed ones go first, removed rather than drained",
      assigned: [{ specKey: "A", desired: 1 }],
      current: [i("a1", "A", "ready", 1), i("a2", "A", "failed", 2)],
      want: [{ kind: "remove", key: "a2" }],
    },
    {
      name: "desired 0: drain all",
      assigned: [{ specKey: "A", desired: 0 }],
      current: [i("a1", "A", "ready", 1), i("a2", "A", "starting", 2)],
      want: [
        { kind: "drain", key: "a2" },
        { kind: "drain", key: "a1" },
      ],
    },
    {
      name: "a spec no longer assigned: drain its instances, remove its failed ones; start the new spec",
      assigned: [{ specKey: "A2", desired: 1 }],
      current: [i("a1", "A", "ready", 1), i("a2", "A", "failed", 2), i("b1", "B", "draining", 1)],
      want: [
        { kind: "start", specKey: "A2" },
        { kind: "remove", key: "a2" },
        { kind: "drain", key: "a1" },
      ],
    },
  ];
  it.each(cases)("$name", ({ assigned, current, want }) => {
    expect(planReconcile(assigned, current)).toEqual(want);
  });
});

describe("specKeyOf", () => {
  const base = {
    appkey: "a",
    function: "f",
    version: 1,
    sha256: "0".repeat(64),
    main: "main.js",
    compatibilityDate: "2026-07-01",
    env: { B: "2", A: "1" },
    allowOutbound: false,
    containerConcurrency: 0,
  };
  it("ignores env order, changes with any setting", () => {
    expect(specKeyOf(base)).toBe(specKeyOf({ ...base, env: { A: "1", B: "2" } }));
    for (const change of [{ version: 2 }, { env: { A: "1" } }, { allowOutbound: true }, { containerConcurrency: 1 }, { main: "x.js" }]) {
      expect(specKeyOf({ ...base, ...change })).not.toBe(specKeyOf(base));
    }
  });
});

describe("workerd config", () => {
  it.each([
    ["plain", '"plain"'],
    ['say "hi"', '"say \\"hi\\""'],
    ["back\\slash", '"back\\\\slash"'],
    ["line\nbreak\ttab", '"line\\x0abreak\\x09tab"'],
    ["é ✓", '"é ✓"'],
  ])("capnpText(%j) = %s", (value, want) => {
    expect(capnpText(value)).toBe(want);
  });

  const spec = {
    modules: [
      { name: "lib/util.js", type: "esm" as const },
      { name: "main.js", type: "esm" as const },
      { name: "hot.wasm", type: "wasm" as const },
    ],
    main: "main.js",
    compatibilityDate: "2026-07-01",
    env: { GREETING: "hi" },
    allowOutbound: false,
    emptyDir: "/data/empty",
  };

  it("puts the main module first, embeds wasm as wasm, binds env as text, refuses every address", () => {
    const text = renderInstanceConfig(spec);
    expect(text).toContain(
      '(name = "main.js", esModule = embed "modules/main.js"),\n    (name = "lib/util.js", esModule = embed "modules/lib/util.js")',
    );
    expect(text).toContain('(name = "hot.wasm", wasm = embed "modules/hot.wasm")');
    expect(text).toContain('(name = "GREETING", text = "hi")');
    expect(text).toContain("network = (allow = [])");
    expect(text).toContain('globalOutbound = "outbound"');
    expect(text).toContain('compatibilityDate = "2026-07-01"');
    expect(text).toContain('disk = (path = "/data/empty")');
  });

  it("allows public, private and local addresses with allowOutbound", () => {
    expect(renderInstanceConfig({ ...spec, allowOutbound: true })).toContain('network = (allow = ["public", "private", "local"])');
  });

  it("refuses a main that is not an ES module of the bundle", () => {
    expect(() => renderInstanceConfig({ ...spec, main: "hot.wasm" })).toThrow(/not an ES module/);
  });
});

describe("bundle encoding (agents' copy of control's)", () => {
  const modules = [
    { name: "main.js", type: "esm" as const, content: new TextEncoder().encode("export default {}") },
    { name: "a/b.wasm", type: "wasm" as const, content: new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]) },
    { name: "z.js", type: "esm" as const, content: new Uint8Array() },
  ];
  it("is byte-for-byte control's, whatever the module order", () => {
    expect(encodeBundle(modules)).toEqual(controlEncode(modules));
    expect(encodeBundle([...modules].reverse())).toEqual(controlEncode(modules));
    expect(bundleSha256(modules)).toBe(controlSha256(controlEncode(modules)));
  });

  const answer = (list: { name: string; type: string; content: Uint8Array }[]) => ({
    modules: list.map((m) => ({ name: m.name, type: m.type, content: Buffer.from(m.content).toString("base64") })),
  });

  it("decodes an answer whose SHA-256 matches", () => {
    expect(decodeBundleAnswer(answer(modules), bundleSha256(modules)).map((m) => m.name)).toEqual(["main.js", "a/b.wasm", "z.js"]);
  });

  it.each([
    ["a changed byte", answer([{ ...modules[0], content: new TextEncoder().encode("export default {} ") }]), /does not match/],
    ["an unsafe name", answer([{ ...modules[0], name: "../escape.js" }]), /safe relative name/],
    ["an unknown type", answer([{ ...modules[0], type: "text" }]), /esm or wasm/],
    ["no modules", {}, /no modules/],
  ])("refuses %s", (_name, body, error) => {
    expect(() => decodeBundleAnswer(body, bundleSha256(modules))).toThrow(error);
  });

  it.each([
    ["main.js", true],
    ["lib/x.mjs", true],
    ["../x.js", false],
    ["/abs.js", false],
    ["a/./b.js", false],
    ["a//b.js", false],
  ])("isSafeModuleName(%j) = %s", (name, want) => {
    expect(isSafeModuleName(name)).toBe(want);
  });
});

describe("--functions", () => {
  const control = ["--control", "http://127.0.0.1:7400"];
  it("takes node fields and defaults", () => {
    expect(parseAgentArgs([...control, "--functions", "--node", "n1", "--zone", "z1", "--lane", "gray"]).functions).toEqual({
      node: "n1",
      host: "127.0.0.1",
      dataDir: ".sluice/agent-functions",
      zone: "z1",
      region: "",
      cell: "",
      lane: "gray",
    });
    // main.ts puts the hostname in for an empty node name.
    expect(parseAgentArgs([...control, "--functions"]).functions?.node).toBe("");
    expect(parseAgentArgs([...control, "--appkey", "com.a", "--group", "g", "--port", "1"]).functions).toBeNull();
  });
  it.each([
    [["--functions", "--appkey", "com.a", "--group", "g", "--port", "1"], /no instance flags/],
    [["--node", "n1", "--appkey", "com.a", "--group", "g", "--port", "1"], /go with --functions/],
    [["--functions", "--zone", "has space"], /--zone/],
  ])("refuses %j", (args, error) => {
    expect(() => parseAgentArgs([...control, ...args])).toThrow(UsageError);
    expect(() => parseAgentArgs([...control, ...args])).toThrow(error);
  });
});
