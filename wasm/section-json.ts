/**
 * Reading the JSON sections WASM skips (wasm/functions-section.ts, wasm/plugins-section.ts): the
 * bytes as UTF-8 JSON, and checkers that return a value of the expected type or throw the
 * section's error naming where (`routes[0].plugins.limit-count.count: 0 is not an integer in
 * [1, 1000000000]`). Pure.
 */

/** Checkers of one section; each throws the section's error naming `at`. */
export interface JsonReader {
  /** Throws the section's error: `<SECTION> section: <at>: <why>`. */
  fail(at: string, why: string): never;
  object(v: unknown, at: string): Record<string, unknown>;
  array(v: unknown, at: string): unknown[];
  /** An integer in [min, max]. */
  int(v: unknown, at: string, min: number, max: number): number;
  /** A finite number ≥ min. */
  num(v: unknown, at: string, min: number): number;
  bool(v: unknown, at: string): boolean;
  /** Any string, "" included. */
  str(v: unknown, at: string): string;
  /** A non-empty string. */
  text(v: unknown, at: string): string;
  textOrNull(v: unknown, at: string): string | null;
  texts(v: unknown, at: string): string[];
  oneOf<T extends string>(v: unknown, at: string, values: readonly T[]): T;
}

/**
 * Parses `bytes` as UTF-8 JSON and returns it with the checkers of section `name`.
 * @param error builds the section's error from its message.
 * @throws that error when the bytes are not UTF-8 JSON.
 */
export function readSectionJson(bytes: Uint8Array, name: string, error: (message: string) => Error): { json: unknown; read: JsonReader } {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch (cause) {
    throw error(`${name} section is not UTF-8 JSON: ${(cause as Error).message}`);
  }
  const fail = (at: string, why: string): never => {
    throw error(`${name} section: ${at}: ${why}`);
  };
  const text = (v: unknown, at: string): string => (typeof v === "string" && v !== "" ? v : fail(at, "not a non-empty string"));
  const array = (v: unknown, at: string): unknown[] => (Array.isArray(v) ? v : fail(at, "not an array"));
  const read: JsonReader = {
    fail,
    object: (v, at) =>
      typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(at, "not an object"),
    array,
    int: (v, at, min, max) =>
      Number.isInteger(v) && (v as number) >= min && (v as number) <= max
        ? (v as number)
        : fail(at, `${JSON.stringify(v)} is not an integer in [${min}, ${max}]`),
    num: (v, at, min) =>
      typeof v === "number" && Number.isFinite(v) && v >= min ? v : fail(at, `${JSON.stringify(v)} is not a number ≥ ${min}`),
    bool: (v, at) => (typeof v === "boolean" ? v : fail(at, "not a boolean")),
    str: (v, at) => (typeof v === "string" ? v : fail(at, "not a string")),
    text,
    textOrNull: (v, at) => (v === null ? null : text(v, at)),
    texts: (v, at) => array(v, at).map((x, i) => text(x, `${at}[${i}]`)),
    oneOf: <T extends string>(v: unknown, at: string, values: readonly T[]): T =>
      values.includes(v as T) ? (v as T) : fail(at, `${JSON.stringify(v)} is not one of ${values.join(", ")}`),
  };
  return { json, read };
}
