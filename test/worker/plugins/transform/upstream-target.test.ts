/**
 * The pure path and query work behind proxy-rewrite (worker/plugins/transform/upstream-target.ts):
 * prefix stripping on segment boundaries, rewritten targets made safe for a request line, the
 * client's query carried over as APISIX does, and parameters removed or added byte-exactly.
 */
import { describe, expect, it } from "vitest";
import { editQuery, mergeQuery, splitTarget, stripPathPrefix } from "../../../../worker/plugins/transform/upstream-target.ts";

describe("upstream-target", () => {
  it.each([
    ["/api/x", "/api", "/x"],
    ["/api", "/api", "/"],
    ["/api/", "/api", "/"],
    ["/apix", "/api", "/apix"],
    ["/other/api/x", "/api", "/other/api/x"],
    ["/api/x", "/api/", "/x"],
    ["/api", "/api/", "/"],
    ["/x", "/", "/x"],
    ["/a/b/c", "/a/b", "/c"],
  ])("stripPathPrefix(%s, %s) = %s", (path, prefix, want) => {
    expect(stripPathPrefix(path, prefix)).toBe(want);
  });

  it.each([
    ["/v2/a b", { path: "/v2/a%20b", query: null }],
    ["/v2?x=1#f", { path: "/v2", query: "x=1%23f" }],
    ["v2", { path: "/v2", query: null }],
    ["", { path: "/", query: null }],
    ["/é/%41", { path: "/%C3%A9/%41", query: null }],
    ["/a\r\nHost: x", { path: "/a%0D%0AHost:%20x", query: null }],
    ["/a?b=c d&e", { path: "/a", query: "b=c%20d&e" }],
    ["/a?", { path: "/a", query: "" }],
    ["/\ud800", { path: "/%EF%BF%BD", query: null }],
  ])("splitTarget(%j)", (text, want) => {
    expect(splitTarget(text)).toEqual(want);
  });

  it.each<[string | null, string, string]>([
    [null, "", ""],
    [null, "a=1", "a=1"],
    ["x=1", "", "x=1"],
    ["x=1", "a=1", "x=1&a=1"],
    ["", "a=1", "a=1"],
  ])("mergeQuery(%j, %j) = %j", (own, client, want) => {
    expect(mergeQuery(own, client)).toBe(want);
  });

  it.each<[string, string[], [string, string][], string]>([
    ["a=1&apikey=s&b=2", ["apikey"], [], "a=1&b=2"],
    ["api%6Bey=s&a=%20", ["apikey"], [], "a=%20"], // names compared decoded, others kept byte for byte
    ["my+key=1&b", ["my key"], [], "b"],
    ["a=1&&b=2", ["x"], [], "a=1&b=2"],
    ["", [], [["v", "x y&z"]], "v=x%20y%26z"],
    ["v=1&w=2", ["v"], [["v", "2"]], "w=2&v=2"],
    ["bad=%E0%A4%A", ["bad"], [], ""],
  ])("editQuery(%j, %j, %j) = %j", (query, remove, add, want) => {
    expect(editQuery(query, remove, add)).toBe(want);
  });
});
