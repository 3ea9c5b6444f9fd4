/**
 * Oceanus anti-scraping (docs/edge-protection.md): rules on a request's User-Agent, missing
 * headers and its client's request rate. A rule matches when every criterion it gives holds; the
 * first matching rule acts: `block` → 403 `{"error":"blocked","rule":name}`, `challenge` → 429
 * `{"error":"challenge","rule":name}` with Retry-After, `suspect` → `c.groupOverride` =
 * `suspectGroup` (the request goes on, to the suspect group). With `exemptConsumers`, a request
 * an auth plugin recognised skips the rules.
 *
 * Criteria are tested cheapest first; a rule's rate counts only the requests that met its other
 * criteria (and reached it: a request stops at the first matching rule), per client address
 * (`request.ip`; unknown → ""), in the isolate's AntiScrapingState. User-Agent patterns are
 * unanchored searches (a missing User-Agent is ""), linear time (search-dfa.ts).
 */
import type { AntiScrapingPlugin } from "../../wasm/plugins-section.ts";
import { type Dfa, runDfa } from "../../wasm/reference/search-dfa.ts";
import type { AntiScrapingState, ClientWindow } from "./anti-scraping-state.ts";
import { type AccessPlugin, type PluginContext, pluginResponse } from "./context.ts";
import { dfaFromSection } from "./search-dfa.ts";

/** Retry-After of a `challenge` from a rule without a rate (seconds). */
export const CHALLENGE_RETRY_AFTER_SECONDS = 60;

interface CompiledRule {
  name: string;
  userAgent: Dfa | null;
  missingHeaders: string[];
  rate: { count: number; windowMs: number } | null;
  action: "block" | "challenge" | "suspect";
}

/**
 * Builds a route's anti-scraping from its PLUGINS entry and the isolate's state.
 * @throws Error when a rule's user-agent automaton is malformed (search-dfa.ts).
 */
export function createAntiScraping(config: AntiScrapingPlugin, state: AntiScrapingState): AccessPlugin {
  const rules: CompiledRule[] = config.rules.map((rule) => ({
    name: rule.name,
    userAgent: rule.userAgent ? dfaFromSection(rule.userAgent) : null,
    missingHeaders: rule.missingHeaders.map((h) => h.toLowerCase()),
    rate: rule.rate ? { count: rule.rate.count, windowMs: rule.rate.windowSeconds * 1000 } : null,
    action: rule.action,
  }));
  // The windows of this route's rules, resolved on the first request (the route id is the context's).
  let windowsRoute = Number.NaN;
  let windows: (ClientWindow | null)[] = [];
  const windowsFor = (routeId: number) => {
    if (routeId !== windowsRoute) {
      windowsRoute = routeId;
      windows = rules.map((r) => (r.rate ? state.window(routeId, r.name, r.rate.windowMs) : null));
    }
    return windows;
  };

  const act = (c: PluginContext, rule: CompiledRule, window: ClientWindow | null): Response | null => {
    switch (rule.action) {
      case "block":
        return pluginResponse(403, "blocked", "request blocked", undefined, { rule: rule.name });
      case "challenge": {
        const retryAfter = window ? Math.max(1, Math.ceil(window.resetInMs(c.nowMs) / 1000)) : CHALLENGE_RETRY_AFTER_SECONDS;
        return pluginResponse(
          429,
          "challenge",
          "too many requests, retry later",
          { "retry-after": String(retryAfter) },
          { rule: rule.name },
        );
      }
      case "suspect":
        c.groupOverride = config.suspectGroup;
        return null;
    }
  };

  return {
    access(c) {
      if (config.exemptConsumers && c.consumer) return null;
      const ruleWindows = windowsFor(c.routeId);
      let userAgent: string | undefined;
      for (let i = 0; i < rules.length; i++) {
        const rule = rules[i] as CompiledRule;
        if (rule.missingHeaders.length > 0 && !rule.missingHeaders.some((h) => !c.request.headers.has(h))) continue;
        if (rule.userAgent) {
          userAgent ??= c.request.headers.get("user-agent") ?? "";
          if (!runDfa(rule.userAgent, userAgent)) continue;
        }
        const window = ruleWindows[i] ?? null;
        if (rule.rate && window && window.hit(c.attributes.clientIp() ?? "", c.nowMs) <= rule.rate.count) continue;
        return act(c, rule, window);
      }
      return null;
    },
  };
}
