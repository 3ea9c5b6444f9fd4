/**
 * `ctx.waitUntil` for the self-hosted entries (worker/runtime/bun.ts, deno.ts), where no runtime
 * provides one: each promise (the snapshot poll loop) is held until it settles, so it is not
 * collected, and a rejection is logged rather than left unhandled.
 */
import type { WaitUntil } from "../snapshot-source.ts";

/** A WaitUntil that holds its promises in `held` until they settle. */
export function backgroundContext(held = new Set<Promise<unknown>>()): WaitUntil {
  return {
    waitUntil(promise) {
      const settled = promise
        .catch((err) => console.error("sluice-gateway: background task failed:", err))
        .finally(() => held.delete(settled));
      held.add(settled);
    },
  };
}
