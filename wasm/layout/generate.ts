/**
 * Writes the files that follow from wasm/layout/group-record.ts: the AssemblyScript GROUPS
 * constants (wasm/assembly/generated/group-record.ts) and the GROUPS table of
 * docs/snapshot-format.md. Run after changing the declaration: `node wasm/layout/generate.ts`
 * (npm run build:wasm runs it first). Deterministic; test/group-record.test.ts checks the output.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { ASSEMBLY_PATH, DOCS_PATH, renderAssembly, renderDocsTable, withDocsTable } from "./render.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** Writes `text` to `path` (from the repository root) unless it already holds exactly that. */
function writeIfChanged(path: string, text: string): void {
  const file = root + path;
  let current: string | null = null;
  try {
    current = readFileSync(file, "utf8");
  } catch {
    // Not there yet.
  }
  if (current === text) return;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  console.log(`wrote ${path}`);
}

writeIfChanged(ASSEMBLY_PATH, renderAssembly());
writeIfChanged(DOCS_PATH, withDocsTable(readFileSync(root + DOCS_PATH, "utf8"), renderDocsTable()));
