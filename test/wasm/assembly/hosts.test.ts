/**
 * Route lookup in the WASM hot path ("HOST_TABLE and HOSTS" in docs/snapshot-format.md): exact
 * beats prefix, the longest prefix wins, hosts fall back through wildcards to `*`, and a host
 * without a matching route falls through to the next candidate.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { DecideStatus, type HotPath } from "../../../wasm/host.ts";
import { group, instance, instantiate, request, route, write } from "../../support/wasm-fixtures.ts";

let hot: HotPath;

beforeAll(async () => {
  ({ hot } = await instantiate());
  const file = write(
    {
      groups: [group(1, "main", [instance(1, 1)])],
      policies: [],
      routes: [
        route(1, "api.example.com", "/login", { match: "exact" }),
        route(2, "api.example.com", "/"),
        route(3, "api.example.com", "/api"),
        route(4, "api.example.com", "/api/v2"),
        route(5, "api.example.com", "/café", { match: "exact" }),
        route(10, "*.example.com", "/"),
        route(11, "*.example.com", "/only-wild", { match: "exact" }),
        route(20, "*.b.example.com", "/deep"),
        route(30, "*", "/public"),
        route(40, "other.com", "/x", { match: "exact" }),
      ],
    },
    1n,
  );
  expect(hot.load(file)).toEqual({ ok: true, version: 1n });
});

/** Control's route id chosen for host and path, or null when there is no route. */
function routeId(host: string, path: string): number | null {
  const r = hot.decide(request(host, path));
  if (r.status === DecideStatus.NO_ROUTE) return null;
  return hot.snapshot.routes[r.route]?.id ?? -1;
}

describe("route precedence", () => {
  const cases: { name: string; host: string; path: string; want: number | null }[] = [
    { name: "exact beats a matching prefix", host: "api.example.com", path: "/login", want: 1 },
    { name: "exact needs the whole path", host: "api.example.com", path: "/login/x", want: 2 },
    { name: "longest prefix wins", host: "api.example.com", path: "/api/v2/users", want: 4 },
    { name: "next longest prefix", host: "api.example.com", path: "/api/v1", want: 3 },
    { name: "prefixes are plain string prefixes (nginx)", host: "api.example.com", path: "/apix", want: 3 },
    { name: "`/` matches everything", host: "api.example.com", path: "/other", want: 2 },
    { name: "non-ASCII exact path", host: "api.example.com", path: "/café", want: 5 },
    { name: "a found host's own routes win over wildcards", host: "api.example.com", path: "/only-wild", want: 2 },
    { name: "host lowercased before lookup", host: "API.Example.COM", path: "/login", want: 1 },
    { name: "wildcard host", host: "x.example.com", path: "/only-wild", want: 11 },
    { name: "wildcard host, prefix", host: "x.example.com", path: "/other", want: 10 },
    { name: "closest wildcard first", host: "a.b.example.com", path: "/deep/1", want: 20 },
    { name: "falls back to a shorter wildcard", host: "a.b.example.com", path: "/other", want: 10 },
    { name: "exact host without a matching route falls to `*`", host: "other.com", path: "/public/a", want: 30 },
    { name: "exact host route", host: "other.com", path: "/x", want: 40 },
    { name: "`*.example.com` does not match `example.com`", host: "example.com", path: "/other", want: null },
    { name: "`*` is last", host: "example.com", path: "/public", want: 30 },
    { name: "unknown host, `*` route", host: "nowhere.test", path: "/public", want: 30 },
    { name: "no route", host: "other.com", path: "/nothing", want: null },
    { name: "empty host", host: "", path: "/public", want: 30 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(routeId(c.host, c.path)).toBe(c.want);
    });
  }

  it("fills nothing but the status when there is no route", () => {
    expect({ ...hot.decide(request("other.com", "/nothing")) }).toEqual({
      status: DecideStatus.NO_ROUTE,
      route: -1,
      policy: -1,
      group: -1,
      instance: -1,
      conditionErrors: 0,
      probe: false,
      panic: false,
    });
  });

  it("a hostile host of many labels is still answered", () => {
    expect(routeId(`${"a.".repeat(20000)}example.com`, "/other")).toBe(10);
  });
});

describe("without a snapshot", () => {
  it("reports status 1", async () => {
    const { hot: empty } = await instantiate();
    expect(empty.decide(request("api.example.com", "/")).status).toBe(DecideStatus.NO_SNAPSHOT);
    expect(empty.snapshot.routes).toEqual([]);
  });
});
