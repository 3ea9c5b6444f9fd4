/**
 * APISIX limit-conn: concurrent requests per key (conn-counter.ts), per isolate. Admission
 * counts the request; a finisher (PluginContext.finishers) uncounts it exactly once when its
 * answer is complete or it ends without one. Above `conn + burst` → `rejectedCode` with the
 * rate_limited body and Retry-After; above `conn` the request waits `delayMs × floor((n − 1) / conn)`
 * first. A request that does not wait is answered synchronously (no promise).
 */
import type { LimitConnPlugin } from "../../../wasm/plugins-section.ts";
import type { AccessPlugin } from "../context.ts";
import { type ConnCount, enterConn, leaveConn } from "./conn-counter.ts";
import { limitKeyReader } from "./limit-key.ts";
import { rateLimited, sleep } from "./rate-limit-fields.ts";
import type { Expiring, LimitState } from "./state.ts";

const PLUGIN = "limit-conn";

/** limit-conn of one route, built once per snapshot; counts live in `state` (per isolate). */
export function createLimitConn(config: LimitConnPlugin, state: LimitState): AccessPlugin {
  const { conn, burst, delayMs, rejectedCode, rejectedMessage } = config;
  const keyPrefix = `${PLUGIN}:${config.scope}\u0000`;
  const readKey = limitKeyReader(config.key, () => state.stats.keyFallbacks++);
  return {
    access(c) {
      const key = keyPrefix + readKey(c);
      // Never expires while requests are in flight; forgotten when the last one ends.
      const counter = state.entry<ConnCount & Expiring>(key, c.nowMs, () => ({ active: 0, expiresAtMs: Number.POSITIVE_INFINITY }));
      const decision = enterConn(counter, conn, burst, delayMs);
      if (!decision.allowed) {
        // When a request in flight ends is unknown: ask for a retry in a second.
        return rateLimited(rejectedCode, rejectedMessage, PLUGIN, { "retry-after": "1" });
      }
      let left = false;
      c.finishers.push(() => {
        if (left) return;
        left = true;
        leaveConn(counter);
        if (counter.active === 0) state.release(key, counter);
      });
      return decision.delayMs >= 1 ? sleep(decision.delayMs) : null;
    },
  };
}
