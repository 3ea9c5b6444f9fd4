/**
 * The 50 policies of the "50 policies" comparison, each written twice with the same meaning: as
 * a Sluice CEL condition (seeded through the control API on the demo route) and as an Oceanus
 * condition template (Lua source with `$key` where the key's value is rendered, bench/oceanus/).
 * All read `uid` from the query, as the demo policy does, and only arithmetic, relational and
 * logical operators (the article's condition language). The 49 extra ones are false for every
 * uid the bench sends (0…999); the demo policy comes last, so every request evaluates all 50.
 */

export interface DualPolicy {
  name: string;
  key: string;
  passway: "query";
  /** Sluice: CEL over `key`. */
  cel: string;
  /** Oceanus: Lua expression template, `$key` replaced by the value as a quoted Lua string. */
  lua: string;
  group: "stable" | "canary";
}

/** The demo route's own policy (control/demo/seed.ts): 10 % of uids to canary. */
export const DEMO_POLICY: DualPolicy = {
  name: "demo-canary-uid",
  key: "uid",
  passway: "query",
  cel: "int(key) % 100 < 10",
  lua: "tonumber($key) % 100 < 10",
  group: "canary",
};

/** [CEL, Lua] condition pairs, cycled; `i` keeps each policy's constants distinct. All false for uid 0…999. */
const TEMPLATES: ((i: number) => [string, string])[] = [
  (i) => [`int(key) == ${1000 + i}`, `tonumber($key) == ${1000 + i}`],
  (i) => [`int(key) % 97 == ${97 + i}`, `tonumber($key) % 97 == ${97 + i}`],
  (i) => [`int(key) >= ${1000 + i} && int(key) < ${2000 + i}`, `tonumber($key) >= ${1000 + i} and tonumber($key) < ${2000 + i}`],
  (i) => [`key == "vip-${i}"`, `$key == "vip-${i}"`],
  (i) => [`int(key) < 0 || int(key) > ${100000 + i}`, `tonumber($key) < 0 or tonumber($key) > ${100000 + i}`],
  (i) => [`int(key) / 1000 == ${1 + i}`, `math.floor(tonumber($key) / 1000) == ${1 + i}`],
  (i) => [`key.startsWith("beta-${i}")`, `string.sub($key, 1, ${`beta-${i}`.length}) == "beta-${i}"`],
];

/** `count` − 1 non-matching policies, then DEMO_POLICY: the evaluation order on the route. */
export function benchPolicies(count: number): DualPolicy[] {
  const extra = Array.from({ length: count - 1 }, (_, i): DualPolicy => {
    const [cel, lua] = (TEMPLATES[i % TEMPLATES.length] as (i: number) => [string, string])(i);
    return { name: `bench-extra-${i + 1}`, key: "uid", passway: "query", cel, lua, group: "canary" };
  });
  return [...extra, DEMO_POLICY];
}

/** Policies on the route in the "50 policies" scenarios. */
export const POLICY_COUNT = 50;
