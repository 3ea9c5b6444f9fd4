/**
 * response-rewrite (worker/plugins/transform/response-rewrite.ts), headers only, on APISIX's
 * t/plugin/response-rewrite.t header cases: add, set, remove in APISIX's order, on top of what the
 * upstream answered, with template values rendered from the request.
 */
import { describe, expect, it } from "vitest";
import type { ResponseRewritePlugin } from "../../../../wasm/plugins-section.ts";
import { parseTemplate } from "../../../../wasm/template.ts";
import { createResponseRewrite } from "../../../../worker/plugins/transform/response-rewrite.ts";
import { answerHeaders, pluginContext } from "../plugin-context.ts";

const config = (h: { set?: Record<string, string>; add?: Record<string, string>; remove?: string[] }): ResponseRewritePlugin => ({
  headers: {
    set: Object.entries(h.set ?? {}).map(([k, v]) => [k, parseTemplate(v)]),
    add: Object.entries(h.add ?? {}).map(([k, v]) => [k, parseTemplate(v)]),
    remove: h.remove ?? [],
  },
});

describe("response-rewrite", () => {
  it.each<[string, Parameters<typeof config>[0], Record<string, string>, Record<string, string | null>]>([
    ["set replaces the upstream's value", { set: { "x-server-id": "3" } }, { "x-server-id": "1" }, { "x-server-id": "3" }],
    [
      "add appends to the upstream's value",
      { add: { "cache-control": "no-store" } },
      { "cache-control": "private" },
      { "cache-control": "private, no-store" },
    ],
    ["remove deletes the upstream's field", { remove: ["server"] }, { server: "nginx" }, { server: null }],
    ["add then set on one name: set wins", { add: { "x-a": "added" }, set: { "x-a": "set" } }, {}, { "x-a": "set" }],
    ["set then remove on one name: removed", { set: { "x-a": "set" }, remove: ["x-a"] }, { "x-a": "up" }, { "x-a": null }],
    ["templates from the request", { set: { "x-route": "$route_id/$request_method/$arg_v" } }, {}, { "x-route": "7/GET/9" }],
  ])("%s", (_name, h, upstream, want) => {
    const c = pluginContext({ url: "/p?v=9", routeId: 7 });
    expect(createResponseRewrite(config(h)).access(c)).toBeNull();
    const headers = answerHeaders(c, upstream);
    for (const [name, value] of Object.entries(want)) expect(headers.get(name), name).toBe(value);
  });

  it("renders per request (two requests, two values)", () => {
    const plugin = createResponseRewrite(config({ set: { "x-user": "$http_x_user" } }));
    const a = pluginContext({ headers: { "x-user": "alice" } });
    const b = pluginContext({ headers: { "x-user": "bob" } });
    plugin.access(a);
    plugin.access(b);
    expect(answerHeaders(a).get("x-user")).toBe("alice");
    expect(answerHeaders(b).get("x-user")).toBe("bob");
  });
});
