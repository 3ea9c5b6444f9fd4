/**
 * Which factory builds each plugin kind (the one list every kind is wired in), the isolate's
 * plugin state, and a snapshot's PluginTable from its PLUGINS section. Per snapshot: the
 * consumers are indexed once (ConsumerDirectory) and every route's plugins built; per isolate:
 * limit counters, the Redis client and anti-scraping's per-client windows outlive the swaps.
 */
import { readPluginsSection } from "../../wasm/plugins-section.ts";
import type { GatewayConfig } from "../env.ts";
import { createAntiScraping } from "./anti-scraping.ts";
import { type AntiScrapingState, createAntiScrapingState } from "./anti-scraping-state.ts";
import { ConsumerDirectory } from "./auth/consumer-directory.ts";
import { createJwtAuth } from "./auth/jwt-auth.ts";
import { createKeyAuth } from "./auth/key-auth.ts";
import { createIpRestriction } from "./ip-restriction.ts";
import { createLimitConn } from "./limits/limit-conn.ts";
import { createLimitCount } from "./limits/limit-count.ts";
import { createLimitReq } from "./limits/limit-req.ts";
import type { SocketConnect } from "./limits/socket.ts";
import { createLimitState, type LimitState } from "./limits/state.ts";
import { type PluginFactories, PluginTable } from "./pipeline.ts";
import { createCors } from "./transform/cors.ts";
import { createProxyRewrite } from "./transform/proxy-rewrite.ts";
import { createResponseRewrite } from "./transform/response-rewrite.ts";

/** How a runtime reaches Redis: its connect, and whether a connection may outlive the request that opened it. */
export interface RedisSocket {
  connect: SocketConnect;
  reuseConnection: boolean;
}

/** Plugin state of one gateway isolate, created once with it. */
export class PluginIsolate {
  readonly limits: LimitState;
  readonly antiScraping: AntiScrapingState;

  /**
   * @param connect the runtime's TCP connect for the cluster limits' Redis (null: none; cluster
   *   limits then fail as configured), and whether one connection may serve several requests
   *   (false on workerd, where a socket belongs to the request that opened it).
   */
  constructor(config: Pick<GatewayConfig, "redis" | "redisTimeoutMs">, connect: SocketConnect | null, reuseConnection: boolean) {
    this.limits = createLimitState({ redis: config.redis, redisTimeoutMs: config.redisTimeoutMs }, connect, reuseConnection);
    this.antiScraping = createAntiScrapingState();
  }
}

/** What a snapshot's factories share: the isolate's state and the snapshot's consumers. */
interface Shared {
  isolate: PluginIsolate;
  consumers: ConsumerDirectory;
}

const FACTORIES: PluginFactories<Shared> = {
  cors: (config) => createCors(config),
  "ip-restriction": (config) => createIpRestriction(config),
  "jwt-auth": (config, shared) => createJwtAuth(config, shared.consumers),
  "key-auth": (config, shared) => createKeyAuth(config, shared.consumers),
  "anti-scraping": (config, shared) => createAntiScraping(config, shared.isolate.antiScraping),
  "proxy-rewrite": (config) => createProxyRewrite(config),
  "limit-conn": (config, shared) => createLimitConn(config, shared.isolate.limits),
  "limit-count": (config, shared) => createLimitCount(config, shared.isolate.limits),
  "limit-req": (config, shared) => createLimitReq(config, shared.isolate.limits),
  "response-rewrite": (config) => createResponseRewrite(config),
};

/**
 * The route plugins of a verified snapshot file: PluginTable.NONE when it has no PLUGINS section.
 * @throws PluginsSectionError (malformed section) or a factory's error (a config it cannot
 *   build): the gateway then refuses the snapshot and keeps the last good one.
 */
export function buildPluginTable(file: Uint8Array, isolate: PluginIsolate): PluginTable {
  const section = readPluginsSection(file);
  if (!section) return PluginTable.NONE;
  return PluginTable.build(section, FACTORIES, { isolate, consumers: new ConsumerDirectory(section.consumers) });
}
