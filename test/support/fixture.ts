/**
 * One API over one database per suite: `const api = useApi(backend)` inside a describe block
 * opens the database before the suite, closes it after, and records onChange calls.
 */
import { pino } from "pino";
import { afterAll, beforeAll } from "vitest";
import { createApp } from "../../control/api/app.ts";
import type { ApiApp } from "../../control/api/openapi.ts";
import type { Database, OpenedDatabase } from "../../control/db/connect.ts";
import type { SnapshotView } from "../../control/snapshot/builder.ts";
import type { Backend } from "./backends.ts";
import { ADMIN_TOKEN, type Client, clientFor, GATEWAY_TOKEN } from "./client.ts";

export interface ApiFixture {
  db: Database;
  app: ApiApp;
  client: Client;
  /** Revision ids passed to onChange, in call order. */
  changes: number[];
  /** What GET /v1/snapshot serves; tests may replace it. */
  snapshot: SnapshotView | null;
}

export function useApi(backend: Backend): ApiFixture {
  const fixture = { changes: [], snapshot: null } as unknown as ApiFixture;
  let opened: OpenedDatabase;
  beforeAll(async () => {
    opened = await backend.open();
    fixture.db = opened.db;
    fixture.app = createApp({
      db: opened.db,
      auth: { adminToken: ADMIN_TOKEN, gatewayToken: GATEWAY_TOKEN },
      onChange: (revision) => {
        fixture.changes.push(revision);
      },
      getSnapshot: () => fixture.snapshot,
      logger: pino({ level: "silent" }),
    });
    fixture.client = clientFor(fixture.app);
  }, 60_000);
  afterAll(async () => {
    await opened?.close();
  });
  return fixture;
}

let counter = 0;
/** A name no other test in the process uses: `unique("svc")` → `svc-1`. */
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}
