/**
 * Starts control in this process: database (PGlite or PostgreSQL), tokens, signing key, the
 * snapshot builder, control's metrics (control/metrics/), the registry (view, heartbeats, health sweep under the leader lock),
 * the function scaler (control/functions/scaler/, under its own lock), the consumers' JWKS
 * refresher (control/config/jwks-refresher.ts, under the registry's leader lock), the
 * LISTEN/NOTIFY wiring between replicas, the REST API on @hono/node-server, and the background
 * backfill of stored condition IR (db/condition-ir.ts). Used by
 * control/main.ts, the demo (`npm start`), the benches and the end-to-end tests.
 */
import { randomUUID } from "node:crypto";
import type { Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import pino, { type Logger } from "pino";
import { createApp } from "./api/app.ts";
import { type ResolvedTokens, resolveTokens } from "./api/auth.ts";
import { JwksRefresher, jwksRefreshMs } from "./config/jwks-refresher.ts";
import { CHANGE_CHANNEL, parseChangeNotice } from "./config/write.ts";
import { CONFIG_CHANNEL, loadDelivery, parseConfigNotice } from "./config-center/store.ts";
import { CONFIG_WATCH_RECHECK_MS, ConfigWatchHub } from "./config-center/watch-hub.ts";
import { backfillConditionIr } from "./db/condition-ir.ts";
import { openDatabase } from "./db/connect.ts";
import { openNotifications } from "./db/notifications.ts";
import { createFunctionRuntime, type FunctionRuntime } from "./functions/scaler/runtime.ts";
import { DEFAULT_TICK_MS, Scaler } from "./functions/scaler/scaler.ts";
import { type ControlMetrics, createControlMetrics } from "./metrics/registry.ts";
import { HeartbeatGossip } from "./registry/gossip.ts";
import { SCALER_LOCK_KEY, startLeadership } from "./registry/leader.ts";
import { createRegistryRuntime, type RegistryRuntime } from "./registry/runtime.ts";
import { Sweeper } from "./registry/sweeper.ts";
import { SnapshotBuilder } from "./snapshot/builder.ts";
import { SNAPSHOT_CHANNEL } from "./snapshot/publish.ts";
import { loadSigningKey, type SigningKey } from "./snapshot/signing-key.ts";

export interface ControlOptions {
  /** Data directory for PGlite, generated tokens and the signing key (default `.sluice`). */
  dataDir: string;
  /** Use this PostgreSQL instead of PGlite. */
  databaseUrl?: string;
  host?: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Environment to read SLUICE_ADMIN_TOKEN, SLUICE_GATEWAY_TOKEN, SLUICE_METRICS_TOKEN, SLUICE_SIGNING_KEY from. */
  env?: Record<string, string | undefined>;
  /** Snapshot rebuild debounce, ms (default 50). */
  debounceMs?: number;
  /** Time between health sweeps, ms (default 1000). */
  sweepIntervalMs?: number;
  /** How often a follower tries to become the sweep's (and the scaler's) leader, ms (default 1000). */
  leaderRetryMs?: number;
  /** Time between function scaling decisions, ms (default SLUICE_AUTOSCALER_TICK_MS, else 2000). */
  autoscalerTickMs?: number;
  /** Time between refreshes of consumers' JWKS URLs, ms (default JWKS_REFRESH_MS, else 300000). */
  jwksRefreshMs?: number;
  /**
   * Period of the config center's re-check of held watches, ms (default CONFIG_WATCH_RECHECK_MS
   * from `env`, else 10000): how late a watch converges when its replica missed a notification.
   */
  configWatchRecheckMs?: number;
  /** Clock of the function runtime, Unix ms (tests drive it); default Date.now. */
  now?: () => number;
  logger?: Logger;
}

export interface RunningControl {
  /** Base URL, e.g. `http://127.0.0.1:7400`. */
  url: string;
  port: number;
  tokens: ResolvedTokens;
  signingKey: SigningKey;
  builder: SnapshotBuilder;
  registry: RegistryRuntime;
  /** This control's metrics registry (GET /metrics serves it). */
  metrics: ControlMetrics;
  sweeper: Sweeper;
  /** Refreshes consumers' JWKS URLs (docs/edge-protection.md "Consumers"). */
  jwksRefresher: JwksRefresher;
  /** Function nodes, assignments and the scaler loop (docs/functions-runtime.md). */
  functions: FunctionRuntime & { scaler: Scaler };
  /** The config center's held watches on this replica (docs/config-center.md "Delivery API"). */
  configWatch: ConfigWatchHub;
  /** Random id of this replica (heartbeat gossip). */
  replicaId: string;
  /** True while this replica runs the singleton loops (PostgreSQL advisory lock; always with PGlite). */
  isLeader(): boolean;
  close(): Promise<void>;
}

/** @throws when the database cannot be opened or migrated, or the port is taken. */
export async function startControl(options: ControlOptions): Promise<RunningControl> {
  const env = options.env ?? process.env;
  const logger = options.logger ?? pino({ name: "sluice-control", level: env.SLUICE_LOG_LEVEL ?? "info" });
  const replicaId = randomUUID().slice(0, 8);
  const database = await openDatabase({ dataDir: options.dataDir, databaseUrl: options.databaseUrl });
  const tokens = resolveTokens({ dataDir: options.dataDir, env });
  const signingKey = await loadSigningKey(options.dataDir, env.SLUICE_SIGNING_KEY);
  const registry = createRegistryRuntime(database.db, logger);
  const metrics = createControlMetrics({ instances: () => registry.view.entries() });
  const builder = new SnapshotBuilder({
    db: database.db,
    privateKey: signingKey.privateKey,
    logger,
    debounceMs: options.debounceMs,
    metrics,
  });
  // Propagation lag is measured from the moment this replica serves a version (built or adopted).
  builder.onPublish((snapshot) => metrics.gateway.propagationLag.published(snapshot.version, metrics.gateway.now()));
  const notifications = await openNotifications(database.session, logger);
  if (database.driver === "postgres") {
    registry.gossip = new HeartbeatGossip(database.db, registry.heartbeats, replicaId, logger);
    await registry.gossip.listen(notifications);
  }
  // Another replica's write: refresh caches and wake blocking queries at once; rebuild only if the
  // writer has not published a covering snapshot by then (a no-op check in the usual case). Our
  // own writes come back too; runWrite already applied them.
  await notifications.listen(CHANGE_CHANNEL, (payload) => {
    const notice = parseChangeNotice(payload);
    if (!notice || notice.origin === replicaId) return;
    registry.applyChange(notice);
    builder.schedule(builder.followDelayMs);
  });
  await notifications.listen(SNAPSHOT_CHANNEL, (payload) => void builder.adopt(payload));
  // Config releases through any replica wake this replica's watches; its own were woken at commit.
  const configWatch = new ConfigWatchHub({
    load: (appkey, env, names) => loadDelivery(database.db, appkey, env, names),
    logger,
    recheckMs:
      options.configWatchRecheckMs ?? positiveInt(env.CONFIG_WATCH_RECHECK_MS, "CONFIG_WATCH_RECHECK_MS") ?? CONFIG_WATCH_RECHECK_MS,
  });
  await notifications.listen(CONFIG_CHANNEL, (payload) => {
    const notice = parseConfigNotice(payload);
    if (!notice || notice.origin === replicaId) return;
    configWatch.notify(notice.appkey, notice.env, notice.namespace);
  });
  notifications.onResync(() => {
    configWatch.recheckAll();
    registry.resync();
    builder.schedule();
  });
  await builder.rebuild();
  await registry.ready();

  const leadership = startLeadership(database.session, logger, options.leaderRetryMs);
  const scalerLeadership = startLeadership(database.session, logger, options.leaderRetryMs, SCALER_LOCK_KEY);
  // Function instance changes hold cold starts: rebuild the snapshot at once, not after the debounce.
  const rebuildNow = () => builder.schedule(0);
  const functions = createFunctionRuntime(options.now);
  const scaler = new Scaler({
    db: database.db,
    deps: { db: database.db, onChange: rebuildNow, logger, onCommitted: registry.applyChange, origin: replicaId },
    leadership: scalerLeadership,
    nodes: functions.nodes,
    board: functions.board,
    metrics: metrics.functions,
    logger,
    tickMs: options.autoscalerTickMs ?? positiveInt(env.SLUICE_AUTOSCALER_TICK_MS, "SLUICE_AUTOSCALER_TICK_MS") ?? DEFAULT_TICK_MS,
    now: functions.now,
  });
  functions.scaler = scaler;
  const app = createApp({
    db: database.db,
    auth: tokens,
    logger,
    onChange: () => builder.schedule(),
    replicaId,
    getSnapshot: () => builder.current,
    waitForSnapshot: (index, waitMs, signal) => builder.waitForNewer(index, waitMs, signal),
    registry,
    metrics,
    functions,
    onUrgentChange: rebuildNow,
    configWatch,
  });
  const sweeper = new Sweeper({
    deps: { db: database.db, onChange: () => builder.schedule(), logger, onCommitted: registry.applyChange, origin: replicaId },
    view: registry.view,
    heartbeats: registry.heartbeats,
    leadership,
    logger,
    intervalMs: options.sweepIntervalMs,
  });
  sweeper.start();
  scaler.start();
  const jwksRefresher = new JwksRefresher({
    deps: { db: database.db, onChange: () => builder.schedule(), logger, onCommitted: registry.applyChange, origin: replicaId },
    logger,
    intervalMs: options.jwksRefreshMs ?? jwksRefreshMs(env.JWKS_REFRESH_MS),
    isLeader: () => leadership.isLeader,
  });
  jwksRefresher.start();

  const host = options.host ?? "127.0.0.1";
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port: options.port }, () => resolve(s));
    s.once("error", reject);
  });
  const port = (server.address() as AddressInfo).port;
  // After the first build and with the API up: it only spares the next start's parsing, so it
  // must never delay serving, and a failure costs nothing but that.
  const stopBackfill = new AbortController();
  const backfill = backfillConditionIr(database.db, { logger, signal: stopBackfill.signal }).catch((err) =>
    logger.warn({ err }, "condition IR backfill failed; those policies are parsed at each build"),
  );
  return {
    url: `http://${host}:${port}`,
    port,
    tokens,
    signingKey,
    builder,
    registry,
    metrics,
    sweeper,
    jwksRefresher,
    functions: { ...functions, scaler },
    configWatch,
    replicaId,
    isLeader: () => leadership.isLeader,
    async close() {
      await sweeper.stop();
      await scaler.stop();
      await jwksRefresher.stop();
      functions.board.close();
      functions.ready.close();
      stopBackfill.abort();
      await backfill;
      // Held long polls would keep server.close() waiting: answer them first.
      await builder.stop();
      configWatch.close();
      registry.stop();
      await closeServer(server as unknown as HttpServer);
      await registry.gossip?.close();
      await registry.recoveries?.flush();
      await registry.tracker.flush();
      await leadership.close();
      await scalerLeadership.close();
      await notifications.close();
      await database.close();
    },
  };
}

/** `value` as a positive integer, undefined when unset. @throws Error naming `name` when it is not one. */
function positiveInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer (ms), not "${value}"`);
  return n;
}

/** Longest wait for open connections to finish when control stops, ms. */
const CLOSE_GRACE_MS = 2000;

/**
 * Stops accepting, then closes keep-alive connections as they fall idle (gateways re-poll on
 * theirs at once, so one pass is not enough) and cuts whatever is left after CLOSE_GRACE_MS.
 */
function closeServer(server: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), 20);
    const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}
