/**
 * Opens the control database and brings its schema up to date.
 *
 * Two drivers, one API: embedded PGlite (PostgreSQL 18 compiled to WASM, in-process) by default,
 * node-postgres when a `databaseUrl` is given (PostgreSQL ≥ 15). Both are used through drizzle's
 * pg-core `Database` type, so nothing above this module knows which one runs.
 * Migrations (migrations/, from `npm run db:generate`) are applied on every open.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { type ExtractTablesWithRelations, sql } from "drizzle-orm";
import { drizzle as drizzleNodePg } from "drizzle-orm/node-postgres";
import { migrate as migrateNodePg } from "drizzle-orm/node-postgres/migrator";
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import pg from "pg";
import * as schema from "./schema.ts";

/** The drizzle database handle, whichever driver is underneath. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

/** A transaction handle as passed to `db.transaction(async (tx) => …)`. */
export type Transaction = PgTransaction<PgQueryResultHKT, typeof schema, ExtractTablesWithRelations<typeof schema>>;

/** Either a database or a transaction: anything queries can run on. */
export type Queryable = Database | Transaction;

export interface OpenDatabaseOptions {
  /**
   * Sluice data directory; PGlite keeps its files in `<dataDir>/pglite` (created if missing).
   * `memory://` keeps everything in memory (tests). Default `.sluice`. Ignored with `databaseUrl`.
   */
  dataDir?: string;
  /** `postgres://…` connection string: use a node-postgres pool instead of PGlite. */
  databaseUrl?: string;
}

/**
 * What a dedicated session needs (LISTEN/NOTIFY, session advisory locks): the PGlite client
 * itself (one process, one connection), or the PostgreSQL URL to open extra connections with.
 */
export type SessionSource = { driver: "pglite"; client: PGlite } | { driver: "postgres"; url: string };

export interface OpenedDatabase {
  db: Database;
  /** `pglite` or `postgres`, for logs. */
  driver: "pglite" | "postgres";
  /** For control/db/notifications.ts and control/registry/leader.ts. */
  session: SessionSource;
  /** Closes the pool / PGlite instance. Idempotent. */
  close(): Promise<void>;
}

/** Where drizzle-kit writes migrations: `<repo>/migrations`, relative to this file. */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations", import.meta.url));

/** Longest wait for a new PostgreSQL connection, ms: while the server is away, requests fail fast (503) instead of queueing. */
export const CONNECT_TIMEOUT_MS = 5000;

/** Session-level advisory lock key serialising migrations across control processes ("SLUICEMG"). */
const MIGRATION_LOCK_KEY = 0x534c55494345_4d47n;

/**
 * Opens (and migrates) the database.
 *
 * @example
 *   const { db, close } = await openDatabase({ dataDir: "memory://" });
 *   const { db } = await openDatabase({ databaseUrl: process.env.DATABASE_URL });
 * @throws whatever the driver throws when the database is unreachable or a migration fails;
 *   the pool / PGlite instance is closed first.
 */
export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<OpenedDatabase> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl);
  return openPglite(options.dataDir ?? ".sluice");
}

async function openPglite(dataDir: string): Promise<OpenedDatabase> {
  let pgliteDir: string | undefined;
  if (dataDir !== "memory://") {
    pgliteDir = join(dataDir, "pglite");
    mkdirSync(pgliteDir, { recursive: true, mode: 0o700 });
  }
  const client = await PGlite.create(pgliteDir);
  const db = drizzlePglite({ client, schema });
  try {
    // One process owns a PGlite directory, so no lock is needed around the migrator.
    await migratePglite(db, { migrationsFolder: MIGRATIONS_DIR });
  } catch (error) {
    await client.close();
    throw error;
  }
  return {
    db: db as unknown as Database,
    driver: "pglite",
    session: { driver: "pglite", client },
    close: once(() => client.close()),
  };
}

async function openPostgres(databaseUrl: string): Promise<OpenedDatabase> {
  await migratePostgres(databaseUrl);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // A client losing its connection emits 'error': an idle one on the pool, a checked-out one (a
  // transaction in flight when PostgreSQL restarts: 57P01) on itself. Unhandled, either kills the
  // process. The query in flight rejects with the same error, and the API answers 503 for it
  // (control/api/errors.ts); the pool discards the client and connects anew on the next checkout.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  const db = drizzleNodePg({ client: pool, schema });
  return {
    db: db as unknown as Database,
    driver: "postgres",
    session: { driver: "postgres", url: databaseUrl },
    close: once(() => pool.end()),
  };
}

/** Migrates on one dedicated connection holding an advisory lock, so concurrent starts queue. */
async function migratePostgres(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  client.on("error", () => {}); // the migration's own query rejects; openDatabase throws that
  await client.connect();
  try {
    await client.query("select pg_advisory_lock($1)", [MIGRATION_LOCK_KEY.toString()]);
    await migrateNodePg(drizzleNodePg({ client }), { migrationsFolder: MIGRATIONS_DIR });
  } finally {
    await client.end();
  }
}

/**
 * Whether `error` (or one it wraps, as drizzle's DrizzleQueryError does) means the database cannot
 * be reached now rather than that the statement was wrong: a refused, reset or timed-out
 * connection, a connection-class SQLSTATE (08xxx), or the server shutting down or starting up
 * (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now). Such a write did not
 * commit, or committed before the connection died; callers answer 503 and retry.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e = error, depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === "string" && (UNREACHABLE_ERRNO.has(code) || code.startsWith("08") || SERVER_GOING_AWAY.has(code))) return true;
    if (typeof message === "string" && CONNECTION_LOST.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Longest wait of a readiness check's `select 1`, ms. */
const READY_CHECK_TIMEOUT_MS = 1000;

/**
 * Readiness of the database for /readyz: `select 1` answered within READY_CHECK_TIMEOUT_MS.
 * @returns "up" or "down"; never throws.
 */
export async function databaseReachable(db: Database): Promise<"up" | "down"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"down">((resolve) => {
    timer = setTimeout(() => resolve("down"), READY_CHECK_TIMEOUT_MS);
  });
  const check = db.execute(sql`select 1`).then(
    () => "up" as const,
    () => "down" as const,
  );
  try {
    return await Promise.race([check, late]);
  } finally {
    clearTimeout(timer);
  }
}

const UNREACHABLE_ERRNO = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENOTFOUND", "EAI_AGAIN"]);
const SERVER_GOING_AWAY = new Set(["57P01", "57P02", "57P03"]);
/** node-postgres' messages for a connection that died or never came (it sets no code on these). */
const CONNECTION_LOST =
  /^Connection terminated|^timeout exceeded when trying to connect|^Client has encountered a connection error|^Client was closed|^Cannot use a pool after calling end/;

function once(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= close();
    return closing;
  };
}
