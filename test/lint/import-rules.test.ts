/**
 * The dependency rules of README "Dependencies point one way" hold because lint refuses what
 * breaks them: each case plants one import (or global), one line each, in a scratch copy of the tree's layout,
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
  { file: "wasm/layout/leak-control.ts", uses: "../../control/snapshot/layout.ts", forbidden: true },
  { file: "wasm/layout/leak-node.ts", uses: "node:fs", forbidden: true },
  { file: "wasm/layout/generate.ts", uses: "../../control/snapshot/layout.ts", forbidden: true },
  { file: "wasm/reference/leak-up.ts", uses: "../host.ts", forbidden: true },
  { file: "wasm/reference/leak-clock.ts", uses: "global:Date", forbidden: true },
  { file: "wasm/reference/leak-timer.ts", uses: "global:setTimeout", forbidden: true },
  { file: "wasm/cel/leak-control.ts", uses: "../../control/compiler/check.ts", forbidden: true },
  { file: "wasm/cel/leak-package.ts", uses: "ipaddr.js", forbidden: true },
  { file: "wasm/cel/leak-clock.ts", uses: "global:Date", forbidden: true },
  { file: "worker/leak-control.ts", uses: "../control/snapshot/layout.ts", forbidden: true },
  { file: "worker/leak-agents.ts", uses: "../agents/agent.ts", forbidden: true },
  { file: "worker/leak-node.ts", uses: "node:fs", forbidden: true },
  { file: "worker/launcher/leak-control.ts", uses: "../../control/main.ts", forbidden: true },
  { file: "worker/runtime/leak-node.ts", uses: "node:fs", forbidden: true },
  { file: "worker/runtime/leak-package.ts", uses: "hono", forbidden: true },
  { file: "worker/runtime/leak-control.ts", uses: "../../control/main.ts", forbidden: true },
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
  { file: "agents/config-client/leak-agent.ts", uses: "../agent.ts", forbidden: true },
  { file: "agents/config-client/leak-control.ts", uses: "../../control/api/app.ts", forbidden: true },
  { file: "agents/config-client/leak-pino.ts", uses: "pino", forbidden: true },
  { file: "control/registry/leak-api.ts", uses: "../api/write.ts", forbidden: true },
  { file: "control/leak-api.ts", uses: "./api/app.ts", forbidden: true },
  { file: "control/config/leak-hono.ts", uses: "hono", forbidden: true },
  { file: "control/config/leak-api.ts", uses: "../api/errors.ts", forbidden: true },
  { file: "control/demo/leak-api.ts", uses: "../api/app.ts", forbidden: true },
  { file: "wasm/assembly/lb/leak.ts", uses: "../../../control/snapshot/layout.ts", forbidden: true },
  { file: "wasm/assembly/leak-package.ts", uses: "as-bignum", forbidden: true },
  { file: "wasm/uses-reference.ts", uses: "./reference/index.ts", forbidden: false },
  { file: "wasm/layout/uses-reference.ts", uses: "../reference/balancer-kinds.ts", forbidden: false },
  { file: "wasm/layout/generate.ts", uses: "node:fs", forbidden: false },
  { file: "wasm/reference/uses-sibling.ts", uses: "./select.ts", forbidden: false },
  { file: "wasm/cel/uses-ip-text.ts", uses: "../ip-text.ts", forbidden: false },
  { file: "wasm/cel/uses-reference.ts", uses: "../reference/search-dfa.ts", forbidden: false },
  { file: "worker/uses-wasm.ts", uses: "../wasm/host.ts", forbidden: false },
  { file: "worker/launcher/uses-node.ts", uses: "node:child_process", forbidden: false },
  { file: "worker/runtime/uses-worker.ts", uses: "../gateway.ts", forbidden: false },
  { file: "control/snapshot/uses-wasm.ts", uses: "../../wasm/reference/balancers.ts", forbidden: false },
  { file: "control/registry/uses-db.ts", uses: "../db/schema.ts", forbidden: false },
  { file: "control/api/uses-config.ts", uses: "../config/write.ts", forbidden: false },
  { file: "control/server.ts", uses: "./api/app.ts", forbidden: false },
  { file: "control/demo/uses-launcher.ts", uses: "../../worker/launcher/gateway.ts", forbidden: false },
  { file: "agents/uses-sibling.ts", uses: "./spec.ts", forbidden: false },
  { file: "agents/uses-config-client.ts", uses: "./config-client/client.ts", forbidden: false },
  { file: "agents/config-client/uses-sibling.ts", uses: "./wire.ts", forbidden: false },
  { file: "agents/config-client/uses-yaml.ts", uses: "yaml", forbidden: false },
  { file: "agents/config-client/uses-node.ts", uses: "node:crypto", forbidden: false },
  { file: "wasm/assembly/lb/uses-parent.ts", uses: "../format", forbidden: false },
];

/** One line of a planted file: an import, or a read of a global (`global:Name`). */
function line(uses: string, n: number): string {
  if (uses.startsWith("global:")) return `export const planted${n} = ${uses.slice("global:".length)};`;
  return `import * as planted${n} from "${uses}"; export { planted${n} };`;
}

/** Where each plant stands: its file and line (1-based); several plants may share a file. */
const placed = new Map<Plant, string>();

let scratch: string;
/** Planted lines (`file:line`) that lint flagged, with the rule. */
const flagged = new Map<string, string[]>();

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "sluice-lint-"));
  copyFileSync(join(ROOT, "biome.json"), join(scratch, "biome.json"));
  const files = Map.groupBy(PLANTS, (p) => p.file);
  for (const [file, plants] of files) {
    mkdirSync(dirname(join(scratch, file)), { recursive: true });
    writeFileSync(join(scratch, file), `${plants.map((p, i) => line(p.uses, i)).join("\n")}\n`);
    for (const [i, p] of plants.entries()) placed.set(p, `${file}:${i + 1}`);
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
  const diagnostics = (JSON.parse(report) as { diagnostics: { category: string; location: { path: string; start: { line: number } } }[] })
    .diagnostics;
  const flag = (at: string, rule: string) => flagged.set(at, [...(flagged.get(at) ?? []), rule]);
  for (const d of diagnostics) {
    if (d.category.startsWith("lint/")) flag(`${d.location.path}:${d.location.start.line}`, d.category);
  }
  for (const violation of assemblyImportViolations(scratch)) flag(violation.slice(0, violation.indexOf(" ")), "assembly-imports");
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe("import rules", () => {
  it.each(PLANTS.filter((p) => p.forbidden))("lint refuses $file using $uses", (plant) => {
    const rules = flagged.get(placed.get(plant) as string);
    expect(rules).toBeDefined();
    expect(rules!.every((c) => /noRestricted(Imports|Globals)|assembly-imports/.test(c))).toBe(true);
  });

  it.each(PLANTS.filter((p) => !p.forbidden))("lint allows $file using $uses", (plant) => {
    expect(flagged.get(placed.get(plant) as string)).toBeUndefined();
  });
});
