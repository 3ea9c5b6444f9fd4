/**
 * One "gateway process" of the cross-process exactness tests (cluster-processes.test.ts): a
 * cluster limit-count of 100 per minute with its own LimitState over the runtime's SocketConnect,
 * `requests` checks fired at once at `startAtMs`. Runs on Bun and Deno (cluster-child.ts) and in
 * workerd (a generated Worker entry), so it uses only what every runtime has.
 */
import { createLimitCount } from "../../../../worker/plugins/limits/limit-count.ts";
import { parseRedisUrl } from "../../../../worker/plugins/limits/redis-client.ts";
import type { SocketConnect } from "../../../../worker/plugins/limits/socket.ts";
import { createLimitState } from "../../../../worker/plugins/limits/state.ts";
import { pluginContext } from "../plugin-context.ts";

export interface ProbeSpec {
  runtime: string;
  redisPort: number;
  keyPrefix: string;
  scope: string;
  window: "fixed" | "sliding";
  requests: number;
  startAtMs: number;
  /** false on workerd (a socket belongs to one request). */
  reuseConnection: boolean;
}

export interface ProbeResult {
  runtime: string;
  allowed: number;
  rejected: number;
  failed: number;
}

export async function fireChecks(connect: SocketConnect, spec: ProbeSpec): Promise<ProbeResult> {
  const state = createLimitState(
    { redis: parseRedisUrl(`redis://127.0.0.1:${spec.redisPort}`), redisTimeoutMs: 5000 },
    connect,
    spec.reuseConnection,
    { redisKeyPrefix: spec.keyPrefix },
  );
  const plugin = createLimitCount(
    {
      count: 100,
      windowSeconds: 60,
      window: spec.window,
      key: { from: "ip" },
      policy: "cluster",
      failOpen: false,
      rejectedCode: 429,
      rejectedMessage: "too many requests",
      showHeaders: true,
      scope: spec.scope,
    },
    state,
  );
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, spec.startAtMs - Date.now())));
  const answers = await Promise.all(Array.from({ length: spec.requests }, () => plugin.access(pluginContext({ ip: "198.51.100.7" }))));
  state.redis?.close();
  const statuses = answers.map((a) => a?.status ?? 200);
  return {
    runtime: spec.runtime,
    allowed: statuses.filter((s) => s === 200).length,
    rejected: statuses.filter((s) => s === 429).length,
    failed: statuses.filter((s) => s === 503).length,
  };
}
