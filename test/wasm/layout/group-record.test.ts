/**
 * The GROUPS record is declared once (wasm/layout/group-record.ts). These tests fail when what
 * follows from it drifts: the generated AssemblyScript constants and range check, the docs
 * table, control's layout, the writer's coverage of every option, and the API's ranges.
 * Fix a failure by running `node wasm/layout/generate.ts` (or `npm run build:wasm`).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { balancingField } from "../../../control/api/balancing-fields.ts";
import { BALANCER_CODES, GROUP, SECTION } from "../../../control/snapshot/layout.ts";
import { GROUP_BALANCING_DEFAULTS } from "../../../control/snapshot/options.ts";
import { apiRangeOf, FIELD_BYTES, GROUP_LAYOUT, GROUP_RECORD_BYTES } from "../../../wasm/layout/group-record.ts";
import { ASSEMBLY_PATH, GENERATED_DOCS, renderAssembly, withGenerated } from "../../../wasm/layout/render.ts";
import { BALANCER_KINDS } from "../../../wasm/reference/balancer-kinds.ts";

const root = new URL("../../../", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), "utf8");

/** Booleans and enums of `balancing` stored as GROUPS.flags bits, not as option fields. */
const FLAG_OPTIONS = ["routeRules.cellFallback", "ringHash.scale", "outlier.alwaysEjectOneHost"];

describe("generated from the GROUPS declaration", () => {
  it(`${ASSEMBLY_PATH} is up to date`, () => {
    expect(read(ASSEMBLY_PATH)).toBe(renderAssembly());
  });

  it.each(GENERATED_DOCS.map((d) => [d.path, d.part, d] as const))("%s: the %s is up to date", (path, part, d) => {
    const doc = read(path);
    expect(doc).toBe(withGenerated(doc, part, d.render()));
  });
});

describe("the declaration", () => {
  it("lays out 128 bytes, every field naturally aligned, names unique", () => {
    expect(GROUP_RECORD_BYTES).toBe(128);
    expect(SECTION.GROUPS.record).toBe(GROUP_RECORD_BYTES);
    for (const f of GROUP_LAYOUT) expect(f.offset % Math.min(4, FIELD_BYTES[f.type]), f.name).toBe(0);
    const names = GROUP_LAYOUT.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it("gives control's layout its offsets and balancer codes", () => {
    for (const f of GROUP_LAYOUT.filter((g) => g.name !== "reserved")) expect(GROUP[f.name], f.name).toBe(f.offset);
    expect(Object.entries(BALANCER_CODES)).toEqual(BALANCER_KINDS.map((kind, i) => [kind, i]));
  });

  it("stores every option of `balancing` exactly once (or as a flag bit)", () => {
    const stored = GROUP_LAYOUT.filter((f) => f.option).map((f) => (f.option!.part === null ? "" : f.option!.part + ".") + f.option!.key);
    const options = Object.entries(GROUP_BALANCING_DEFAULTS).flatMap(([part, value]) =>
      value !== null && typeof value === "object" ? Object.keys(value).map((key) => `${part}.${key}`) : part === "hashKey" ? [] : [part],
    );
    expect([...stored, ...FLAG_OPTIONS].sort()).toEqual(options.sort());
  });

  it("accepts the defaults, stored as the writer stores them", () => {
    for (const f of GROUP_LAYOUT.filter((g) => g.option)) {
      const { part, key, scale = 1 } = f.option!;
      const holder = (part === null ? GROUP_BALANCING_DEFAULTS : GROUP_BALANCING_DEFAULTS[part]) as unknown as Record<string, number>;
      const stored = Math.round(holder[key]! * scale);
      expect(stored, f.name).toBeGreaterThanOrEqual(f.min ?? 0);
      expect(stored, f.name).toBeLessThanOrEqual(f.max ?? 0xffffffff);
      expect(stored, f.name).toBeLessThan(2 ** (8 * FIELD_BYTES[f.type]));
    }
  });

  it("keeps the API's ranges inside what a reader accepts", () => {
    for (const f of GROUP_LAYOUT.filter((g) => g.option)) {
      const [low, high] = apiRangeOf(f.name).map((v) => v * (f.option!.scale ?? 1));
      expect(low, f.name).toBeGreaterThanOrEqual(f.min ?? 0);
      expect(high, f.name).toBeLessThanOrEqual(Math.min(f.max ?? Infinity, 2 ** (8 * FIELD_BYTES[f.type]) - 1));
    }
  });

  it("is what the API enforces: each option's bounds accepted, one step beyond refused", () => {
    // Cross-field rules (min ≤ max ring, base ≤ max ejection) and primes are tested in api-balancing.test.ts.
    const crossField = new Set(GROUP_LAYOUT.flatMap((g) => (g.atLeast ? [g.name, g.atLeast] : [])));
    for (const f of GROUP_LAYOUT.filter((g) => g.option && !g.prime && !crossField.has(g.name))) {
      const { part, key, scale = 1 } = f.option!;
      const [low, high] = apiRangeOf(f.name);
      const input = (v: number) => (part === null ? { [key]: v } : { [part]: { [key]: v } });
      const step = 1 / scale;
      expect(balancingField.safeParse(input(low)).success, `${f.name} ${low}`).toBe(true);
      expect(balancingField.safeParse(input(high)).success, `${f.name} ${high}`).toBe(true);
      expect(balancingField.safeParse(input(low - step)).success, `${f.name} ${low - step}`).toBe(false);
      expect(balancingField.safeParse(input(high + step)).success, `${f.name} ${high + step}`).toBe(false);
    }
  });
});
