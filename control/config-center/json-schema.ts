/**
 * A namespace's JSON Schema (draft 2020-12), checked by `@cfworker/json-schema`: an interpreter,
 * so an admin's schema is never turned into code (ajv compiles schemas with `new Function`, which
 * Sluice's rule against executing user text forbids). The schema itself is validated at namespace
 * write against the 2020-12 meta-schema (meta-schema-2020-12/, the JSON Schema project's files as
 * published), then every content written to the namespace is checked against it. Nothing is
 * fetched: a `$ref` outside the schema does not resolve and refuses the schema. Pure (the
 * meta-schema files are read once at load).
 */
import { readdirSync, readFileSync } from "node:fs";
import { type Schema, Validator } from "@cfworker/json-schema";

/** A compiled schema: the first violation of a value, or null when it conforms. */
export type SchemaCheck = (value: unknown) => SchemaViolation | null;

/** Where a value breaks its schema: the JSON pointer of the offending value (`/db/port`, "" = the whole value). */
export interface SchemaViolation {
  pointer: string;
  message: string;
}

const META_DIR = new URL("./meta-schema-2020-12/", import.meta.url);
/** The 2020-12 meta-schema and its vocabularies, by $id. */
const META_ID = "https://json-schema.org/draft/2020-12/schema";
/**
 * Read with each `"$dynamicRef": "#meta"` made a `$ref` to the whole meta-schema: for the standard
 * dialect the two mean the same, and the validator follows `$ref` into nested subschemas where it
 * does not follow that `$dynamicRef` (without this, `{"properties": {"a": {"minimum": "x"}}}`
 * would pass).
 */
const META_SCHEMAS: Schema[] = readdirSync(META_DIR)
  .filter((file) => file.endsWith(".json"))
  .map(
    (file) =>
      JSON.parse(readFileSync(new URL(file, META_DIR), "utf8").replaceAll('"$dynamicRef": "#meta"', `"$ref": "${META_ID}"`)) as Schema,
  );

/** Validates schemas against the 2020-12 meta-schema (built once). */
const metaValidator = (() => {
  const root = META_SCHEMAS.find((s) => s.$id === META_ID);
  if (!root) throw new Error("control/config-center/meta-schema-2020-12/schema.json is missing");
  const validator = new Validator(root, "2020-12", true);
  for (const schema of META_SCHEMAS) if (schema !== root) validator.addSchema(schema);
  return validator;
})();

/**
 * Compiles `schema`.
 * @returns the check, or `{error}` naming why the schema is not a valid 2020-12 schema.
 */
export function compileSchema(schema: unknown): SchemaCheck | { error: string } {
  if (typeof schema !== "boolean" && (typeof schema !== "object" || schema === null || Array.isArray(schema))) {
    return { error: "a JSON Schema is an object or a boolean" };
  }
  const meta = metaValidator.validate(schema);
  if (!meta.valid) {
    const deepest = meta.errors.reduce((a, b) => (b.instanceLocation.length > a.instanceLocation.length ? b : a));
    return { error: `${pointerOf(deepest.instanceLocation) || "/"}: ${deepest.error}` };
  }
  let validator: Validator;
  try {
    validator = new Validator(schema as Schema | boolean, "2020-12", true);
    validator.validate(null); // resolves every $ref once: a dangling one throws here, not on a write
  } catch (error) {
    return { error: ((error as Error).message ?? String(error)).split("\n")[0] as string };
  }
  return (value) => {
    let result: ReturnType<Validator["validate"]>;
    try {
      result = validator.validate(value);
    } catch (error) {
      return { pointer: "", message: `the namespace's schema cannot be applied: ${(error as Error).message}` };
    }
    if (result.valid) return null;
    // The deepest location is the offending value; the outer units only say "properties failed".
    const deepest = result.errors.reduce((a, b) => (b.instanceLocation.length > a.instanceLocation.length ? b : a));
    // A missing property is named where it should be (`/db/port`), not at its parent object.
    const missing = deepest.keyword === "required" ? /required property "(.*)"/.exec(deepest.error)?.[1] : undefined;
    const pointer = pointerOf(deepest.instanceLocation);
    return { pointer: missing === undefined ? pointer : `${pointer}/${escapePointer(missing)}`, message: deepest.error };
  };
}

/** `#/db/port` → `/db/port`; `#` → "". */
function pointerOf(location: string): string {
  return location.startsWith("#") ? location.slice(1) : location;
}

/** RFC 6901: `~` → `~0`, `/` → `~1`. */
function escapePointer(token: string): string {
  return token.replaceAll("~", "~0").replaceAll("/", "~1");
}
