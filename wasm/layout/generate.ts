/**
 * Writes the files that follow from wasm/layout/group-record.ts and the balancer kinds: the
 * AssemblyScript GROUPS constants (wasm/assembly/generated/group-record.ts), the GROUPS table of
 * docs/snapshot-format.md and the kinds list of docs/balancing.md. Run after changing the declaration: `node wasm/layout/generate.ts`
 * (npm run build:wasm runs it first). Deterministic; test/wasm/layout/group-record.test.ts checks the output.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { ASSEMBLY_PATH, GENERATED_DOCS, renderAssembly, withGenerated } from "./render.ts";

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
for (const { path, part, render } of GENERATED_DOCS) writeIfChanged(path, withGenerated(readFileSync(root + path, "utf8"), part, render()));
