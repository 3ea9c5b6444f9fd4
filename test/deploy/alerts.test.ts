/**
 * deploy/prometheus/alerts.yml: `promtool check rules` accepts it (and refuses a broken copy, so
 * the check can fail), its unit tests (deploy/prometheus/alerts.test.yml, `promtool test rules`:
 * every rule, the gateway ones included, on synthetic series) pass and fail on a copy with a
 * raised threshold, every rule carries `for`, a severity and the three annotations, and one
 * control-side rule fires in a real Prometheus: a control API whose PostgreSQL refuses
 * connections answers 503 database_unavailable, which raises SluiceControlApiErrorRatio and
 * SluiceControlDatabaseErrors to `firing` (the file's rules, with `for:` shortened to 1 s).
 *
 * Without `prometheus`/`promtool` on PATH the suite is skipped, naming the package — except
 * under CI, where it fails.
 */
import { spawnSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { createApp } from "../../control/api/app.ts";
import type { Database } from "../../control/db/connect.ts";
import * as schema from "../../control/db/schema.ts";
import { ADMIN_TOKEN, GATEWAY_TOKEN } from "../support/client.ts";
import { PROMTOOL_BIN, prometheusAvailability, type RunningPrometheus, startPrometheus } from "../support/prometheus.ts";

const ALERTS = join(import.meta.dirname, "../../deploy/prometheus/alerts.yml");
const ALERTS_UNIT_TESTS = join(import.meta.dirname, "../../deploy/prometheus/alerts.test.yml");
const METRICS_TOKEN = "metrics-token-for-alert-tests-0123456789";
const availability = prometheusAvailability();

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}

const loadRules = async (): Promise<RuleFile> => parse(await readFile(ALERTS, "utf8")) as RuleFile;

/** Runs `promtool <args…>`; bounded to 30 s. */
const promtool = (...args: string[]) => {
  const r = spawnSync(PROMTOOL_BIN, args, { encoding: "utf8", timeout: 30_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
};
/** `promtool check rules <file>`: syntax, PromQL and templates. */
const promtoolCheck = (file: string) => promtool("check", "rules", file);
/** `promtool test rules <file>`: the rule unit tests, evaluated on synthetic series. */
const promtoolTest = (file: string) => promtool("test", "rules", file);

describe("prometheus availability", () => {
  it.runIf(availability.state === "fail")("has prometheus and promtool installed under CI", () => {
    throw new Error(availability.message);
  });
  it.runIf(availability.state === "skip")(`skipped: ${availability.message}`, () => {
    console.warn(`test/deploy/alerts.test.ts skipped: ${availability.message}`);
  });
});

describe("alerts.yml, statically", () => {
  it("gives every rule a for, a severity (critical|warning), a summary, a description and a runbook", async () => {
    const rules = (await loadRules()).groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
      expect(["critical", "warning"], rule.alert).toContain(rule.labels?.severity);
      expect(Object.keys(rule.annotations ?? {}).sort(), rule.alert).toEqual(["description", "runbook", "summary"]);
    }
    // The list, as far as metrics are named for it: 5xx ratio, p99 latency, ejections,
    // panic, stale snapshot, propagation lag, missing heartbeats (control and gateway sides).
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        "SluiceControlApiErrorRatio",
        "SluiceControlApiLatencyP99",
        "SluiceControlDatabaseErrors",
        "SluiceHeartbeatsMissing",
        "SluiceGatewayErrorRatio",
        "SluiceGatewayLatencyP99",
        "SluiceOutlierEjections",
        "SluicePanic",
        "SluiceGatewaySnapshotStale",
        "SluiceSnapshotPropagationLagging",
      ]),
    );
  });
});

describe.skipIf(availability.state !== "run")("alerts.yml with promtool and a real Prometheus", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-alerts-"));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("passes promtool check rules; a copy with a broken expression does not", async () => {
    const good = promtoolCheck(ALERTS);
    expect(good.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(good.status).toBe(0);

    const broken = await loadRules();
    broken.groups[0].rules[0].expr = "sum by (job) (rate(http_server_request_duration_seconds_count[5m])"; // unbalanced
    const brokenFile = join(dir, "broken.yml");
    await writeFile(brokenFile, stringify(broken));
    const bad = promtoolCheck(brokenFile);
    expect(bad.status).not.toBe(0);
    expect(bad.output).toMatch(/FAILED/);
  });

  it("passes promtool test rules (alerts.test.yml, every rule on synthetic series); a copy with a raised threshold fails them", async () => {
    const good = promtoolTest(ALERTS_UNIT_TESTS);
    expect(good.output).toMatch(/SUCCESS/);
    expect(good.status).toBe(0);

    // The same unit tests against a copy whose gateway 5xx threshold is 25%: the 20% case must no longer fire.
    const raised = await loadRules();
    const rule = raised.groups.flatMap((g) => g.rules).find((r) => r.alert === "SluiceGatewayErrorRatio")!;
    expect(rule.expr).toContain(") > 0.05");
    rule.expr = rule.expr.replace(") > 0.05", ") > 0.25");
    const copy = join(dir, "raised");
    await mkdir(copy);
    await writeFile(join(copy, "alerts.yml"), stringify(raised));
    await copyFile(ALERTS_UNIT_TESTS, join(copy, "alerts.test.yml"));
    const bad = promtoolTest(join(copy, "alerts.test.yml"));
    expect(bad.status).not.toBe(0);
    expect(bad.output).toMatch(/alertname: SluiceGatewayErrorRatio/);
  });

  describe("a control API whose database refuses connections", () => {
    const pool = new pg.Pool({ connectionString: "postgres://postgres@127.0.0.1:1/none", connectionTimeoutMillis: 2000 });
    pool.on("error", () => {});
    let server: ReturnType<typeof serve>;
    let url: string;
    let prometheus: RunningPrometheus;

    beforeAll(async () => {
      const app = createApp({
        db: drizzle({ client: pool, schema }) as unknown as Database,
        auth: { adminToken: ADMIN_TOKEN, gatewayToken: GATEWAY_TOKEN, metricsToken: METRICS_TOKEN },
        getSnapshot: () => null,
        logger: pino({ level: "silent" }),
      });
      server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
        const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
        s.once("error", reject);
      });
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

      // The file's rules, unchanged but for `for:` (minutes in production), so a test sees them fire.
      const rules = await loadRules();
      for (const rule of rules.groups.flatMap((g) => g.rules)) rule.for = "1s";
      const ruleFile = join(dir, "alerts-short-for.yml");
      await writeFile(ruleFile, stringify(rules));
      prometheus = await startPrometheus({
        jobs: [{ name: "sluice-control", url, token: METRICS_TOKEN }],
        ruleFiles: [ruleFile],
        scrapeIntervalS: 1,
        evaluationIntervalS: 1,
      });
      // The first scrape comes ~5 s after start (Prometheus applies new targets on a 5 s tick).
      await prometheus.waitFor('up{job="sluice-control"}', (r) => r.length === 1 && r[0].value === 1, 20_000);
    }, 60_000);

    afterAll(async () => {
      await prometheus?.close();
      await new Promise((resolve) => server?.close(resolve));
      await pool.end();
    });

    it("fires SluiceControlApiErrorRatio and SluiceControlDatabaseErrors once the API answers 503", async () => {
      // Healthy scrapes first: the rules evaluate and nothing fires (every answer so far is /metrics, 200).
      await prometheus.waitForScrapeAfter("sluice-control", Date.now());
      await new Promise((resolve) => setTimeout(resolve, 2000)); // two evaluations
      const quiet = (await prometheus.alerts()).map((a) => a.labels.alertname);
      expect(quiet).not.toContain("SluiceControlApiErrorRatio");
      expect(quiet).not.toContain("SluiceControlDatabaseErrors");

      // Sustained errors, in bursts that span scrapes: a counter series is born at its first
      // scrape with whatever it counted by then, and rate() sees only increases between scrapes.
      for (let burst = 0; burst < 3; burst++) {
        for (let i = 0; i < 5; i++) {
          const res = await fetch(`${url}/v1/services`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
          expect(res.status).toBe(503);
          expect((await res.json()).error).toBe("database_unavailable");
        }
        await prometheus.waitForScrapeAfter("sluice-control", Date.now());
      }

      const ratio = await prometheus.waitForAlert("SluiceControlApiErrorRatio", "firing", 20_000);
      expect(ratio.labels).toMatchObject({ severity: "critical", job: "sluice-control" });
      expect(Number(ratio.value)).toBeGreaterThan(0.05);
      expect(ratio.annotations.summary).toContain("answer 5xx");
      const db = await prometheus.waitForAlert("SluiceControlDatabaseErrors", "firing", 10_000);
      expect(db.labels).toMatchObject({ severity: "critical", source: "api_request" });
      // Nothing else of the file fires on a control that only lost its database.
      const firing = (await prometheus.alerts()).filter((a) => a.state === "firing").map((a) => a.labels.alertname);
      expect(firing.sort()).toEqual(["SluiceControlApiErrorRatio", "SluiceControlDatabaseErrors"]);
    }, 30_000);
  });
});
