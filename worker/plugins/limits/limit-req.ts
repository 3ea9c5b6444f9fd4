/**
 * APISIX limit-req: nginx limit_req's leaky bucket per key (leaky-bucket.ts), per isolate. Above
 * `burst` → `rejectedCode` with the rate_limited body and Retry-After; within it the request waits
 * `excess / rate` (unless `nodelay`), as APISIX sleeps when that is at least 1 ms. A request that
 * does not wait is answered synchronously (no promise).
 */
import type { LimitReqPlugin } from "../../../wasm/plugins-section.ts";
import type { AccessPlugin } from "../context.ts";
import { admitLeaky, type LeakyBucket, leakyForgettableAtMs } from "./leaky-bucket.ts";
import { limitKeyReader } from "./limit-key.ts";
import { rateLimited, retryAfterSeconds, sleep } from "./rate-limit-fields.ts";
import type { Expiring, LimitState } from "./state.ts";

const PLUGIN = "limit-req";

/** limit-req of one route, built once per snapshot; buckets live in `state` (per isolate). */
export function createLimitReq(config: LimitReqPlugin, state: LimitState): AccessPlugin {
  const { rate, burst, nodelay, rejectedCode, rejectedMessage } = config;
  const keyPrefix = `${PLUGIN}:${config.scope}\u0000`;
  const readKey = limitKeyReader(config.key, () => state.stats.keyFallbacks++);
  return {
    access(c) {
      const nowMs = c.nowMs;
      const bucket = state.entry<LeakyBucket & Expiring>(keyPrefix + readKey(c), nowMs, () => ({
        excess: 0,
        lastMs: Number.NaN,
        expiresAtMs: Number.POSITIVE_INFINITY,
      }));
      const decision = admitLeaky(bucket, rate, burst, nowMs);
      if (!decision.allowed) {
        return rateLimited(rejectedCode, rejectedMessage, PLUGIN, { "retry-after": retryAfterSeconds(decision.retryAfterMs) });
      }
      bucket.expiresAtMs = leakyForgettableAtMs(bucket, rate);
      return decision.delayMs >= 1 && !nodelay ? sleep(decision.delayMs) : null;
    },
  };
}
