/**
 * The dependency rules of README "Dependencies point one way" hold because lint refuses what
 * breaks them: each case plants one import (or global) in a scratch copy of the tree's layout,
 * linted with the repository's own biome.json (and, for wasm/assembly, which Biome cannot parse,
 * with test/lint/assembly-imports.ts), and expects exactly the forbidden plants to be flagged.
 * The allowed cases keep a rule from passing by forbidding everything.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assemblyImportViolations } from "./assembly-imports.ts";

const ROOT = join(import.meta.dirname, "../..");

interface Plant {
  /** Where the planted file goes, relative to the tree root. */
  file: string;
  /** What it imports, or the global it reads (`global:Name`). */
  uses: string;
  forbidden: boolean;
}

/** One forbidden use per rule (the leaks of issue 11 among them), and uses each rule must allow. */
const PLANTS: Plant[] = [
  { file: "wasm/leak-control.ts", uses: "../control/api/app.ts", forbidden: true },
  { file: "wasm/leak-node.ts", uses: "node:fs", forbidden: true },
  { file: "wasm/leak-package.ts", uses: "hono", forbidden: true },
  { file: "wasm/reference/leak-up.ts", uses: "../host.ts", forbidden: true },
  { file: "wasm/reference/leak-clock.ts", uses: "global:Date", forbidden: true },
  { file: "wasm/reference/leak-timer.ts", uses: "global:setTimeout", forbidden: true },
  { file: "worker/leak-control.ts", uses: "../control/snapshot/layout.ts", forbidden: true },
  { file: "worker/leak-agents.ts", uses: "../agents/agent.ts", forbidden: true },
  { file: "worker/leak-node.ts", uses: "node:fs", forbidden: true },
  { file: "worker/launcher/leak-control.ts", uses: "../../control/main.ts", forbidden: true },
  { file: "agents/leak-control.ts", uses: "../control/api/app.ts", forbidden: true },
  { file: "agents/leak-wasm.ts", uses: "../wasm/host.ts", forbidden: true },
  { file: "control/snapshot/leak-worker.ts", uses: "../../worker/gateway.ts", forbidden: true },
  { file: "control/registry/leak-agents.ts", uses: "../../agents/agent.ts", forbidden: true },
  { file: "control/compiler/leak-db.ts", uses: "../db/schema.ts", forbidden: true },
  { file: "control/compiler/emit/leak-db.ts", uses: "../../db/schema.ts", forbidden: true },
  { file: "control/compiler/leak-node.ts", uses: "node:crypto", forbidden: true },
  { file: "control/compiler/leak-drizzle.ts", uses: "drizzle-orm", forbidden: true },
  { file: "control/registry/health.ts", uses: "pg", forbidden: true },
  { file: "control/snapshot/writer.ts", uses: "hono", forbidden: true },
  { file: "agents/check-state.ts", uses: "node:net", forbidden: true },
  { file: "control/registry/leak-api.ts", uses: "../api/write.ts", forbidden: true },
  { file: "control/leak-api.ts", uses: "./api/app.ts", forbidden: true },
  { file: "control/config/leak-hono.ts", uses: "hono", forbidden: true },
  { file: "control/config/leak-api.ts", uses: "../api/errors.ts", forbidden: true },
  { file: "control/demo/leak-api.ts", uses: "../api/app.ts", forbidden: true },
  { file: "wasm/assembly/lb/leak.ts", uses: "../../../control/snapshot/layout.ts", forbidden: true },
  { file: "wasm/assembly/leak-package.ts", uses: "as-bignum", forbidden: true },
  { file: "wasm/uses-reference.ts", uses: "./reference/index.ts", forbidden: false },
  { file: "wasm/reference/uses-sibling.ts", uses: "./select.ts", forbidden: false },
  { file: "worker/uses-wasm.ts", uses: "../wasm/host.ts", forbidden: false },
  { file: "worker/launcher/uses-node.ts", uses: "node:child_process", forbidden: false },
  { file: "control/snapshot/uses-wasm.ts", uses: "../../wasm/reference/balancers.ts", forbidden: false },
  { file: "control/registry/uses-db.ts", uses: "../db/schema.ts", forbidden: false },
  { file: "control/api/uses-config.ts", uses: "../config/write.ts", forbidden: false },
  { file: "control/server.ts", uses: "./api/app.ts", forbidden: false },
  { file: "control/demo/uses-launcher.ts", uses: "../../worker/launcher/gateway.ts", forbidden: false },
  { file: "agents/uses-sibling.ts", uses: "./spec.ts", forbidden: false },
  { file: "wasm/assembly/lb/uses-parent.ts", uses: "../format", forbidden: false },
];

function source(uses: string): string {
  if (uses.startsWith("global:")) return `export const planted = ${uses.slice("global:".length)};\n`;
  return `import * as planted from "${uses}";\nexport const used = planted;\n`;
}

let scratch: string;
/** Planted files that lint flagged, with the rule. */
const flagged = new Map<string, string[]>();

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "sluice-lint-"));
  copyFileSync(join(ROOT, "biome.json"), join(scratch, "biome.json"));
  for (const plant of PLANTS) {
    mkdirSync(dirname(join(scratch, plant.file)), { recursive: true });
    writeFileSync(join(scratch, plant.file), source(plant.uses));
  }
  let report: string;
  try {
    report = execFileSync(join(ROOT, "node_modules/.bin/biome"), ["lint", "--reporter=json", "--max-diagnostics=none", "."], {
      cwd: scratch,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (error) {
    report = (error as { stdout: string }).stdout; // biome exits 1 when it finds something, as it should here
  }
  const diagnostics = (JSON.parse(report) as { diagnostics: { category: string; location: { path: string } }[] }).diagnostics;
  for (const d of diagnostics) {
    if (!d.category.startsWith("lint/")) continue;
    flagged.set(d.location.path, [...(flagged.get(d.location.path) ?? []), d.category]);
  }
  for (const line of assemblyImportViolations(scratch)) {
    const file = line.slice(0, line.indexOf(":"));
    flagged.set(file, [...(flagged.get(file) ?? []), "assembly-imports"]);
  }
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe("import rules", () => {
  it.each(PLANTS.filter((p) => p.forbidden))("lint refuses $file using $uses", ({ file }) => {
    expect(flagged.get(file)).toBeDefined();
    expect(flagged.get(file)!.every((c) => /noRestricted(Imports|Globals)|assembly-imports/.test(c))).toBe(true);
  });

  it.each(PLANTS.filter((p) => !p.forbidden))("lint allows $file using $uses", ({ file }) => {
    expect(flagged.get(file)).toBeUndefined();
  });
});
