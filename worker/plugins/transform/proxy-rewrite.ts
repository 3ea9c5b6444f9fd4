/**
 * APISIX proxy-rewrite (apisix/plugins/proxy-rewrite.lua): edits the request sent upstream —
 * path (prefix strip, `regexUri` with captures, or `uri` set from a template), query parameters,
 * headers and Host — while routing policies keep seeing the client's request. Records the edit in
 * `c.upstream` (worker/plugins/context.ts UpstreamEdit); forward() applies it to every attempt.
 *
 * As APISIX: a rewritten path keeps the client's query (appended after the rewrite's own, `&`),
 * the regex replaces its first match in the path and a path it does not match is kept, and header
 * edits run add, then set, then remove. Sluice's additions: `stripPrefix` (on a segment boundary)
 * and `query.add` / `query.remove` (remove first, so removing and adding a name replaces it).
 */
import type { ProxyRewritePlugin } from "../../../wasm/plugins-section.ts";
import { type PikeProgram, pikeProgram, pikeSearch } from "../../../wasm/reference/pike.ts";
import type { AccessPlugin, AttemptTarget, PluginContext, UpstreamEdit } from "../context.ts";
import { renderTemplate } from "../variables.ts";
import { applyHeaderEdits } from "./response-rewrite.ts";
import { editQuery, joinTarget, mergeQuery, splitRequestTarget, splitTarget, stripPathPrefix } from "./upstream-target.ts";

/** The Host an attempt carries for APISIX `pass_host: node`: the instance's host, with its port unless 80. */
export function nodeHost(target: AttemptTarget): string {
  const host = target.host.includes(":") ? `[${target.host}]` : target.host;
  return target.port === 80 ? host : `${host}:${target.port}`;
}

/** The groups of a match (`slots` from pikeSearch) as text: "" for a group that did not take part (nginx). */
function captureTexts(path: string, slots: readonly number[]): string[] {
  const out: string[] = [];
  for (let k = 0; k < slots.length; k += 2) {
    const from = slots[k] as number;
    out.push(from < 0 ? "" : path.slice(from, slots[k + 1] as number));
  }
  return out;
}

/**
 * Builds the plugin for one route from its PLUGINS entry (once per snapshot).
 * @throws Error when the entry's capture automaton is corrupt (control never writes one).
 */
export function createProxyRewrite(config: ProxyRewritePlugin): AccessPlugin {
  const path = config.path;
  const program: PikeProgram | null = path?.kind === "regex" ? pikeProgram(path.nfa) : null;
  const editsTarget = path !== null || config.query.add.length > 0 || config.query.remove.length > 0;
  const { set, add, remove } = config.headers;
  const editsHeaders = set.length > 0 || add.length > 0 || remove.length > 0;
  const rewriteHost = config.passHost === "rewrite" ? config.host : null;

  /** The path sent upstream (a rewrite's own `?query` split off), from the current one. */
  const rewritePath = (c: PluginContext, current: string): { path: string; query: string | null } => {
    if (path === null) return { path: current, query: null };
    switch (path.kind) {
      case "strip":
        return { path: stripPathPrefix(current, path.prefix), query: null };
      case "set":
        return splitTarget(renderTemplate(path.path, c));
      case "regex": {
        const slots = pikeSearch(program as PikeProgram, current);
        if (slots === null) return { path: current, query: null };
        const replacement = renderTemplate(path.replacement, c, captureTexts(current, slots));
        return splitTarget(current.slice(0, slots[0]) + replacement + current.slice(slots[1]));
      }
    }
  };

  return {
    access(c: PluginContext): null {
      const edit: UpstreamEdit = c.upstream ?? { pathAndQuery: null, headers: [] };
      c.upstream = edit;
      if (editsTarget) {
        // From what earlier plugins left (key-auth's hide_credentials may have taken a parameter out).
        const current =
          edit.pathAndQuery === null ? { path: c.url.pathname, query: c.url.search.slice(1) } : splitRequestTarget(edit.pathAndQuery);
        const rewritten = rewritePath(c, current.path);
        let query = mergeQuery(rewritten.query, current.query);
        if (config.query.add.length > 0 || config.query.remove.length > 0) {
          const added = config.query.add.map(([name, t]) => [name, renderTemplate(t, c)] as const);
          query = editQuery(query, config.query.remove, added);
        }
        edit.pathAndQuery = joinTarget(rewritten.path, query);
      }
      // Values are rendered now, from the client's request; the attempt only writes them.
      const added = add.map(([name, t]) => [name, renderTemplate(t, c)] as const);
      const setTo = set.map(([name, t]) => [name, renderTemplate(t, c)] as const);
      const clientHost = config.passHost === "pass" ? (c.request.headers.get("host") ?? c.url.host) : null;
      edit.headers.push((headers: Headers, target: AttemptTarget) => {
        if (editsHeaders) applyHeaderEdits(headers, added, setTo, remove);
        headers.set("host", rewriteHost ?? clientHost ?? nodeHost(target));
      });
      return null;
    },
  };
}
