/**
 * A namespace's JSON Schema (draft 2020-12, by `ajv`): compiled when the namespace is written (an
 * invalid schema is refused there), then checked against every content written to it. Pure.
 */
import { Ajv2020 } from "ajv/dist/2020.js";

/** A compiled schema: the first violation of a value, or null when it conforms. */
export type SchemaCheck = (value: unknown) => SchemaViolation | null;

/** Where a value breaks its schema: the JSON pointer of the offending value (`/db/port`, "" = the whole value). */
export interface SchemaViolation {
  pointer: string;
  message: string;
}

/**
 * Compiles `schema`.
 * @returns the check, or `{error}` with ajv's reason when the schema is not a valid 2020-12 schema.
 */
export function compileSchema(schema: unknown): SchemaCheck | { error: string } {
  // One ajv per schema: ajv caches every schema it compiled, and namespaces' schemas change.
  const ajv = new Ajv2020({ allErrors: false, strict: false });
  let validate: ReturnType<typeof ajv.compile>;
  try {
    validate = ajv.compile(schema as object);
  } catch (error) {
    return { error: (error as Error).message };
  }
  return (value) => {
    if (validate(value)) return null;
    const [first] = validate.errors ?? [];
    if (!first) return { pointer: "", message: "does not match the schema" };
    const missing = (first.params as { missingProperty?: string }).missingProperty;
    const pointer = missing === undefined ? first.instancePath : `${first.instancePath}/${escapePointer(missing)}`;
    return { pointer, message: first.message ?? "does not match the schema" };
  };
}

/** RFC 6901: `~` → `~0`, `/` → `~1`. */
function escapePointer(token: string): string {
  return token.replaceAll("~", "~0").replaceAll("/", "~1");
}
