/**
 * The databases the suites run against: in-memory PGlite always, and a real PostgreSQL when
 * `DATABASE_URL` is set. Each PostgreSQL run gets its own database `sluice_test_<random>`,
 * created through the server's `postgres` maintenance database and dropped afterwards.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { type OpenedDatabase, openDatabase } from "../../control/db/connect.ts";

export interface Backend {
  name: "pglite" | "postgres";
  /** Opens a fresh, migrated database; `close()` also drops it on PostgreSQL. */
  open(): Promise<TestDatabase>;
}

/** An opened test database; `url` is its connection string on PostgreSQL. */
export interface TestDatabase extends OpenedDatabase {
  url?: string;
}

const pglite: Backend = { name: "pglite", open: () => openDatabase({ dataDir: "memory://" }) };

function postgres(databaseUrl: string): Backend {
  return {
    name: "postgres",
    async open() {
      const scratch = await createScratchDatabase(databaseUrl, "sluice_test");
      const opened = await openDatabase({ databaseUrl: scratch.url });
      return {
        ...opened,
        url: scratch.url,
        async close() {
          await opened.close();
          await scratch.drop();
        },
      };
    },
  };
}

/**
 * Creates `<prefix>_<random>` on the PostgreSQL server of `databaseUrl`, through its `postgres`
 * maintenance database (the suites and the registry benches each get their own).
 * @returns its URL, and drop(), which removes it even with connections left open.
 */
export async function createScratchDatabase(databaseUrl: string, prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const maintenance = new URL(databaseUrl);
  maintenance.pathname = "/postgres";
  await withClient(maintenance.href, (client) => client.query(`create database ${name}`));
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    drop: () => withClient(maintenance.href, (client) => client.query(`drop database if exists ${name} with (force)`)).then(() => {}),
  };
}

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** PGlite, plus PostgreSQL when DATABASE_URL is set: for `describe.each(backends())`. */
export function backends(): Backend[] {
  const url = process.env.DATABASE_URL;
  return url ? [pglite, postgres(url)] : [pglite];
}
