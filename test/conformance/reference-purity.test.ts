/**
 * The reference stays pure and self-contained, as docs/balancing.md promises the WASM port:
 * wasm/reference imports only its own modules and never reads the clock or Math.random or
 * touches I/O. (A lint rule would be better; biome.json is not this change's to edit.)
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

  it.each(files)("%s imports only ./ siblings and uses no clock, Math.random or I/O", (file) => {
    // Code only: comments may name what the code must not use.
    const source = readFileSync(join(DIR, file), "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/\/\/.*$/gm, "");
    const specifiers = [...source.matchAll(/(?:import|export)[^"']*?from\s+["']([^"']+)["']/g)].map((m) => m[1]!);
    expect(specifiers.filter((s) => !/^\.\/[a-z0-9-]+\.ts$/.test(s))).toEqual([]);
    expect(source).not.toMatch(
      /\bDate\.now\b|\bnew Date\b|Math\.random|performance\.now|\bfetch\(|\bprocess\.|setTimeout|setInterval|\brequire\(|import\(/,
    );
  });

  it("stays in modules of about 200 lines or fewer", () => {
    for (const file of files) expect(readFileSync(join(DIR, file), "utf8").split("\n").length, file).toBeLessThanOrEqual(220);
  });
});
