/**
 * Rendering header, query and path templates (wasm/template.ts parses them at admission) with the
 * request's nginx variables (docs/edge-protection.md "Templates and variables"). nginx semantics:
 * an absent value renders as "", `$http_x_user` is header `x-user`.
 */
import type { HeaderTemplate } from "../../wasm/plugins-section.ts";
import { Source } from "../../wasm/snapshot-info.ts";
import type { PluginContext } from "./context.ts";

/**
 * The value of variable `name` for request `c` ("" when absent, as nginx).
 * - `remote_addr`: `request.ip` (the trusted-proxy rule); `host`: lowercase, no port; `uri`: the
 *   normalised path (percent-encoded as the URL parser leaves it); `scheme`: `http` / `https`;
 *   `args`: the query string without `?`.
 * - `http_NAME`: header NAME with `_` read as `-` (joined with ", " when repeated, Fetch);
 *   `arg_NAME`: the first query parameter NAME, decoded; `cookie_NAME`: the cookie's value.
 * - `1`…`9`: `captures[n]` (regexUri's groups).
 */
export function variableValue(name: string, c: PluginContext, captures?: readonly string[]): string {
  switch (name) {
    case "remote_addr":
      return c.attributes.clientIp() ?? "";
    case "host":
      return c.url.hostname;
    case "uri":
      return c.url.pathname;
    case "request_method":
      return c.request.method;
    case "scheme":
      return c.url.protocol === "https:" ? "https" : "http";
    case "args":
      return c.url.search.slice(1);
    case "consumer_name":
      return c.consumer?.name ?? "";
    case "route_id":
      return String(c.routeId);
    case "request_id":
      return c.requestId;
  }
  if (name.length === 1 && name >= "1" && name <= "9") return captures?.[name.charCodeAt(0) - 48] ?? "";
  if (name.startsWith("http_")) return c.request.headers.get(name.slice(5).replaceAll("_", "-")) ?? "";
  if (name.startsWith("arg_")) return c.attributes.attribute(Source.QUERY, name.slice(4)) ?? "";
  if (name.startsWith("cookie_")) return c.attributes.attribute(Source.COOKIE, name.slice(7)) ?? "";
  return ""; // admission refuses unknown variables; one from a newer control renders as absent
}

/**
 * Renders template `t` for request `c`: literal parts as they are, variables by variableValue.
 * @param captures regexUri's groups, `captures[k]` the text of group k ("" when it did not take part).
 * @example renderTemplate(["id=", {variable: "arg_id"}], c) // → "id=42" for /x?id=42, "id=" without it
 */
export function renderTemplate(t: HeaderTemplate, c: PluginContext, captures?: readonly string[]): string {
  if (t.length === 1 && typeof t[0] === "string") return t[0];
  let out = "";
  for (const part of t) out += typeof part === "string" ? part : variableValue(part.variable, c, captures);
  return out;
}

/** Whether `t` is plain text, the same for every request (rendered once when a plugin is built). */
export function isConstantTemplate(t: HeaderTemplate): boolean {
  return t.every((part) => typeof part === "string");
}
