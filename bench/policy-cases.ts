/**
 * The routing decision `npm run bench:policy` times: one route with n policies shaped like the
 * Oceanus scenarios (pressure-test header, region id, sticky gray release, QA lane, office
 * network, channel lists, beta cookie, region or city), each testing its own constants, and one
 * request that carries every attribute they read, so no policy errs. Every policy but the last
 * is false for it; the last matches: every approach evaluates all n conditions.
 * No Node or Workers imports: the bench Worker (policy-worker.ts) uses this too.
 */
import type { ConfigModel, PolicyConfig } from "../control/snapshot/model.ts";

/** [key, passway, condition(i)] templates, cycled; `i` keeps each policy's constants distinct. */
const TEMPLATES: [string, PolicyConfig["passway"], (i: number) => string][] = [
  ["X-Stress-Test", "header", (i) => `key == "s${i}"`],
  ["regionId", "query", (i) => `int(key) / 10000 in [${100 + i}, ${200 + i}]`],
  ["uid", "cookie", (i) => `request.header["x-app-version"] == "5.${i}.0" && bucket(key, 1000) < 1`],
  ["lane", "query", (i) => `key.matches("^qa-${i}-[0-9]+$")`],
  ["uid", "cookie", (i) => `int(key) % 1000 == ${i}`],
  ["uid", "cookie", (i) => `cidr("10.${i % 250}.${Math.floor(i / 250) % 250}.0/24").contains(request.ip)`],
  ["X-Channel", "header", (i) => `key in ["c${i}", "d${i}", "e${i}"]`],
  ["beta", "cookie", (i) => `key.startsWith("beta-${i}")`],
  ["X-Region", "header", (i) => `key == "r${i}" || request.query.city == "c${i}"`],
  ["uid", "cookie", (i) => `request.method == "PUT" && int(key) > ${i}`],
];

/** The policy that matches the bench request. */
const LAST: [string, PolicyConfig["passway"], string] = ["X-Stress-Test", "header", 'key == "1" && int(request.cookie.uid) % 1000 > 100'];

export interface BenchPolicy {
  key: string;
  passway: PolicyConfig["passway"];
  condition: string;
}

/** n policies: templates 0 … n−2 (cycled, numbered), then the matching one. */
export function benchPolicies(n: number, offset = 0): BenchPolicy[] {
  const out: BenchPolicy[] = [];
  for (let i = 0; i < n - 1; i++) {
    const [key, passway, condition] = TEMPLATES[(i + offset) % TEMPLATES.length] as (typeof TEMPLATES)[number];
    out.push({ key, passway, condition: condition(i + offset) });
  }
  out.push({ key: LAST[0], passway: LAST[1], condition: LAST[2] });
  return out;
}

/** The bench request: pre-parsed, as every approach receives it. */
export interface BenchRequest {
  method: string;
  host: string;
  path: string;
  query: Map<string, string>;
  header: Map<string, string>;
  cookie: Map<string, string>;
  ip: string;
}

export function benchRequest(): BenchRequest {
  return {
    method: "GET",
    host: "deal.example.com",
    path: "/deal/home",
    query: new Map([
      ["regionId", "310101"],
      ["lane", "prod"],
      ["city", "sh"],
    ]),
    header: new Map([
      ["x-stress-test", "1"],
      ["x-app-version", "5.99.0"],
      ["x-channel", "web"],
      ["x-region", "east"],
      ["user-agent", "bench/1.0"],
    ]),
    cookie: new Map([
      ["uid", "123457"],
      ["beta", "no"],
      ["session", "f3a9c0de"],
    ]),
    ip: "192.168.1.20",
  };
}

/** One service, one route listing `policies` in order; groups `main` and `hit`. */
export function benchModel(policies: BenchPolicy[], routes = 1): ConfigModel {
  const configs: PolicyConfig[] = policies.map((p, i) => ({
    id: i + 1,
    name: `p${i + 1}`,
    category: "private",
    appkey: "deal",
    key: p.key,
    passway: p.passway,
    condition: p.condition,
    group: "hit",
    enabled: true,
    graylist: [],
  }));
  const per = Math.ceil(configs.length / routes);
  const instance = (id: number) => ({
    id,
    host: "10.0.0.1",
    port: 8000 + id,
    weight: 1,
    status: "alive" as const,
    zone: "",
    lane: "",
    version: "",
  });
  return {
    groups: [
      { id: 1, appkey: "deal", name: "main", balancer: "swrr", instances: [instance(1)] },
      { id: 2, appkey: "deal", name: "hit", balancer: "swrr", instances: [instance(2)] },
    ],
    policies: configs,
    routes: Array.from({ length: routes }, (_, r) => ({
      id: r + 1,
      appkey: "deal",
      host: "deal.example.com",
      path: routes === 1 ? "/deal" : `/deal/${r}`,
      match: "prefix" as const,
      defaultGroup: "main",
      policies: configs.slice(r * per, (r + 1) * per).map((p) => p.name),
      timeoutMs: 15000,
    })),
  };
}
