/**
 * Parses a config center content by its format (docs/config-center.md "Formats and validation"):
 * `json` (JSON.parse), `yaml` (the `yaml` package, YAML 1.2 core schema, one document),
 * `properties` (Java .properties by `dot-properties`: an object of strings), `text` (as is).
 * Pure. A syntax error is reported with its 1-based line and column.
 */
import { parse as parseProperties } from "dot-properties";
import { parseDocument } from "yaml";
import type { CONFIG_FORMATS } from "../db/schema.ts";
import { jsonErrorOffset } from "./json-position.ts";

/** One of the formats a namespace has. */
export type ConfigFormat = (typeof CONFIG_FORMATS)[number];

/** Why a content does not parse: a message and where (1-based line and column). */
export interface SyntaxProblem {
  message: string;
  line: number;
  column: number;
}

/** A parsed content: `value` is what a JSON Schema sees (undefined for text). */
export type Parsed = { ok: true; value: unknown } | { ok: false; problem: SyntaxProblem };

/** Parses `content` as `format`; never throws. */
export function parseContent(format: ConfigFormat, content: string): Parsed {
  switch (format) {
    case "json":
      return parseJson(content);
    case "yaml":
      return parseYaml(content);
    case "properties":
      return { ok: true, value: parseProperties(content) };
    case "text":
      return { ok: true, value: undefined };
  }
}

/** 1-based line and column of a 0-based character offset into `text`. */
export function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split("\n");
  return { line: lines.length, column: lines[lines.length - 1].length + 1 };
}

function parseJson(content: string): Parsed {
  try {
    return { ok: true, value: JSON.parse(content) };
  } catch (error) {
    // V8 names the position for some errors only: find it ourselves, keep V8's words (without
    // the source excerpt some of its messages quote).
    const offset = jsonErrorOffset(content);
    const where = lineColumnAt(content, offset < 0 ? content.length : offset);
    const message = (error as Error).message.replace(/, ".*" is not valid JSON$/s, "").replace(/ in JSON at position \d+.*$/s, "");
    return { ok: false, problem: { message, ...where } };
  }
}

function parseYaml(content: string): Parsed {
  const document = parseDocument(content, { schema: "core", uniqueKeys: true, prettyErrors: true });
  const [error] = document.errors;
  if (error) {
    const at = error.linePos?.[0] ?? lineColumnAt(content, error.pos[0]);
    const line = "line" in at ? at.line : 1;
    const column = "col" in at ? at.col : (at as { column: number }).column;
    // prettyErrors appends "at line N, column M:" and a source excerpt; keep the first line.
    return { ok: false, problem: { message: error.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, ""), line, column } };
  }
  return { ok: true, value: document.toJS() };
}
