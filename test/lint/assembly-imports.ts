/**
 * Import boundary of wasm/assembly, the one source tree Biome cannot parse (AssemblyScript puts
 * decorators on functions): every import and re-export is a relative path that stays inside
 * wasm/assembly, so the WASM module depends on nothing but itself (README, "Dependencies point one
 * way"). Run by `npm run lint`; prints each offending `file:line specifier` and exits 1.
 *
 * Usage: node test/lint/assembly-imports.ts [root] — root defaults to the repository; the lint
 * test points it at a scratch tree with planted imports.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const SPECIFIER = /(?:^|\s)(?:import|export)\b[^"'`;]*?\bfrom\s*["']([^"']+)["']|\bimport\s*["']([^"']+)["']/gm;

/** Every `.ts` file below `dir`, recursively. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/**
 * The imports under `root`/wasm/assembly that leave it.
 * @returns one `path:line specifier` per offence, paths relative to `root`.
 */
export function assemblyImportViolations(root: string): string[] {
  const assembly = resolve(root, "wasm/assembly");
  const found: string[] = [];
  for (const file of sources(assembly)) {
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(SPECIFIER)) {
      const specifier = (match[1] ?? match[2]) as string;
      const target = resolve(file, "..", specifier);
      const inside = specifier.startsWith(".") && !relative(assembly, target).startsWith("..");
      if (!inside) {
        const line = text.slice(0, match.index).split("\n").length;
        found.push(`${relative(root, file)}:${line} ${specifier}`);
      }
    }
  }
  return found;
}

if (import.meta.main) {
  const root = resolve(process.argv[2] ?? join(import.meta.dirname, "../.."));
  const violations = assemblyImportViolations(root);
  for (const v of violations) console.error(`${v}: wasm/assembly imports nothing outside itself`);
  process.exit(violations.length === 0 ? 0 : 1);
}
