/**
 * Templates of header values, query values and rewritten paths (docs/edge-protection.md
 * "Templates and variables"): literal text with nginx variables `$name` / `${name}`, `$$` a
 * literal `$`. Control parses and checks them at admission (parseTemplate); the snapshot carries
 * the parsed form (wasm/plugins-section.ts HeaderTemplate) and the gateway renders it. Pure.
 */
import type { HeaderTemplate } from "./plugins-section.ts";

/** Variables with a fixed name, as nginx / APISIX name them. */
export const TEMPLATE_VARIABLES = [
  "remote_addr",
  "host",
  "uri",
  "request_method",
  "scheme",
  "args",
  "consumer_name",
  "route_id",
  "request_id",
] as const;

/** Variable families by prefix: `http_x_user` is header `x-user`, `arg_q` query `q`, `cookie_s` cookie `s`. */
export const TEMPLATE_PREFIXES = ["http_", "arg_", "cookie_"] as const;

/** A template that cannot be parsed: `offset` is the character where the problem starts. */
export class TemplateError extends Error {
  override name = "TemplateError";
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

/**
 * Parses `text` into literal and variable parts.
 * @param captures allow `$1`…`$9` (regexUri's replacement).
 * @throws TemplateError for an unknown variable, an unclosed `${`, or a lone `$`.
 * @example parseTemplate("id=$arg_id;$$") // → ["id=", {variable: "arg_id"}, ";$"]
 */
export function parseTemplate(text: string, captures = false): HeaderTemplate {
  const parts: HeaderTemplate = [];
  let literal = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c !== "$") {
      literal += c;
      i += 1;
      continue;
    }
    const next = text[i + 1];
    if (next === "$") {
      literal += "$";
      i += 2;
      continue;
    }
    let name: string;
    let end: number;
    if (next === "{") {
      const close = text.indexOf("}", i + 2);
      if (close < 0) throw new TemplateError("unclosed ${", i);
      name = text.slice(i + 2, close);
      end = close + 1;
    } else {
      // nginx: a capture is one digit ($1x is capture 1, then "x"); a name runs over [A-Za-z0-9_].
      const match = /^[1-9]|^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1));
      if (!match) throw new TemplateError("a lone $ (write $$ for a literal $)", i);
      name = match[0];
      end = i + 1 + name.length;
    }
    if (!isVariable(name, captures)) {
      throw new TemplateError(`unknown variable $${name}${captures ? "" : " (captures $1…$9 exist only in regexUri's replacement)"}`, i);
    }
    if (literal) parts.push(literal);
    literal = "";
    parts.push({ variable: name });
    i = end;
  }
  if (literal) parts.push(literal);
  return parts;
}

/** Whether `name` is a known variable (a capture digit only when `captures`). */
function isVariable(name: string, captures: boolean): boolean {
  if (/^[1-9]$/.test(name)) return captures;
  if ((TEMPLATE_VARIABLES as readonly string[]).includes(name)) return true;
  return TEMPLATE_PREFIXES.some((prefix) => name.startsWith(prefix) && name.length > prefix.length);
}
