/**
 * The gateway's reader of the FUNCTIONS section (wasm/functions-section.ts readFunctionsSection
 * and its decoder): it finds section 14 in a file the real writer made, returns null
 * when there is none, and refuses — with a FunctionsSectionError naming the field — a section
 * that is not what control writes, so the gateway can refuse the snapshot.
 */
import { describe, expect, it } from "vitest";
import type { ConfigModel } from "../../control/snapshot/model.ts";
import { writeSnapshot } from "../../control/snapshot/writer.ts";
import {
  decodeFunctionsSection,
  encodeFunctionsSection,
  type FunctionsSection,
  FunctionsSectionError,
  readFunctionsSection,
} from "../../wasm/functions-section.ts";
import { group, instance, route, section, view } from "../support/wasm-fixtures.ts";

const MODEL: ConfigModel = {
  groups: [group(1, "main", [instance(1, 10)])],
  policies: [],
  routes: [route(1, "*", "/"), route(2, "*", "/fn", { defaultGroup: "", function: "hello" })],
  functions: [
    {
      id: 5,
      appkey: "svc",
      name: "hello",
      activationTimeoutMs: 2500,
      stickiness: { from: "cookie", name: "uid" },
      targets: [
        { version: 1, percent: 70, tag: null, lane: null },
        { version: 2, percent: 30, tag: "canary", lane: "gray" },
      ],
      versions: [
        { id: 8, number: 1, instances: [instance(2, 10)] },
        { id: 9, number: 2, instances: [] },
      ],
    },
  ],
};

const write = (model: ConfigModel) => writeSnapshot(model, { version: 1n, builtAtMs: 1_700_000_000_000 });

/** GROUPS holds main, fn:hello, fn:hello@1, fn:hello@2, sorted by (appkey, name). */
const GROUP_COUNT = 4;

/** A valid section to break one field at a time. */
const VALID: FunctionsSection = {
  functions: [
    {
      id: 5,
      appkey: "svc",
      name: "hello",
      entryGroup: 0,
      activationTimeoutMs: 2500,
      stickiness: { from: "cookie", name: "uid" },
      targets: [
        { version: 1, group: 1, percent: 70, tag: null, lane: null },
        { version: 2, group: 2, percent: 30, tag: "canary", lane: "gray" },
      ],
    },
  ],
};

describe("readFunctionsSection", () => {
  it("reads the section the writer wrote, group indices into GROUPS (sorted by name)", () => {
    // Sorted: "fn:hello" < "fn:hello@1" < "fn:hello@2" < "main".
    // VALID is exactly what the writer makes of MODEL.
    expect(readFunctionsSection(write(MODEL), GROUP_COUNT)).toEqual(VALID);
  });

  it("returns null for a snapshot without functions", () => {
    expect(readFunctionsSection(write({ ...MODEL, functions: [], routes: [route(1, "*", "/")] }), 1)).toBeNull();
  });

  it("counts the groups from the file when not told", () => {
    expect(readFunctionsSection(write(MODEL))).toEqual(readFunctionsSection(write(MODEL), GROUP_COUNT));
  });

  it("refuses group indices not below the snapshot's group count", () => {
    expect(() => readFunctionsSection(write(MODEL), GROUP_COUNT - 2)).toThrow(/functions\[0\]\.targets\[1\]\.group: 2 is not below 2/);
  });

  it("refuses a directory entry out of bounds or a second FUNCTIONS entry", () => {
    const file = write(MODEL);
    const at = section(file, 14);
    const outside = file.slice();
    view(outside).setUint32(at.entry + 8, 1 << 30, true);
    expect(() => readFunctionsSection(outside, GROUP_COUNT)).toThrow(FunctionsSectionError);
    const twice = file.slice();
    view(twice).setUint32(section(twice, 13).entry, 14, true); // INTERN's entry now also says 14
    expect(() => readFunctionsSection(twice, GROUP_COUNT)).toThrow(/twice/);
  });
});

describe("decodeFunctionsSection", () => {
  const bytes = (json: unknown) => new TextEncoder().encode(JSON.stringify(json));
  /** VALID with field `key` of its function (or of its first target) set to `value`; undefined drops it. */
  const setFn = (key: string, value: unknown) => {
    const copy = structuredClone(VALID) as unknown as { functions: Record<string, unknown>[] };
    (copy.functions[0] as Record<string, unknown>)[key] = value;
    return encodeFunctionsSection(copy as unknown as FunctionsSection);
  };
  const setTarget = (key: string, value: unknown) => {
    const copy = structuredClone(VALID);
    (copy.functions[0]?.targets[0] as unknown as Record<string, unknown>)[key] = value;
    return encodeFunctionsSection(copy);
  };

  it("round-trips what encodeFunctionsSection writes", () => {
    expect(decodeFunctionsSection(encodeFunctionsSection(VALID), 3)).toEqual(VALID);
  });

  it.each([
    ["not JSON", new TextEncoder().encode("{"), /not UTF-8 JSON/],
    ["not UTF-8", new Uint8Array([0x7b, 0xff, 0x7d]), /not UTF-8 JSON/],
    ["functions missing", bytes({}), /functions: not an array/],
    ["entry group out of range", setFn("entryGroup", 3), /functions\[0\]\.entryGroup: 3 is not below 3/],
    ["negative group", setTarget("group", -1), /targets\[0\]\.group/],
    ["percents not 100", setTarget("percent", 60), /percents sum to 90/],
    ["percent fraction", setTarget("percent", 69.5), /targets\[0\]\.percent/],
    ["duplicate tag", setTarget("tag", "canary"), /tag is used twice/],
    ["duplicate lane", setTarget("lane", "gray"), /lane is used twice/],
    ["empty lane", setTarget("lane", ""), /targets\[0\]\.lane/],
    ["bad stickiness", setFn("stickiness", { from: "body", name: "x" }), /stickiness\.from/],
    ["missing timeout", setFn("activationTimeoutMs", undefined), /activationTimeoutMs/],
    ["name not a string", setFn("name", 7), /functions\[0\]\.name/],
  ])("refuses %s", (_, input, message) => {
    expect(() => decodeFunctionsSection(input, 3)).toThrow(FunctionsSectionError);
    expect(() => decodeFunctionsSection(input, 3)).toThrow(message);
  });
});
