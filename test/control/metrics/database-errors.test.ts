/**
 * `sluice_database_errors_total`: an API request answered 503 database_unavailable and a failed
 * readiness check each count once, against a real node-postgres pool whose server refuses
 * connections (127.0.0.1:1), while GET /metrics itself still answers.
 */
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { createApp } from "../../../control/api/app.ts";
import type { Database } from "../../../control/db/connect.ts";
import * as schema from "../../../control/db/schema.ts";
import { ADMIN_TOKEN, GATEWAY_TOKEN } from "../../support/client.ts";
import { parseExposition, sampleValue } from "../../support/exposition.ts";

const METRICS_TOKEN = "metrics-token-for-tests-0123456789";

describe("database errors", () => {
  const pool = new pg.Pool({ connectionString: "postgres://postgres@127.0.0.1:1/none", connectionTimeoutMillis: 2000 });
  pool.on("error", () => {});
  const app = createApp({
    db: drizzle({ client: pool, schema }) as unknown as Database,
    auth: { adminToken: ADMIN_TOKEN, gatewayToken: GATEWAY_TOKEN, metricsToken: METRICS_TOKEN },
    getSnapshot: () => null,
    logger: pino({ level: "silent" }),
  });
  afterAll(() => pool.end());

  const errorsBySource = async () => {
    const res = await app.request("/metrics", { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    const samples = parseExposition(await res.text());
    return {
      api: sampleValue(samples, "sluice_database_errors_total", { source: "api_request" }) ?? 0,
      ready: sampleValue(samples, "sluice_database_errors_total", { source: "readiness_check" }) ?? 0,
    };
  };

  it("counts a 503 database_unavailable answer and a failed readiness check, once each", async () => {
    expect(await errorsBySource()).toEqual({ api: 0, ready: 0 });

    const api = await app.request("/v1/services", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(api.status).toBe(503);
    expect((await api.json()).error).toBe("database_unavailable");
    expect(await errorsBySource()).toEqual({ api: 1, ready: 0 });

    const ready = await app.request("/readyz");
    expect(ready.status).toBe(503);
    expect(await errorsBySource()).toEqual({ api: 1, ready: 1 });
  });
});
