/**
 * The API's error vocabulary: one JSON shape for every failure, the typed errors handlers throw,
 * and the translation of validation, HTTP, configuration (ConfigError) and database errors into
 * that shape.
 *
 * Shape: `{error, message, fields?, reason?, field?, referrers?}` — `error` is a stable code
 * (`bad_request`, `unauthorized`, `not_found`, `conflict`, `unprocessable`, `payload_too_large`,
 * `unsupported_media_type`, `snapshot_unavailable`, `database_unavailable`, `forbidden`, `internal`);
 * `message` is for humans.
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "pino";
import type { ZodError } from "zod";
import { ConfigError, type ConfigErrorCode } from "../config/errors.ts";
import { isDatabaseUnavailable } from "../db/connect.ts";

/** One invalid input field: `path` like `graylist[3]` or `port` ("" = the whole body). */
export interface FieldError {
  path: string;
  message: string;
  /** Where the field was: `json` body, `param` (path) or `query`. */
  in: string;
  /** 0-based character offset into the field's value, for CEL condition errors. */
  position?: number;
  /** 1-based line and column in the field's text, for config content syntax errors (docs/config-center.md). */
  line?: number;
  column?: number;
  /** JSON pointer into the field's parsed value, for a config content's schema violation (`/db/port`). */
  pointer?: string;
}

/**
 * A failure the HTTP layer itself finds (a malformed query, a token out of scope), with its HTTP
 * status and JSON body; thrown by handlers, rendered by `onError`. Refusals of the configuration
 * itself are ConfigErrors (control/config/errors.ts), rendered by configErrorResponse.
 */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  readonly body: ErrorBody;
  constructor(status: ContentfulStatusCode, body: ErrorBody) {
    super(body.message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

export const FieldErrorSchema = z.object({
  path: z.string(),
  message: z.string(),
  in: z.string(),
  position: z.number().int().optional(),
  line: z.number().int().optional(),
  column: z.number().int().optional(),
  pointer: z.string().optional(),
});

export const ErrorBodySchema = z
  .object({
    error: z.string().openapi({ example: "not_found" }),
    message: z.string(),
    fields: z.array(FieldErrorSchema).optional(),
    reason: z.string().optional(),
    field: z.string().optional(),
    referrers: z
      .array(
        z.object({ resource: z.enum(["route", "policy", "group", "traffic_cut", "function", "service"]), id: z.string(), via: z.string() }),
      )
      .optional(),
  })
  .openapi("Error");

export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** 400 with the offending fields. */
export function badRequest(message: string, fields: FieldError[] = []): ApiError {
  return new ApiError(400, { error: "bad_request", message, fields });
}

/** 403: an agent token used for a service outside its appkeys. */
export function forbidden(message: string): ApiError {
  return new ApiError(403, { error: "forbidden", message });
}

/** Formats a zod issue path: `["policies", 1]` → `policies[1]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out;
}

/** Most field errors one response lists (a 10 000-entry graylist could fail 10 000 times). */
export const MAX_FIELD_ERRORS = 100;

/**
 * One FieldError per zod issue (at most MAX_FIELD_ERRORS); an unknown-keys issue yields one per
 * unknown key, with the message `unknown field`.
 */
export function fieldErrorsFromZod(error: ZodError, target: string): FieldError[] {
  const fields: FieldError[] = [];
  for (const issue of error.issues) {
    if (fields.length >= MAX_FIELD_ERRORS) break;
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        fields.push({ path: formatPath([...issue.path, key]), message: "unknown field", in: target });
      }
      continue;
    }
    const field: FieldError = { path: formatPath(issue.path), message: issue.message, in: target };
    const position = (issue as { params?: { position?: unknown } }).params?.position;
    if (issue.code === "custom" && typeof position === "number") field.position = position;
    fields.push(field);
  }
  return fields;
}

const TARGET_NAMES: Record<string, string> = {
  json: "request body",
  param: "path parameter",
  query: "query parameter",
  header: "header",
};

/**
 * zod-openapi's validation hook: replaces its default `{success:false, error}` 400 with ours.
 */
export function validationHook(
  result: { success: true } | { success: false; error: ZodError; target: string },
  c: Context,
): Response | undefined {
  if (result.success) return undefined;
  const fields = fieldErrorsFromZod(result.error, result.target);
  const names = fields.map((f) => f.path || "(whole value)").join(", ");
  const where = TARGET_NAMES[result.target] ?? result.target;
  return c.json({ error: "bad_request", message: `invalid ${where}: ${names}`, fields }, 400);
}

/** PostgreSQL SQLSTATE of an error, looking through drizzle's DrizzleQueryError wrapper. */
export function sqlState(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Retry-After of a 503 while the database is unreachable, seconds. */
export const DATABASE_RETRY_AFTER_S = 2;

/**
 * Renders any thrown error as JSON. A database that cannot be reached is a 503
 * `database_unavailable` with Retry-After (the write did not happen: transactions are
 * all-or-nothing). Unexpected errors become a 500 without details (the stack is logged, never
 * sent).
 */
export function renderError(error: unknown, c: Context, logger: Logger): Response {
  if (error instanceof ApiError) return c.json(error.body, error.status);
  if (error instanceof ConfigError) return configErrorResponse(error, c);
  if (error instanceof HTTPException) return renderHttpException(error, c);
  if (isDatabaseUnavailable(error)) {
    logger.warn({ err: (error as Error).message, method: c.req.method, path: c.req.path }, "database unavailable");
    c.header("Retry-After", String(DATABASE_RETRY_AFTER_S));
    return c.json({ error: "database_unavailable", message: "the database cannot be reached; nothing was changed, retry later" }, 503);
  }
  const state = sqlState(error);
  // The API checks uniqueness and references first; these are backstops for races it cannot see.
  if (state === "23505") return c.json({ error: "conflict", message: "already exists" }, 409);
  // 23503 foreign_key_violation; 23001 restrict_violation (an ON DELETE RESTRICT reference).
  if (state === "23503" || state === "23001") {
    return c.json({ error: "conflict", message: "still referenced by another resource" }, 409);
  }
  logger.error({ err: error, method: c.req.method, path: c.req.path }, "unhandled error");
  return c.json({ error: "internal", message: "internal server error" }, 500);
}

const CONFIG_ERROR_STATUS = { not_found: 404, conflict: 409, unprocessable: 422, invalid: 400 } as const satisfies Record<
  ConfigErrorCode,
  ContentfulStatusCode
>;

/** A ConfigError as its status and body: `{error, message}`, plus `referrers`, `reason` and `field`, or (invalid) `fields`. */
function configErrorResponse(error: ConfigError, c: Context): Response {
  const status = CONFIG_ERROR_STATUS[error.code];
  switch (error.code) {
    case "not_found":
      return c.json({ error: error.code, message: error.message }, status);
    case "conflict":
      return c.json({ error: error.code, message: error.message, ...(error.referrers ? { referrers: error.referrers } : {}) }, status);
    case "unprocessable":
      return c.json({ error: error.code, reason: error.reason, message: error.message, field: error.field }, status);
    case "invalid":
      return c.json(
        {
          error: "bad_request",
          message: `invalid request body: ${error.field}`,
          fields: [{ path: error.field ?? "", message: error.message, in: "json" }],
        },
        status,
      );
  }
}

function renderHttpException(error: HTTPException, c: Context): Response {
  switch (error.status) {
    case 400:
      // Hono's JSON validator throws this when the body does not parse.
      return c.json(
        {
          error: "bad_request",
          message: "request body is not valid JSON",
          fields: [{ path: "", message: error.message, in: "json" }],
        },
        400,
      );
    case 413:
      return c.json({ error: "payload_too_large", message: "request body too large" }, 413);
    case 415:
      return c.json({ error: "unsupported_media_type", message: "send the body as application/json" }, 415);
    default:
      return c.json({ error: "http_error", message: error.message }, error.status as ContentfulStatusCode);
  }
}
