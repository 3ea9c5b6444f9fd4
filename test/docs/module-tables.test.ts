/**
 * The module tables in docs/ match the tree: every table whose first column is headed `file`
 * describes the folder its section heading names in backticks (e.g. "## Modules (`wasm/assembly/`)"),
 * and lists each `.ts` file of that folder once — and nothing that is not there. A subfolder is
 * listed as `name/` (with its own table elsewhere) or file by file as `name/file.ts`.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const DOCS = join(ROOT, "docs");

interface ModuleTable {
  doc: string;
  folder: string;
  /** Names in the first column: `file.ts`, `sub/`, `sub/file.ts`. */
  listed: string[];
}

/** The `file` tables of one markdown document, each with the folder its heading names. */
function moduleTables(doc: string): ModuleTable[] {
  const tables: ModuleTable[] = [];
  let folder: string | null = null;
  let current: ModuleTable | null = null;
  for (const line of readFileSync(join(DOCS, doc), "utf8").split("\n")) {
    if (line.startsWith("#")) folder = /`([\w./-]+\/)`/.exec(line)?.[1] ?? null;
    const cells = line.startsWith("|")
      ? line
          .split("|")
          .slice(1, -1)
          .map((c) => c.trim())
      : null;
    if (!cells) {
      current = null;
      continue;
    }
    if (!current && cells[0] === "file") {
      if (!folder) throw new Error(`${doc}: a module table under a heading that names no folder`);
      current = { doc, folder, listed: [] };
      tables.push(current);
    } else if (current && !/^-+$/.test(cells[0] ?? "")) {
      current.listed.push(...[...(cells[0] ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1] as string));
    }
  }
  return tables;
}

/** What a table of `folder` must list: its .ts files, and each subfolder as `sub/` or as its files. */
function expected(folder: string, listed: string[]): string[] {
  const dir = join(ROOT, folder);
  return readdirSync(dir).flatMap((name) => {
    if (statSync(join(dir, name)).isDirectory()) {
      if (listed.includes(`${name}/`)) return [`${name}/`];
      return readdirSync(join(dir, name))
        .filter((f) => f.endsWith(".ts"))
        .map((f) => `${name}/${f}`);
    }
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [name] : [];
  });
}

const tables = readdirSync(DOCS)
  .filter((f) => f.endsWith(".md"))
  .flatMap(moduleTables);

describe("module tables in docs/", () => {
  it("exist for wasm/assembly/ and wasm/reference/", () => {
    expect(tables.map((t) => t.folder)).toEqual(expect.arrayContaining(["wasm/assembly/", "wasm/reference/"]));
  });

  it.each(tables.map((t) => [`${t.doc} → ${t.folder}`, t] as const))("%s lists exactly the folder's modules", (_, table) => {
    expect([...table.listed].sort()).toEqual(expected(table.folder, table.listed).sort());
  });
});
