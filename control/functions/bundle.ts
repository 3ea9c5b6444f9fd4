/**
 * A function version's code: the rules an upload must meet, and the canonical encoding its
 * content address (SHA-256) is taken over. Pure: no I/O, and user code is never evaluated here or
 * anywhere in control — the ES module check is a textual look for a default export, not a parse
 * (a real syntax check is left to the runtime that loads it).
 *
 * Shape (Cloudflare Workers' module format): an entry ES module with `export default { fetch }`,
 * optional extra ES modules and `.wasm` modules, imported by their relative names.
 */
import { createHash } from "node:crypto";

/** The kinds of module a bundle holds: ES module source (UTF-8) or a WebAssembly binary. */
export const MODULE_TYPES = ["esm", "wasm"] as const;
export type ModuleType = (typeof MODULE_TYPES)[number];

/** One module of a bundle: its relative name, kind and decoded bytes. */
export interface BundleModule {
  name: string;
  type: ModuleType;
  content: Uint8Array;
}

/** Largest bundle: the decoded bytes of all its modules together (10 MiB, Cloudflare's paid Worker cap). */
export const MAX_BUNDLE_BYTES = 10 * 1024 * 1024;
/** Most modules in one bundle. */
export const MAX_MODULES = 64;
/** Longest module name, in characters. */
export const MAX_MODULE_NAME_LENGTH = 256;

/** Module names: relative paths of [A-Za-z0-9._-] segments joined by `/`. */
const MODULE_NAME = /^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

/**
 * Why `name` is not a safe module name, or null when it is: relative (no leading `/`), no `.` or
 * `..` segment, no empty segment, at most MAX_MODULE_NAME_LENGTH characters, and the extension
 * its type expects (`.js`/`.mjs` for esm, `.wasm` for wasm).
 */
export function moduleNameProblem(name: string, type: ModuleType): string | null {
  if (name.length === 0 || name.length > MAX_MODULE_NAME_LENGTH) return `must be 1–${MAX_MODULE_NAME_LENGTH} characters`;
  if (name.startsWith("/")) return "must be relative (no leading /)";
  if (!MODULE_NAME.test(name)) return "must be /-separated segments of letters, digits, '.', '_' and '-'";
  if (name.split("/").some((segment) => segment === "." || segment === "..")) return "must not contain . or .. segments";
  if (type === "esm" && !/\.m?js$/.test(name)) return "an esm module's name must end in .js or .mjs";
  if (type === "wasm" && !name.endsWith(".wasm")) return "a wasm module's name must end in .wasm";
  return null;
}

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/** A default export, textually: `export default …` or `export { x as default }`. */
const DEFAULT_EXPORT = /\bexport\s+default\b|\bexport\s*\{[^}]*\bas\s+default\b[^}]*\}/;

/**
 * Why `content` is not an acceptable ES module, or null: it must be UTF-8 and, when `isMain`,
 * contain a default export (textually; the code is not parsed or run).
 */
export function esmProblem(content: Uint8Array, isMain: boolean): string | null {
  let text: string;
  try {
    text = STRICT_UTF8.decode(content);
  } catch {
    return "must be UTF-8 text";
  }
  if (isMain && !DEFAULT_EXPORT.test(text)) return "the main module must have a default export (export default { fetch })";
  return null;
}

/** Why `content` is not a WebAssembly binary (magic `\0asm`, version 1), or null. */
export function wasmProblem(content: Uint8Array): string | null {
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  if (content.length < header.length || header.some((byte, i) => content[i] !== byte)) {
    return "must be a WebAssembly binary (\\0asm, version 1)";
  }
  return null;
}

const TYPE_CODES: Record<ModuleType, number> = { esm: 1, wasm: 2 };
const TYPES_BY_CODE: ModuleType[] = ["esm", "esm", "wasm"];

/**
 * The canonical encoding of a bundle, the bytes stored and hashed: modules sorted by name, then
 * `u32 count` and per module `u8 type (1 esm, 2 wasm)`, `u32 name length`, name (UTF-8),
 * `u32 content length`, content; integers big-endian. Upload order does not change it.
 */
export function encodeBundle(modules: readonly BundleModule[]): Uint8Array {
  const sorted = [...modules].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const names = sorted.map((m) => new TextEncoder().encode(m.name));
  const size = 4 + sorted.reduce((sum, m, i) => sum + 1 + 4 + names[i].length + 4 + m.content.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  view.setUint32(at, sorted.length);
  at += 4;
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

/** Decodes encodeBundle's bytes back into modules (sorted by name). @throws Error on malformed bytes. */
export function decodeBundle(bytes: Uint8Array): BundleModule[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const count = view.getUint32(0);
  const modules: BundleModule[] = [];
  let at = 4;
  for (let i = 0; i < count; i++) {
    const type = TYPES_BY_CODE[bytes[at]];
    if (type === undefined || bytes[at] === 0) throw new Error(`bundle: unknown module type ${bytes[at]}`);
    const nameLength = view.getUint32(at + 1);
    const name = decoder.decode(bytes.subarray(at + 5, at + 5 + nameLength));
    at += 5 + nameLength;
    const contentLength = view.getUint32(at);
    const content = bytes.slice(at + 4, at + 4 + contentLength);
    if (content.length !== contentLength) throw new Error("bundle: truncated");
    at += 4 + contentLength;
    modules.push({ name, type, content });
  }
  if (at !== bytes.length) throw new Error("bundle: trailing bytes");
  return modules;
}

/** The content address of encoded bundle bytes: lowercase hex SHA-256. */
export function bundleSha256(encoded: Uint8Array): string {
  return createHash("sha256").update(encoded).digest("hex");
}

/** One problem with an upload: the field at fault (`modules`, `modules[1].name`, `main`) and why. */
export interface BundleProblem {
  field: string;
  message: string;
}

/**
 * Everything wrong with a decoded upload: total size over MAX_BUNDLE_BYTES (`modules`), unsafe or
 * repeated names (`modules[i].name`), ES modules that are not UTF-8 or wasm that is not
 * WebAssembly (`modules[i].content`), and a `main` that is not exactly one of its ES modules
 * with a default export (`main`, or that module's `content`).
 */
export function bundleProblems(modules: readonly BundleModule[], main: string): BundleProblem[] {
  const problems: BundleProblem[] = [];
  const total = modules.reduce((sum, m) => sum + m.content.length, 0);
  if (total > MAX_BUNDLE_BYTES) {
    problems.push({ field: "modules", message: `the modules total ${total} bytes, over the ${MAX_BUNDLE_BYTES}-byte cap` });
    return problems;
  }
  const seen = new Set<string>();
  modules.forEach((m, i) => {
    const nameProblem = moduleNameProblem(m.name, m.type);
    if (nameProblem) problems.push({ field: `modules[${i}].name`, message: nameProblem });
    else if (seen.has(m.name)) problems.push({ field: `modules[${i}].name`, message: `"${m.name}" is used twice` });
    seen.add(m.name);
    const contentProblem = m.type === "esm" ? esmProblem(m.content, m.name === main) : wasmProblem(m.content);
    if (contentProblem) problems.push({ field: `modules[${i}].content`, message: contentProblem });
  });
  const entries = modules.filter((m) => m.name === main);
  if (entries.length === 0) problems.push({ field: "main", message: `"${main}" is not one of the modules` });
  else if (entries[0].type !== "esm") problems.push({ field: "main", message: `"${main}" must be an esm module` });
  return problems;
}
