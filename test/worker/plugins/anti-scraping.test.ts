/**
 * Oceanus anti-scraping (docs/edge-protection.md) as tables: User-Agent patterns (compiled by
 * control's regex compiler, carried as the section's JSON), missing headers, per-client rate in
 * fixed windows, every criterion of a rule required, the first matching rule acting (block 403,
 * challenge 429 with Retry-After, suspect → the group override), exempt consumers; and the
 * per-isolate state: counts survive a snapshot swap, are per route and per client, and stay
 * within their bounds.
 */
import { describe, expect, it } from "vitest";
import { compileRegex } from "../../../control/compiler/regex/index.ts";
import type { AntiScrapingPlugin, AntiScrapingRule, SearchDfa } from "../../../wasm/plugins-section.ts";
import { createAntiScraping } from "../../../worker/plugins/anti-scraping.ts";
import { AntiScrapingState, ClientWindow, createAntiScrapingState } from "../../../worker/plugins/anti-scraping-state.ts";
import { dfaFromSection } from "../../../worker/plugins/search-dfa.ts";
import { pluginContext, runAccess, type TestRequest } from "./plugin-context.ts";

/** The pattern as control writes it into the section (typed arrays → JSON arrays). */
function sectionDfa(pattern: string): SearchDfa {
  const dfa = compileRegex(pattern);
  return JSON.parse(
    JSON.stringify({
      stateCount: dfa.stateCount,
      classCount: dfa.classCount,
      classMap: Array.from(dfa.classMap),
      flags: Array.from(dfa.flags),
      next: Array.from(dfa.next),
    }),
  ) as SearchDfa;
}

const rule = (name: string, fields: Partial<Omit<AntiScrapingRule, "userAgent">> & { userAgent?: string }): AntiScrapingRule => ({
  name,
  missingHeaders: [],
  rate: null,
  action: "block",
  ...fields,
  userAgent: fields.userAgent === undefined ? null : sectionDfa(fields.userAgent),
});
const plugin = (rules: AntiScrapingRule[], extra: Partial<AntiScrapingPlugin> = {}): AntiScrapingPlugin => ({
  rules,
  suspectGroup: -1,
  exemptConsumers: true,
  ...extra,
});
const BROWSER = { "user-agent": "Mozilla/5.0 (X11; Linux x86_64)", accept: "text/html", "accept-language": "en" };
const T0 = 1_800_000_000_000; // a multiple of 10 s

type Outcome = null | { status: number; rule: string; retryAfter?: string } | { group: number };

async function outcome(config: AntiScrapingPlugin, state: AntiScrapingState, req: TestRequest, consumer = false): Promise<Outcome> {
  const c = pluginContext({ peer: "203.0.113.7:1", nowMs: T0, ...req });
  if (consumer) c.consumer = { name: "alice", labels: {}, keyHash: null, jwt: null };
  const answer = await runAccess(createAntiScraping(config, state), c);
  if (answer) {
    const retryAfter = answer.headers.get("retry-after");
    expect(answer.body.error).toBe(answer.status === 403 ? "blocked" : "challenge");
    return { status: answer.status, rule: answer.body.rule as string, ...(retryAfter ? { retryAfter } : {}) };
  }
  return c.groupOverride === -1 ? null : { group: c.groupOverride };
}

const BOTS = rule("bots", { userAgent: "python-requests|curl/|[Ss]crapy" });
const cases: [string, AntiScrapingPlugin, TestRequest, Outcome, boolean?][] = [
  ["user agent matches → block", plugin([BOTS]), { headers: { "user-agent": "python-requests/2.31" } }, { status: 403, rule: "bots" }],
  [
    "unanchored search in the user agent",
    plugin([BOTS]),
    { headers: { "user-agent": "Mozilla/5.0 Scrapy/2.11" } },
    { status: 403, rule: "bots" },
  ],
  ["user agent does not match → on", plugin([BOTS]), { headers: BROWSER }, null],
  ['missing user agent is ""', plugin([rule("empty-ua", { userAgent: "^$" })]), {}, { status: 403, rule: "empty-ua" }],
  ["missing user agent does not match a non-empty pattern", plugin([BOTS]), {}, null],
  [
    "missing header (any of them) → challenge",
    plugin([rule("no-lang", { missingHeaders: ["Accept-Language", "accept"], action: "challenge" })]),
    { headers: { "user-agent": "x", accept: "*/*" } },
    { status: 429, rule: "no-lang", retryAfter: "60" },
  ],
  ["all headers present → on", plugin([rule("no-lang", { missingHeaders: ["accept-language", "accept"] })]), { headers: BROWSER }, null],
  [
    "all criteria must hold: UA matches but the headers are there",
    plugin([rule("curl-bare", { userAgent: "curl/", missingHeaders: ["accept-language"] })]),
    { headers: { "user-agent": "curl/8", "accept-language": "en" } },
    null,
  ],
  [
    "all criteria hold",
    plugin([rule("curl-bare", { userAgent: "curl/", missingHeaders: ["accept-language"] })]),
    { headers: { "user-agent": "curl/8" } },
    { status: 403, rule: "curl-bare" },
  ],
  [
    "suspect → the suspect group, request goes on",
    plugin([rule("odd", { missingHeaders: ["accept"], action: "suspect" })], { suspectGroup: 3 }),
    { headers: { "user-agent": "x" } },
    { group: 3 },
  ],
  [
    "the first matching rule acts",
    plugin([rule("first", { missingHeaders: ["accept"], action: "suspect" }), BOTS], { suspectGroup: 2 }),
    { headers: { "user-agent": "curl/8" } },
    { group: 2 },
  ],
  [
    "a non-matching rule lets a later one act",
    plugin([rule("first", { missingHeaders: ["accept"], action: "suspect" }), BOTS], { suspectGroup: 2 }),
    { headers: { "user-agent": "curl/8", accept: "*/*" } },
    { status: 403, rule: "bots" },
  ],
  ["exempt consumers skip the rules", plugin([BOTS]), { headers: { "user-agent": "curl/8" } }, null, true],
  [
    "exemptConsumers=false: consumers too",
    plugin([BOTS], { exemptConsumers: false }),
    { headers: { "user-agent": "curl/8" } },
    { status: 403, rule: "bots" },
    true,
  ],
];

describe("anti-scraping rules", () => {
  it.each(cases)("%s", async (_, config, req, want, consumer) => {
    expect(await outcome(config, createAntiScrapingState(), req, consumer)).toEqual(want);
  });

  it("answers synchronously", () => {
    const answer = createAntiScraping(plugin([BOTS]), createAntiScrapingState()).access(
      pluginContext({ headers: { "user-agent": "curl/8" } }),
    );
    expect(answer).toBeInstanceOf(Response);
  });
});

describe("anti-scraping rate", () => {
  const FAST = rule("fast", { rate: { count: 3, windowSeconds: 10 }, action: "challenge" });

  it("challenges a client above `count` requests in the window, with Retry-After to the window's end", async () => {
    const state = createAntiScrapingState();
    const config = plugin([FAST]);
    const at = (ms: number, peer = "203.0.113.7:1") => outcome(config, state, { nowMs: T0 + ms, peer, headers: BROWSER });
    expect([await at(0), await at(1000), await at(2000)]).toEqual([null, null, null]);
    expect(await at(2500)).toEqual({ status: 429, rule: "fast", retryAfter: "8" });
    expect(await at(2600, "198.51.100.1:1")).toBeNull(); // per client address
    expect(await at(9999)).toEqual({ status: 429, rule: "fast", retryAfter: "1" });
    expect(await at(10_000)).toBeNull(); // the next window
  });

  it("counts only requests meeting the rule's other criteria", async () => {
    const state = createAntiScrapingState();
    const config = plugin([rule("fast-curl", { userAgent: "curl/", rate: { count: 1, windowSeconds: 10 } })]);
    for (let i = 0; i < 5; i++) expect(await outcome(config, state, { headers: BROWSER })).toBeNull();
    expect(await outcome(config, state, { headers: { "user-agent": "curl/8" } })).toBeNull();
    expect(await outcome(config, state, { headers: { "user-agent": "curl/8" } })).toEqual({ status: 403, rule: "fast-curl" });
  });

  it("keeps counts across a snapshot swap (a new plugin, the same isolate state), per route", async () => {
    const state = createAntiScrapingState();
    const req = { headers: BROWSER };
    for (let i = 0; i < 3; i++) expect(await outcome(plugin([FAST]), state, req)).toBeNull();
    // Each call above built a new plugin, as each snapshot does: the fourth is still the fourth.
    expect(await outcome(plugin([FAST]), state, req)).toEqual({ status: 429, rule: "fast", retryAfter: "10" });
    expect(await outcome(plugin([FAST]), state, { ...req, routeId: 2 })).toBeNull();
    // A fresh isolate (new state) starts from zero.
    expect(await outcome(plugin([FAST]), createAntiScrapingState(), req)).toBeNull();
  });

  it("stays within its bounds: windows per isolate and addresses per window", () => {
    const state = new AntiScrapingState(2, 3);
    const w1 = state.window(1, "a", 10_000);
    expect(state.window(1, "a", 10_000)).toBe(w1);
    state.window(1, "b", 10_000);
    state.window(2, "a", 10_000);
    expect(state.size).toBe(2);
    expect(state.window(1, "a", 10_000)).not.toBe(w1); // the oldest was dropped
    const window = new ClientWindow(10_000, 3);
    for (const ip of ["a", "b", "c", "d", "e"]) window.hit(ip, T0);
    expect(window.clients).toBe(3);
    expect(window.hit("e", T0)).toBe(2);
    expect(window.hit("a", T0)).toBe(1); // evicted: restarts
    window.hit("x", T0 + 10_000);
    expect(window.clients).toBe(1); // a new period empties the map
  });
});

describe("dfaFromSection", () => {
  it("refuses tables whose sizes disagree or transitions leave the automaton", () => {
    const good = sectionDfa("ab");
    expect(() => dfaFromSection(good)).not.toThrow();
    expect(() => dfaFromSection({ ...good, classMap: good.classMap.slice(1) })).toThrow();
    expect(() => dfaFromSection({ ...good, next: good.next.map(() => good.stateCount) })).toThrow();
  });
});
