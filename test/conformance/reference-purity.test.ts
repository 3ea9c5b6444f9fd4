/**
 * The reference stays pure and self-contained, as docs/balancing.md promises the WASM port. Lint
 * enforces its imports (siblings only) and the globals it may not read (clock, timers, process,
 * fetch: biome.json, checked by test/lint/import-rules.test.ts); what lint cannot say per member
 * is checked here: no Math.random and no dynamic import().
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const DIR = join(import.meta.dirname, "../../wasm/reference");
const files = readdirSync(DIR).filter((f) => f.endsWith(".ts"));

describe("wasm/reference", () => {
  it("has modules to check", () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it.each(files)("%s uses no Math.random and no dynamic import()", (file) => {
    // Code only: comments may name what the code must not use.
    const source = readFileSync(join(DIR, file), "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/\/\/.*$/gm, "");
    expect(source).not.toMatch(/Math\.random|\bimport\(/);
  });

  it("stays in modules of about 200 lines or fewer", () => {
    for (const file of files) expect(readFileSync(join(DIR, file), "utf8").split("\n").length, file).toBeLessThanOrEqual(220);
  });
});
