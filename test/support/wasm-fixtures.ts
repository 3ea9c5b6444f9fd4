/**
 * Shared helpers for the tests under test/wasm/ (and others that load the hot path): instantiate build/hotpath.wasm, build models
 * for the real snapshot writer (control/snapshot/writer.ts), patch written files to make them
 * invalid in one chosen way, and make requests.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ConfigModel, GroupConfig, InstanceConfig, PolicyConfig, RouteConfig } from "../../control/snapshot/model.ts";
import { type WriteOptions, writeSnapshot } from "../../control/snapshot/writer.ts";
import { type DecideRequest, HotPath } from "../../wasm/host.ts";

const WASM_PATH = fileURLToPath(new URL("../../build/hotpath.wasm", import.meta.url));

/** A HotPath with direct access to the module's exports (memory, commitLoad…). */
export async function instantiate(): Promise<{ hot: HotPath; exports: Record<string, unknown> & { memory: WebAssembly.Memory } }> {
  if (!existsSync(WASM_PATH)) throw new Error(`${WASM_PATH} is missing: run \`npm run build:wasm\` first`);
  const { instance } = await WebAssembly.instantiate(readFileSync(WASM_PATH), {});
  return { hot: new HotPath(instance), exports: instance.exports as Record<string, unknown> & { memory: WebAssembly.Memory } };
}

export function instance(id: number, weight: number, status: InstanceConfig["status"] = "alive"): InstanceConfig {
  return { id, host: `10.0.0.${id}`, port: 8000 + id, weight, status, zone: "z1", lane: "", version: "v1" };
}

export function group(id: number, name: string, instances: InstanceConfig[], appkey = "svc"): GroupConfig {
  return { id, appkey, name, balancer: "swrr", instances };
}

export function policy(id: number, condition: string, group: string, extra: Partial<PolicyConfig> = {}): PolicyConfig {
  return {
    id,
    name: `p${id}`,
    category: "private",
    appkey: "svc",
    key: "k",
    passway: "query",
    condition,
    group,
    enabled: true,
    graylist: [],
    ...extra,
  };
}

export function route(id: number, host: string, path: string, extra: Partial<RouteConfig> = {}): RouteConfig {
  return { id, appkey: "svc", host, path, match: "prefix", defaultGroup: "main", policies: [], timeoutMs: 15000, ...extra };
}

/** Writes `model` with the real writer (unsigned; WASM does not check hash or signature). */
export function write(model: ConfigModel, version: bigint, lower?: WriteOptions["lower"]): Uint8Array {
  return writeSnapshot(model, { version, builtAtMs: 1_700_000_000_000, lower });
}

/** A request; `attributes` maps `source:name` (e.g. `0:k` for query k, `4:ip`) to values. */
export function request(host: string, path: string, attributes: Record<string, string> = {}, method = "GET"): DecideRequest {
  return { host, path, method, attribute: (source, name) => attributes[`${source}:${name}`] };
}

// --- Patching written files (offsets from docs/snapshot-format.md) ---

export function view(file: Uint8Array): DataView {
  return new DataView(file.buffer, file.byteOffset, file.byteLength);
}

/** Section `id`'s directory entry position and its {offset, length}. */
export function section(file: Uint8Array, id: number): { entry: number; offset: number; length: number } {
  const v = view(file);
  const count = v.getUint32(20, true);
  for (let i = 0; i < count; i++) {
    const entry = 64 + i * 12;
    if (v.getUint32(entry, true) === id) return { entry, offset: v.getUint32(entry + 4, true), length: v.getUint32(entry + 8, true) };
  }
  throw new Error(`section ${id} not found`);
}

export const SECTION = {
  STRINGS: 1,
  HOST_TABLE: 2,
  HOSTS: 3,
  ROUTES: 4,
  ROUTE_POLICIES: 5,
  POLICIES: 6,
  ROUTE_SLOTS: 7,
  GROUPS: 8,
  INSTANCES: 9,
  ATTRIBUTES: 10,
  CODE: 11,
  DATA: 12,
  INTERN: 13,
} as const;
/** Record sizes from docs/snapshot-format.md. */
export const RECORD = { ROUTES: 72, POLICIES: 16, ROUTE_SLOTS: 4, ATTRIBUTES: 12, GROUPS: 128, INSTANCES: 80 } as const;

/** File offset of record `index` of section `id` with `size`-byte records. */
export function record(file: Uint8Array, id: number, size: number, index: number): number {
  return section(file, id).offset + index * size;
}

/** A copy of `file` with its snapshotVersion set to `version`. */
export function withVersion(file: Uint8Array, version: bigint): Uint8Array {
  const copy = file.slice();
  view(copy).setBigUint64(8, version, true);
  return copy;
}

/**
 * A copy of `file` whose route `routeIndex` (a ROUTES index) runs `code` instead of its
 * compiled program. The code is written over the old program, so it must not be longer.
 */
export function withRouteProgram(file: Uint8Array, routeIndex: number, code: ArrayLike<number>): Uint8Array {
  const copy = file.slice();
  const v = view(copy);
  const r = record(copy, SECTION.ROUTES, RECORD.ROUTES, routeIndex);
  const offset = section(copy, SECTION.CODE).offset + v.getUint32(r + 32, true);
  const length = v.getUint32(r + 36, true);
  if (code.length > length) throw new Error(`program of ${code.length} bytes does not fit in ${length}`);
  copy.set(Array.from(code), offset);
  v.setUint32(r + 36, code.length, true);
  return copy;
}

/** DATA objects of `file`: their offset (from the start of DATA) and kind (docs/bytecode.md). */
export function dataObjects(file: Uint8Array): { offset: number; kind: number }[] {
  const d = section(file, SECTION.DATA);
  const v = view(file);
  const out: { offset: number; kind: number }[] = [];
  let at = 0;
  while (at < d.length) {
    const o = d.offset + at;
    const kind = v.getUint32(o, true);
    const count = v.getUint32(o + 4, true);
    const cap = v.getUint32(o + 8, true);
    out.push({ offset: at, kind });
    let size: number;
    if (kind === 16) {
      const states = v.getUint16(o + 4, true);
      const classes = v.getUint16(o + 6, true);
      size = ((264 + states + 1) & ~1) + states * classes * 2;
    } else if (kind === 32) size = 24;
    else if (kind === 5) size = 16 + count * 8;
    else if (kind === 6) size = 16;
    else size = 16 + cap * ({ 1: 4, 2: 12, 3: 16, 4: 16, 7: 8 }[kind] ?? 0);
    at = (at + size + 7) & ~7;
  }
  return out;
}

/** The strref (absolute file offset, byte length) of `text` in the file's STRINGS section. */
export function stringRef(file: Uint8Array, text: string): { offset: number; length: number } {
  const bytes = new TextEncoder().encode(text);
  const s = section(file, SECTION.STRINGS);
  outer: for (let i = s.offset; i + bytes.length <= s.offset + s.length; i++) {
    for (let j = 0; j < bytes.length; j++) if (file[i + j] !== bytes[j]) continue outer;
    return { offset: i, length: bytes.length };
  }
  throw new Error(`"${text}" is not in STRINGS`);
}

/** Little-endian bytecode assembly: `asm(0x02, i64(5n), 0x00)`. */
export function asm(...parts: (number | number[])[]): number[] {
  return parts.flatMap((p) => (typeof p === "number" ? [p] : p));
}
export const u16 = (v: number) => [v & 0xff, (v >>> 8) & 0xff];
export const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
export function i64(v: bigint): number[] {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, v, true);
  return Array.from(b);
}
