/**
 * Stored IR: a lowered condition (control/compiler check.ts + fold.ts output) as plain JSON, so
 * control can keep it with the policy at admission and a snapshot build never parses CEL again;
 * and the same form without the envelope for a limit key expression in the snapshot's PLUGINS
 * section (encodeIr / decodeIr, which checks the tree's shape: ir-shape.ts). Parsing is the
 * compiler's dominant cost (@bufbuild/cel: ~100–150 µs per condition); decoding stored IR is a
 * tree walk (bench/RESULTS.md, "Snapshot compile").
 *
 * JSON has no bigint, −0, NaN, ±Infinity or typed arrays: ints/uints are written
 * `{"$int": "-12"}`, those doubles `{"$f64": "-0"}`, DFA tables
 * `{"$u8": base64}` / `{"$u16": base64}` (little-endian). PostgreSQL's jsonb also refuses
 * U+0000 (CEL's `"\x00"`) and lone surrogates in strings, so a string holding either is written
 * as its UTF-16 code units, `{"$utf16": [97, 0]}`, and the envelope's key is `source:name`
 * (sources contain no colon) rather than attributeKey's NUL-separated form. jsonb reorders
 * object keys; nothing reads IR fields by position. Decoding checks the envelope's version
 * and key and each node's kind, and returns null on any mismatch, so a caller falls back to
 * lowering the source — a stale or damaged row costs a parse, never a wrong program.
 */
import type { AttributeRef, IrNode } from "./ir.ts";
import { checkIrShape, IrShapeError } from "./ir-shape.ts";

/**
 * The stored form's version. Bump it whenever check.ts or fold.ts change the IR they produce for
 * some source, or this file changes the stored form: rows written by an older compiler then
 * decode to null, are lowered afresh at each build, and control's start-up backfill
 * (control/db/condition-ir.ts) rewrites them.
 */
export const STORED_IR_VERSION = 1;

/** A string as stored: itself, or its UTF-16 code units when jsonb cannot hold it. */
export type StoredString = string | { $utf16: number[] };

/** The JSON a policy row keeps: `{v, key: "header:x-a", ir}`. */
export interface StoredIr {
  v: number;
  /** `source:name` of the key the IR was lowered for. */
  key: StoredString;
  ir: unknown;
}

const KINDS = new Set([
  "const",
  "error",
  "attr",
  "has",
  "request",
  "convert",
  "arith",
  "neg",
  "compare",
  "not",
  "and",
  "or",
  "select",
  "inList",
  "string",
  "size",
  "matches",
  "cidr",
  "bucket",
  "concat",
]);

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i] as number);
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** A stored value that does not decode: decodeStoredIr answers null, decodeIr throws it. */
const Damaged = IrShapeError;

/** U+0000 or an unpaired surrogate: what jsonb cannot store in a string. */
const JSONB_UNSAFE = /[\0\p{Cs}]/u;

function encodeString(text: string): StoredString {
  if (!JSONB_UNSAFE.test(text)) return text;
  const units: number[] = [];
  for (let i = 0; i < text.length; i++) units.push(text.charCodeAt(i));
  return { $utf16: units };
}

function decodeString(units: unknown[]): string {
  let s = "";
  for (const u of units) {
    if (!Number.isInteger(u) || (u as number) < 0 || (u as number) > 0xffff) throw new Damaged("bad UTF-16 code unit");
    s += String.fromCharCode(u as number);
  }
  return s;
}

/** The envelope's key before encoding: `header:x-a`. */
const keyText = (key: AttributeRef) => `${key.source}:${key.name}`;

function encodeValue(value: unknown): unknown {
  if (typeof value === "string") return encodeString(value);
  if (typeof value === "bigint") return { $int: value.toString() };
  // JSON writes −0 as 0 and NaN / ±Infinity as null; CEL doubles need all four.
  if (typeof value === "number" && (!Number.isFinite(value) || Object.is(value, -0)))
    return { $f64: Object.is(value, -0) ? "-0" : String(value) };
  if (value instanceof Uint8Array) return { $u8: toBase64(value) };
  if (value instanceof Uint16Array) return { $u16: toBase64(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) };
  if (Array.isArray(value)) return value.map(encodeValue);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = encodeValue(v);
    return out;
  }
  return value;
}

function decodeValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeValue);
  if (value === null || typeof value !== "object") return value;
  const o = value as Record<string, unknown>;
  if (Array.isArray(o.$utf16)) return decodeString(o.$utf16);
  if (typeof o.$int === "string") return BigInt(o.$int);
  if (typeof o.$f64 === "string") return Number(o.$f64);
  if (typeof o.$u8 === "string") return fromBase64(o.$u8);
  if (typeof o.$u16 === "string") {
    const bytes = fromBase64(o.$u16);
    if (bytes.length % 2 !== 0) throw new Damaged("odd u16 table");
    const out = new Uint16Array(bytes.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = (bytes[2 * i] as number) | ((bytes[2 * i + 1] as number) << 8);
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = decodeValue(v);
  if ("kind" in out && !KINDS.has(out.kind as string)) throw new Damaged(`unknown IR kind ${String(out.kind)}`);
  return out;
}

/**
 * The stored form of `ir`, lowered for a policy whose key is `key`: plain JSON that PostgreSQL's
 * jsonb accepts and returns unchanged but for key order.
 * Example: `key == "1"` → `{v: 1, key: "header:x-a", ir: {kind: "compare", …}}`.
 */
export function encodeStoredIr(ir: IrNode, key: AttributeRef): StoredIr {
  return { v: STORED_IR_VERSION, key: encodeString(keyText(key)), ir: encodeValue(ir) };
}

/**
 * The IR `stored` holds, when it was written by this compiler version for `key`; null when it
 * is absent, from another version or key, or damaged (the caller then lowers the source).
 * Never throws.
 */
export function decodeStoredIr(stored: unknown, key: AttributeRef): IrNode | null {
  if (stored === null || typeof stored !== "object") return null;
  const s = stored as Partial<StoredIr>;
  if (s.v !== STORED_IR_VERSION) return null;
  try {
    if (decodeValue(s.key) !== keyText(key)) return null;
    const ir = decodeValue(s.ir) as IrNode | null;
    return ir !== null && typeof ir === "object" && KINDS.has(ir.kind) && ir.type === "bool" ? ir : null;
  } catch {
    return null;
  }
}

/** An IR tree in the stored form, without the envelope: JSON (the PLUGINS section's limit key `program`). */
export type EncodedIr = { [field: string]: unknown };

/**
 * `ir` in the stored form (bigints as `{"$int": …}`, DFA tables base64…), for JSON.stringify.
 * Example: `request.header["x-tenant"]` → `{kind: "attr", type: "string", attr: {source: "header", name: "x-tenant"}}`.
 */
export function encodeIr(ir: IrNode): EncodedIr {
  return encodeValue(ir) as EncodedIr;
}

/**
 * The IR tree `encoded` (encodeIr's output after a JSON round trip) holds, checked node by node
 * (ir-shape.ts checkIrShape).
 * @param at the value's name in error messages.
 * @throws IrShapeError naming the first bad field, when `encoded` is not such a tree.
 */
export function decodeIr(encoded: unknown, at = "ir"): IrNode {
  let decoded: unknown;
  try {
    decoded = decodeValue(encoded);
  } catch (error) {
    // A bad $int (BigInt's SyntaxError) or base64 table (atob's DOMException) is damage too.
    throw new IrShapeError(`${at}: ${(error as Error).message}`);
  }
  return checkIrShape(decoded, at);
}
