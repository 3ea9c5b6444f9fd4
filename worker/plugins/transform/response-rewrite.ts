/**
 * APISIX response-rewrite, headers only (apisix/plugins/response-rewrite.lua header_filter):
 * adds, sets, then removes fields of the answer — the upstream's or the gateway's own — in that
 * order, as APISIX's code runs them. Values are templates, rendered from the request when the
 * route's plugins run (the answer's fields are not variables).
 */
import type { ResponseRewritePlugin } from "../../../wasm/plugins-section.ts";
import type { AccessPlugin, PluginContext } from "../context.ts";
import { isConstantTemplate, renderTemplate } from "../variables.ts";

/** Builds the plugin for one route from its PLUGINS entry (once per snapshot). */
export function createResponseRewrite(config: ResponseRewritePlugin): AccessPlugin {
  const { set, add, remove } = config.headers;
  // A rewrite of constant values is the same edit for every request: built once.
  if ([...set, ...add].every(([, t]) => isConstantTemplate(t))) {
    const added = add.map(([name, t]) => [name, t.join("")] as const);
    const setTo = set.map(([name, t]) => [name, t.join("")] as const);
    const edit = (headers: Headers) => applyHeaderEdits(headers, added, setTo, remove);
    return {
      access(c: PluginContext): null {
        c.responseEdits.push(edit);
        return null;
      },
    };
  }
  return {
    access(c: PluginContext): null {
      const added = add.map(([name, t]) => [name, renderTemplate(t, c)] as const);
      const setTo = set.map(([name, t]) => [name, renderTemplate(t, c)] as const);
      c.responseEdits.push((headers) => applyHeaderEdits(headers, added, setTo, remove));
      return null;
    },
  };
}

/** APISIX's order: add (append), set (replace), remove. */
export function applyHeaderEdits(
  headers: Headers,
  add: readonly (readonly [string, string])[],
  set: readonly (readonly [string, string])[],
  remove: readonly string[],
): void {
  for (const [name, value] of add) headers.append(name, value);
  for (const [name, value] of set) headers.set(name, value);
  for (const name of remove) headers.delete(name);
}
