/**
 * APISIX limit-count: `count` requests per `windowSeconds` per key, in a fixed window
 * (fixed-window.ts) or a sliding one (sliding-window.ts locally, exact in Redis with
 * cluster-scripts.ts), counted per isolate (`local`) or across gateways (`cluster`). A rejected
 * request gets `rejectedCode` with the rate_limited body, RateLimit fields and Retry-After; an
 * allowed one gets the RateLimit fields on its answer when `showHeaders`. The local path is
 * synchronous (no promise).
 */
import type { LimitCountPlugin } from "../../../wasm/plugins-section.ts";
import type { AccessPlugin, PluginContext } from "../context.ts";
import { countFixedCluster, countSlidingCluster } from "./cluster-scripts.ts";
import { type CountDecision, countFixedWindow, type FixedWindow } from "./fixed-window.ts";
import { limitKeyReader } from "./limit-key.ts";
import { policyField, rateLimited, rateLimitField, retryAfterSeconds, storeUnavailable } from "./rate-limit-fields.ts";
import { countSlidingWindow, type SlidingWindow } from "./sliding-window.ts";
import type { Expiring, LimitState } from "./state.ts";

const PLUGIN = "limit-count";

/** limit-count of one route, built once per snapshot; counters live in `state` (per isolate). */
export function createLimitCount(config: LimitCountPlugin, state: LimitState): AccessPlugin {
  const { count, windowSeconds, rejectedCode, rejectedMessage } = config;
  const windowMs = windowSeconds * 1000;
  const policy = policyField(PLUGIN, count, windowSeconds);
  // The window's kind and length are part of the key: a changed setting starts fresh counters.
  const keyPrefix = `${PLUGIN}:${config.window}:${windowMs}:${config.scope}\u0000`;
  const readKey = limitKeyReader(config.key, () => state.stats.keyFallbacks++);

  /** The answer to a decision: null (with RateLimit fields on the answer) or the rejection. */
  function answer(c: PluginContext, decision: CountDecision): Response | null {
    if (decision.allowed) {
      if (config.showHeaders) {
        const field = rateLimitField(PLUGIN, decision.remaining, decision.resetMs);
        c.responseEdits.push((headers) => {
          headers.set("RateLimit-Policy", policy);
          headers.set("RateLimit", field);
        });
      }
      return null;
    }
    const headers: Record<string, string> = { "retry-after": retryAfterSeconds(decision.resetMs) };
    if (config.showHeaders) {
      headers["ratelimit-policy"] = policy;
      headers.ratelimit = rateLimitField(PLUGIN, 0, decision.resetMs);
    }
    return rateLimited(rejectedCode, rejectedMessage, PLUGIN, headers);
  }

  function unavailable(): Response | null {
    if (config.failOpen) {
      state.stats.failedOpen++;
      return null;
    }
    state.stats.failedClosed++;
    return storeUnavailable(PLUGIN);
  }

  function cluster(c: PluginContext, key: string): Promise<Response | null> | Response | null {
    const redis = state.redis;
    if (redis === null) return unavailable();
    const redisKey = state.redisKeyPrefix + key;
    const check =
      config.window === "fixed"
        ? countFixedCluster(redis, redisKey, count, windowMs)
        : countSlidingCluster(redis, redisKey, count, windowMs, state.uniqueMember());
    return check.then((decision) => answer(c, decision), unavailable);
  }

  const local =
    config.window === "fixed"
      ? (key: string, nowMs: number): CountDecision => {
          const window = state.entry<FixedWindow & Expiring>(key, nowMs, () => ({ count: 0, resetAtMs: 0, expiresAtMs: 0 }));
          const decision = countFixedWindow(window, count, windowMs, nowMs);
          window.expiresAtMs = window.resetAtMs;
          return decision;
        }
      : (key: string, nowMs: number): CountDecision => {
          const window = state.entry<SlidingWindow & Expiring>(key, nowMs, () => ({ startMs: 0, current: 0, previous: 0, expiresAtMs: 0 }));
          const decision = countSlidingWindow(window, count, windowMs, nowMs);
          // Past the next window both counts are spent.
          window.expiresAtMs = window.startMs + 2 * windowMs;
          return decision;
        };

  return {
    access(c) {
      const key = keyPrefix + readKey(c);
      if (config.policy === "cluster") return cluster(c, key);
      return answer(c, local(key, c.nowMs));
    },
  };
}
