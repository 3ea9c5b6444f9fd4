/**
 * The admission of a config content: its size, its format, then its namespace's schema
 * (docs/config-center.md "Formats and validation"). Pure; the API turns a problem into a 400
 * naming `content` with `line`/`column` (syntax) or `pointer` (schema).
 */
import { type ConfigFormat, parseContent } from "./formats.ts";
import type { SchemaCheck } from "./json-schema.ts";

/** Largest content of a draft or release, in UTF-8 bytes (1 MiB). */
export const MAX_CONTENT_BYTES = 1024 * 1024;

/** Why a content is refused. */
export interface ContentProblem {
  message: string;
  line?: number;
  column?: number;
  /** JSON pointer of a schema violation. */
  pointer?: string;
}

/**
 * Checks `content` for a namespace of `format` with the compiled `schema` (none: format only).
 * @returns null when admitted.
 */
export function checkContent(format: ConfigFormat, content: string, schema: SchemaCheck | null): ContentProblem | null {
  const bytes = Buffer.byteLength(content, "utf8");
  if (bytes > MAX_CONTENT_BYTES) return { message: `content is ${bytes} bytes, over the ${MAX_CONTENT_BYTES}-byte limit` };
  try {
    const parsed = parseContent(format, content);
    if (!parsed.ok) {
      const { line, column, message } = parsed.problem;
      return { message: `invalid ${format} at line ${line}, column ${column}: ${message}`, line, column };
    }
    if (!schema || format === "text") return null;
    const violation = schema(parsed.value);
    if (!violation) return null;
    return { message: `${violation.pointer || "/"}: ${violation.message}`, pointer: violation.pointer };
  } catch (error) {
    // Nesting deep enough to exhaust the stack (a YAML document's conversion, a recursive schema).
    if (error instanceof RangeError) return { message: "content nests too deeply" };
    throw error;
  }
}
