/**
 * Refuses request text that cannot be stored exactly, before any handler sees it (issue 12,
 * item 7): NUL (PostgreSQL's text type refuses it) and lone UTF-16 surrogates (UTF-8 cannot carry
 * them; they would be stored as U+FFFD) anywhere in the JSON body — values and keys — in query
 * values and in the path; `__proto__` as an object key (JSON.parse makes it an own property, and
 * the validators would drop it silently); and bodies nested deeper than MAX_BODY_DEPTH. Answers
 * 400 `bad_request` naming each field (at most MAX_FIELD_ERRORS), like every other validation.
 * The walk is iterative, so no body can exhaust the stack.
 */
import type { Context, MiddlewareHandler } from "hono";
import { type FieldError, formatPath, MAX_FIELD_ERRORS } from "./errors.ts";

/** Deepest JSON body accepted, in nested arrays and objects (Sluice's schemas nest 3 deep). */
export const MAX_BODY_DEPTH = 32;

/**
 * A JSON media type as Hono's json validator recognises one (hono/validator: the type before any
 * `;`, any case, with a `+json` suffix): every body a route's validator parses is walked here.
 */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** True when the request's Content-Type (`Application/JSON; charset=utf-8`) is a JSON one. */
function isJsonBody(contentType: string | undefined): boolean {
  return contentType !== undefined && JSON_MEDIA_TYPE.test(contentType.split(";")[0].trim());
}

/** Why `text` cannot be stored, or null when it can. */
export function unstorable(text: string): string | null {
  if (text.includes("\u0000")) return "must not contain NUL (U+0000)";
  return text.isWellFormed() ? null : "must be valid Unicode (a lone surrogate cannot be stored)";
}

/** The field errors of a parsed JSON body: bad strings, bad keys, too deep. */
export function bodyTextErrors(body: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const stack: { value: unknown; path: PropertyKey[] }[] = [{ value: body, path: [] }];
  while (stack.length > 0 && errors.length < MAX_FIELD_ERRORS) {
    const { value, path } = stack.pop() as { value: unknown; path: PropertyKey[] };
    if (typeof value === "string") {
      const why = unstorable(value);
      if (why) errors.push({ path: formatPath(path), message: why, in: "json" });
    } else if (value !== null && typeof value === "object") {
      if (path.length >= MAX_BODY_DEPTH) {
        errors.push({ path: formatPath(path), message: `nests deeper than ${MAX_BODY_DEPTH} levels`, in: "json" });
        continue;
      }
      if (Array.isArray(value)) {
        for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: [...path, i] });
        continue;
      }
      for (const key of Object.keys(value)) {
        const why = key === "__proto__" ? "is a reserved key" : unstorable(key);
        if (why) {
          const at = key === "__proto__" ? [...path, key] : path;
          errors.push({ path: formatPath(at), message: key === "__proto__" ? why : `has a key that ${why}`, in: "json" });
          continue;
        }
        stack.push({ value: (value as Record<string, unknown>)[key], path: [...path, key] });
      }
    }
  }
  return errors;
}

/** The field errors of the request's path segments and query values. */
function urlTextErrors(c: Context): FieldError[] {
  const errors: FieldError[] = [];
  const url = new URL(c.req.url);
  for (const segment of url.pathname.split("/")) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      continue; // malformed escapes are the router's and validators' to refuse
    }
    const why = unstorable(decoded);
    if (why) errors.push({ path: "", message: `a path segment ${why}`, in: "param" });
  }
  for (const [name, value] of url.searchParams) {
    const why = unstorable(name) ?? unstorable(value);
    if (why) errors.push({ path: unstorable(name) ? "" : name, message: why, in: "query" });
  }
  return errors;
}

/** Middleware: 400 for unstorable text in the URL or the JSON body; otherwise on to the route. */
export function refuseUnstorableText(): MiddlewareHandler {
  return async (c, next) => {
    const errors = urlTextErrors(c);
    if (errors.length === 0 && isJsonBody(c.req.header("content-type")) && c.req.method !== "GET") {
      let body: unknown;
      try {
        body = await c.req.json(); // cached: the route's validator reads the same parse
      } catch {
        return next(); // not JSON: the validator answers 400 with its own message
      }
      errors.push(...bodyTextErrors(body));
    }
    if (errors.length === 0) return next();
    const names = errors.map((f) => f.path || "(whole value)").join(", ");
    return c.json({ error: "bad_request", message: `invalid request text: ${names}`, fields: errors.slice(0, MAX_FIELD_ERRORS) }, 400);
  };
}
