/**
 * Admission of config center input against the namespace (docs/config-center.md "Formats and
 * validation"): a schema compiles (else 400 naming `schema`), a content parses in its format and
 * satisfies the schema (else 400 naming the field with `line` and `column`, or `pointer`).
 */
import { type ContentProblem, checkContent } from "../config-center/content-check.ts";
import type { ConfigFormat } from "../config-center/formats.ts";
import { compileSchema, type SchemaCheck } from "../config-center/json-schema.ts";
import { badRequest, type FieldError } from "./errors.ts";

/**
 * Compiles a namespace's schema (null: none).
 * @throws ApiError 400 naming `schema` when it is invalid or the format is `text`.
 */
export function admitSchema(format: ConfigFormat, schema: unknown): SchemaCheck | null {
  if (schema === null || schema === undefined) return null;
  if (format === "text")
    throw badRequest("invalid request body: schema", [{ path: "schema", message: "a text namespace has no schema", in: "json" }]);
  const compiled = compileSchema(schema);
  if (typeof compiled === "function") return compiled;
  throw badRequest("invalid request body: schema", [{ path: "schema", message: compiled.error, in: "json" }]);
}

/**
 * Admits `content` for a namespace of `format` with `schema`.
 * @param field the request field that carried it (`content`), or what the error should name.
 * @throws ApiError 400 naming `field`, with `line`/`column` or `pointer`.
 */
export function admitContent(format: ConfigFormat, content: string, schema: SchemaCheck | null, field = "content"): void {
  const problem = checkContent(format, content, schema);
  if (problem) throw contentRefused(problem, field);
}

/** A content problem as the 400 the API answers. */
export function contentRefused(problem: ContentProblem, field: string) {
  const error: FieldError = { path: field, message: problem.message, in: "json" };
  if (problem.line !== undefined) error.line = problem.line;
  if (problem.column !== undefined) error.column = problem.column;
  if (problem.pointer !== undefined) error.pointer = problem.pointer;
  return badRequest(`invalid request body: ${field}`, [error]);
}
