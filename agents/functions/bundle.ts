/**
 * A function version's bundle as the agent receives it (GET /v1/agents/functions/bundles/{sha256}):
 * decoding the base64 answer, checking it against its content address, and the module names
 * that are safe to write to disk. The canonical encoding is control's (control/functions/bundle.ts,
 * docs/functions.md); agents cannot import control, so the few lines are repeated here and
 * test/agents/functions/bundle.test.ts pins them to control's bytes.
 */
import { createHash } from "node:crypto";

/** One module: relative name, kind, decoded bytes. */
export interface BundleModule {
  name: string;
  type: "esm" | "wasm";
  content: Uint8Array;
}

const TYPE_CODES = { esm: 1, wasm: 2 } as const;

/**
 * Control's canonical encoding: modules sorted by name, then `u32 count` and per module
 * `u8 type (1 esm, 2 wasm)`, `u32 name length`, name (UTF-8), `u32 content length`, content;
 * integers big-endian.
 */
export function encodeBundle(modules: readonly BundleModule[]): Uint8Array {
  const sorted = [...modules].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const names = sorted.map((m) => new TextEncoder().encode(m.name));
  const out = new Uint8Array(4 + sorted.reduce((sum, m, i) => sum + 9 + names[i].length + m.content.length, 0));
  const view = new DataView(out.buffer);
  view.setUint32(0, sorted.length);
  let at = 4;
  sorted.forEach((m, i) => {
    out[at] = TYPE_CODES[m.type];
    view.setUint32(at + 1, names[i].length);
    out.set(names[i], at + 5);
    at += 5 + names[i].length;
    view.setUint32(at, m.content.length);
    out.set(m.content, at + 4);
    at += 4 + m.content.length;
  });
  return out;
}

/** Lowercase hex SHA-256 of the canonical encoding: the bundle's content address. */
export function bundleSha256(modules: readonly BundleModule[]): string {
  return createHash("sha256").update(encodeBundle(modules)).digest("hex");
}

/** Module names: relative paths of [A-Za-z0-9._-] segments, no `.`/`..` segment (control enforces the same). */
const MODULE_NAME = /^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

/** True when `name` may be used as a path under the bundle's directory (no escape from it). */
export function isSafeModuleName(name: string): boolean {
  return name.length <= 256 && MODULE_NAME.test(name) && !name.split("/").some((s) => s === "." || s === "..");
}

/**
 * The modules of a bundle answer `{sha256, modules: [{name, type, content (base64)}]}`.
 * @throws Error when the shape is wrong, a name is unsafe, or the SHA-256 of the canonical
 *   encoding is not `expectedSha256` (a corrupt or substituted bundle never runs).
 */
export function decodeBundleAnswer(answer: unknown, expectedSha256: string): BundleModule[] {
  const raw = (answer as { modules?: unknown } | null)?.modules;
  if (!Array.isArray(raw)) throw new Error("bundle: no modules list");
  const modules = raw.map((m, i): BundleModule => {
    const { name, type, content } = (m ?? {}) as Record<string, unknown>;
    if (typeof name !== "string" || !isSafeModuleName(name)) throw new Error(`bundle: modules[${i}].name is not a safe relative name`);
    if (type !== "esm" && type !== "wasm") throw new Error(`bundle: modules[${i}].type must be esm or wasm`);
    if (typeof content !== "string") throw new Error(`bundle: modules[${i}].content must be base64`);
    return { name, type, content: new Uint8Array(Buffer.from(content, "base64")) };
  });
  const actual = bundleSha256(modules);
  if (actual !== expectedSha256) throw new Error(`bundle: SHA-256 ${actual} does not match ${expectedSha256}`);
  return modules;
}
