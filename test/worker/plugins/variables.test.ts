/**
 * Template rendering (worker/plugins/variables.ts) with a real Request and RequestAttributes:
 * every variable of docs/edge-protection.md "Templates and variables", nginx's "" for absent
 * values, `$http_x_user` as header `x-user`, and regexUri captures.
 */
import { describe, expect, it } from "vitest";
import { parseTemplate } from "../../../wasm/template.ts";
import { renderTemplate } from "../../../worker/plugins/variables.ts";
import { pluginContext } from "./plugin-context.ts";

const c = pluginContext({
  url: "https://Shop.Example:8443/a%20b/c?x=1&y=%C3%A9&x=2",
  method: "PUT",
  headers: { "x-user": "alice", "x-multi": "a", cookie: 's=1; t="two"' },
  peer: "192.0.2.1:3000",
  consumer: "bob",
  routeId: 42,
  requestId: "req-16",
});
c.request.headers.append("x-multi", "b");

describe("renderTemplate", () => {
  it.each([
    ["$remote_addr", "192.0.2.1"],
    ["$host|$uri|$request_method|$scheme|$args", "shop.example|/a%20b/c|PUT|https|x=1&y=%C3%A9&x=2"],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: nginx variables in a template, not JS
    ["$http_x_user ${http_x_user}s $http_x_multi", "alice alices a, b"],
    ["$arg_x $arg_y", "1 é"],
    ["$cookie_s/$cookie_t", "1/two"],
    ["$consumer_name@$route_id#$request_id", "bob@42#req-16"],
    ["[$http_x_absent][$arg_absent][$cookie_absent]", "[][][]"],
    ["$$arg_x costs $$5", "$arg_x costs $5"],
    ["plain", "plain"],
  ])("%s → %s", (text, want) => {
    expect(renderTemplate(parseTemplate(text), c)).toBe(want);
  });

  it("captures: $1…$9 from regexUri, absent ones empty", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: nginx variables in a template, not JS
    const t = parseTemplate("/$2/$1$3x/${9}", true);
    expect(renderTemplate(t, c, ["/p/q", "p", "q"])).toBe("/q/px/");
  });

  it("an unauthenticated request and no peer render as empty", () => {
    expect(renderTemplate(parseTemplate("[$consumer_name][$remote_addr]"), pluginContext({ peer: "" }))).toBe("[][]");
  });
});
