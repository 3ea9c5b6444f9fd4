/**
 * Starts control in this process: database (PGlite or PostgreSQL), tokens, signing key, the
 * snapshot builder and the REST API on @hono/node-server. Used by control/main.ts, the demo
 * (`npm start`) and the end-to-end tests.
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import pino, { type Logger } from "pino";
import { createApp } from "./api/app.ts";
import { type ResolvedTokens, resolveTokens } from "./api/auth.ts";
import { openDatabase } from "./db/connect.ts";
import { SnapshotBuilder } from "./snapshot/builder.ts";
import { loadSigningKey, type SigningKey } from "./snapshot/signing-key.ts";

export interface ControlOptions {
  /** Data directory for PGlite, generated tokens and the signing key (default `.sluice`). */
  dataDir: string;
  /** Use this PostgreSQL instead of PGlite. */
  databaseUrl?: string;
  host?: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Environment to read SLUICE_ADMIN_TOKEN, SLUICE_GATEWAY_TOKEN, SLUICE_SIGNING_KEY from. */
  env?: Record<string, string | undefined>;
  /** Snapshot rebuild debounce, ms (default 50). */
  debounceMs?: number;
  logger?: Logger;
}

export interface RunningControl {
  /** Base URL, e.g. `http://127.0.0.1:7400`. */
  url: string;
  port: number;
  tokens: ResolvedTokens;
  signingKey: SigningKey;
  builder: SnapshotBuilder;
  close(): Promise<void>;
}

/** @throws when the database cannot be opened or migrated, or the port is taken. */
export async function startControl(options: ControlOptions): Promise<RunningControl> {
  const env = options.env ?? process.env;
  const logger = options.logger ?? pino({ name: "sluice-control", level: env.SLUICE_LOG_LEVEL ?? "info" });
  const database = await openDatabase({ dataDir: options.dataDir, databaseUrl: options.databaseUrl });
  const tokens = resolveTokens({ dataDir: options.dataDir, env });
  const signingKey = await loadSigningKey(options.dataDir, env.SLUICE_SIGNING_KEY);
  const builder = new SnapshotBuilder({
    db: database.db,
    privateKey: signingKey.privateKey,
    logger,
    debounceMs: options.debounceMs,
  });
  await builder.rebuild();
  const app = createApp({
    db: database.db,
    auth: tokens,
    logger,
    onChange: () => builder.schedule(),
    getSnapshot: () => builder.current,
  });
  const host = options.host ?? "127.0.0.1";
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port: options.port }, () => resolve(s));
    s.once("error", reject);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    tokens,
    signingKey,
    builder,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await builder.stop();
      await database.close();
    },
  };
}
