/**
 * control/api/errors.ts renderError: PostgreSQL integrity errors that a race lets past the API's
 * own checks become 409 conflicts, never a 500 — also when the driver wraps them in a `cause`.
 */
import { Hono } from "hono";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { renderError } from "../../../control/api/errors.ts";

/** An app whose only route throws `error`, rendered by renderError. */
function answerTo(error: unknown): Promise<Response> {
  const app = new Hono();
  app.get("/", () => {
    throw error;
  });
  app.onError((err, c) => renderError(err, c, pino({ level: "silent" })));
  return Promise.resolve(app.request("/"));
}

describe("renderError", () => {
  it.each([
    ["23505", 409, "conflict"], // unique_violation
    ["23503", 409, "conflict"], // foreign_key_violation
    ["23001", 409, "conflict"], // restrict_violation (ON DELETE RESTRICT)
    ["42P01", 500, "internal"], // undefined_table: a defect, not the client's
  ])("SQLSTATE %s → %i %s", async (code, status, kind) => {
    for (const error of [
      Object.assign(new Error("db"), { code }),
      new Error("wrapped", { cause: Object.assign(new Error("db"), { code }) }),
    ]) {
      const res = await answerTo(error);
      expect(res.status).toBe(status);
      expect(((await res.json()) as { error: string }).error).toBe(kind);
    }
  });
});
