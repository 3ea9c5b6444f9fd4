/**
 * The config center's pure parts, as tables: format parsing with line and column, schema
 * violations as JSON pointers, the 1 MiB cap, gray rule matching (ids, addresses, labels AND
 * across keys / OR within one), the effective release, and the properties rebase of #1677.
 */
import { describe, expect, it } from "vitest";
import { checkContent, MAX_CONTENT_BYTES } from "../../../control/config-center/content-check.ts";
import { changedReleases, effectiveRelease, type NamespaceDelivery } from "../../../control/config-center/effective.ts";
import { type ConfigFormat, parseContent } from "../../../control/config-center/formats.ts";
import { type GrayRules, grayMatches, type InstanceIdentity } from "../../../control/config-center/gray-rules.ts";
import { compileSchema, type SchemaCheck } from "../../../control/config-center/json-schema.ts";
import { propertiesChanges, rebaseProperties } from "../../../control/config-center/properties-rebase.ts";

describe("parseContent", () => {
  const cases: [ConfigFormat, string, { line: number; column: number } | "ok"][] = [
    ["json", '{"a": 1}', "ok"],
    ["json", '{\n  "a": 1,\n}', { line: 3, column: 1 }],
    ["json", '{\n  "a": tru\n}', { line: 2, column: 11 }],
    ["json", "[1,\n 2,,\n]", { line: 2, column: 4 }],
    ["json", '{"a": "x\ty"}', { line: 1, column: 9 }],
    ["json", '{"a": 1} x', { line: 1, column: 10 }],
    ["json", '{"a":', { line: 1, column: 6 }],
    ["yaml", "a: 1\nb: [1, 2]\n", "ok"],
    ["yaml", "a: 1\n b: 2\n", { line: 1, column: 4 }],
    ["yaml", "a: 1\na: 2\n", { line: 2, column: 1 }],
    ["yaml", "a: 1\n---\nb: 2\n", { line: 2, column: 1 }],
    ["properties", "a=1\nb : 2\n# comment\n", "ok"],
    ["text", "anything { at all", "ok"],
  ];
  it.each(cases)("%s %j → %j", (format, content, expected) => {
    const parsed = parseContent(format, content);
    if (expected === "ok") expect(parsed.ok).toBe(true);
    else expect(parsed.ok ? null : { line: parsed.problem.line, column: parsed.problem.column }).toEqual(expected);
  });

  it("gives what a schema sees: properties as an object of strings, YAML 1.2 core", () => {
    expect(parseContent("properties", "db.port=5432\nname = x y\n")).toEqual({ ok: true, value: { "db.port": "5432", name: "x y" } });
    // YAML 1.2 core: `on` is a string (YAML 1.1 read it as true).
    expect(parseContent("yaml", "flag: on\nn: 010\n")).toEqual({ ok: true, value: { flag: "on", n: 10 } });
  });
});

describe("checkContent with a schema", () => {
  const schema = compileSchema({
    type: "object",
    properties: { db: { type: "object", properties: { port: { type: "integer" } }, required: ["host"] } },
  }) as SchemaCheck;
  const cases: [ConfigFormat, string, string | null][] = [
    ["json", '{"db": {"host": "h", "port": 5432}}', null],
    ["json", '{"db": {"host": "h", "port": "x"}}', "/db/port"],
    ["yaml", "db:\n  port: 1\n", "/db/host"],
    ["json", "[]", ""],
  ];
  it.each(cases)("%s %j → pointer %j", (format, content, pointer) => {
    const problem = checkContent(format, content, schema);
    expect(problem?.pointer ?? null).toBe(pointer);
  });

  it("refuses content nested deeper than the stack (400, not 500)", () => {
    const deep = `${"[".repeat(200_000)}${"]".repeat(200_000)}`;
    const recursive = compileSchema({
      $defs: { node: { type: "array", items: { $ref: "#/$defs/node" } } },
      $ref: "#/$defs/node",
    }) as SchemaCheck;
    for (const format of ["json", "yaml"] as const) {
      const problem = checkContent(format, deep, recursive);
      expect(problem?.message).toEqual(expect.any(String));
    }
  });

  it("refuses an invalid schema, and content over 1 MiB", () => {
    expect(compileSchema({ type: "nope" })).toHaveProperty("error");
    expect(checkContent("text", "x".repeat(MAX_CONTENT_BYTES), null)).toBeNull();
    expect(checkContent("text", "x".repeat(MAX_CONTENT_BYTES + 1), null)?.message).toMatch(/over the 1048576-byte limit/);
  });
});

describe("grayMatches", () => {
  const rules: GrayRules = {
    instanceIds: ["pod-7"],
    addresses: ["10.0.0.1", "10.0.0.2:8080", "fd00::1"],
    labels: { zone: ["z1", "z2"], lane: ["blue"] },
  };
  const cases: [string, InstanceIdentity, boolean][] = [
    ["listed id", { instanceId: "pod-7" }, true],
    ["other id", { instanceId: "pod-8" }, false],
    ["bare IP listed: any port", { address: "10.0.0.1:9000" }, true],
    ["ip:port listed: that port", { address: "10.0.0.2:8080" }, true],
    ["ip:port listed: not another port", { address: "10.0.0.2:9090" }, false],
    ["IPv6 bracketed", { address: "[fd00::1]:80" }, true],
    ["labels: every key matches (OR within zone)", { zone: "z2", lane: "blue" }, true],
    ["labels: one key misses", { zone: "z1", lane: "green" }, false],
    ["labels: one key absent", { zone: "z1" }, false],
    ["nothing", {}, false],
  ];
  it.each(cases)("%s", (_name, who, expected) => {
    expect(grayMatches(rules, who)).toBe(expected);
  });
  it("without labels, labels never match", () => {
    expect(grayMatches({ instanceIds: ["a"] }, { zone: "z1" })).toBe(false);
  });
});

describe("effectiveRelease and changedReleases", () => {
  const ns = (gray: NamespaceDelivery["gray"]): NamespaceDelivery => ({ name: "app", format: "json", main: { id: 5, hash: "m" }, gray });
  const rules: GrayRules = { instanceIds: ["g"] };
  it("gives main, or a published matching gray's release", () => {
    expect(effectiveRelease(ns(null), { instanceId: "g" })).toEqual({ release: 5, hash: "m", gray: null });
    expect(effectiveRelease(ns({ id: 1, rules, release: null }), { instanceId: "g" })?.release).toBe(5);
    expect(effectiveRelease(ns({ id: 1, rules, release: { id: 9, hash: "g" } }), { instanceId: "g" })).toEqual({
      release: 9,
      hash: "g",
      gray: 1,
    });
    expect(effectiveRelease(ns({ id: 1, rules, release: { id: 9, hash: "g" } }), { instanceId: "x" })?.release).toBe(5);
    expect(effectiveRelease({ name: "e", format: "text", main: null, gray: null }, {})).toBeNull();
  });
  it("lists what differs from known, a missing namespace as 0", () => {
    const state = new Map([["app", ns(null)]]);
    expect(changedReleases(new Map([["app", 5]]), state, {})).toEqual([]);
    expect(
      changedReleases(
        new Map([
          ["app", 4],
          ["gone", 3],
          ["never", 0],
        ]),
        state,
        {},
      ),
    ).toEqual([
      { namespace: "app", release: 5 },
      { namespace: "gone", release: 0 },
    ]);
  });
});

describe("properties rebase (#1677)", () => {
  it("re-applies the gray's own changes to the new main, keeping main's lines", () => {
    const base = "a=1\nb=2\nc=3\n";
    const gray = "a=1\nb=20\nd=4\n";
    expect(propertiesChanges(base, gray)).toEqual({ set: { b: "20", d: "4" }, removed: ["c"] });
    // main changed a, added e and a comment: those stay; the gray's b, d and removal of c apply.
    expect(rebaseProperties(base, gray, "# main\na=10\nb=2\nc=3\ne=5\n")).toBe("# main\na=10\nb=20\ne=5\nd=4\n");
  });
  it("leaves main as is when the gray changed nothing", () => {
    expect(rebaseProperties("a=1\n", "a=1\n", "a=2\n# x\n")).toBe("a=2\n# x\n");
  });
});
