/**
 * deploy/grafana/*.json (the control and the gateway dashboards) against what control exposes:
 * each dashboard parses, its panels do not overlap, and every metric a query names is a family a
 * real control declares on GET /metrics (its own and the gateway families it sums from pushes,
 * with a histogram's _bucket/_count/_sum series), so renaming a metric without the dashboards
 * fails here rather than leaving an empty panel.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningControl, startControl } from "../../control/server.ts";

interface Panel {
  id: number;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets: { expr: string }[];
}
const DASHBOARDS = ["sluice-control", "sluice-gateway"] as const;
const load = (uid: string) =>
  JSON.parse(readFileSync(new URL(`../../deploy/grafana/${uid}.json`, import.meta.url), "utf8")) as { uid: string; panels: Panel[] };

let dataDir: string;
let control: RunningControl;
/** Every series name control can expose: each family's name, and a histogram's three series. */
let exposed: Set<string>;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "sluice-grafana-"));
  control = await startControl({ dataDir, port: 0, debounceMs: 10, env: {}, logger: pino({ level: "silent" }) });
  const res = await fetch(`${control.url}/metrics`, { headers: { authorization: `Bearer ${control.tokens.metricsToken}` } });
  exposed = new Set<string>();
  for (const [, name, type] of (await res.text()).matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    exposed.add(name as string);
    if (type === "histogram") for (const suffix of ["_bucket", "_count", "_sum"]) exposed.add(name + suffix);
  }
}, 30_000);

afterAll(async () => {
  await control?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** The metric names a PromQL expression reads (identifiers followed by `{`, or by `[`). */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b([a-z_][a-z0-9_]*)\s*(?=\{|\[)/g)].map((m) => m[1] as string).filter((n) => n.includes("_"));
}

describe.each(DASHBOARDS)("the Grafana dashboard %s", (uid) => {
  const dashboard = load(uid);

  it("has its uid, unique panel ids and panels that do not overlap", () => {
    expect(dashboard.uid).toBe(uid);
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    const cells = new Set<string>();
    for (const { gridPos: g, title } of dashboard.panels) {
      for (let x = g.x; x < g.x + g.w; x++)
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`), `${title} overlaps another panel at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
    }
  });

  it("queries only metrics control exposes", () => {
    const read = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricsIn(t.expr).map((m) => [p.title, m] as const)));
    expect(read.length).toBeGreaterThanOrEqual(dashboard.panels.length);
    for (const [title, metric] of read) expect([title, exposed.has(metric)]).toEqual([title, true]);
  });
});

describe("the metric check", () => {
  it("finds a renamed metric (the check can fail)", () => {
    expect(metricsIn('sum(rate(sluice_heartbeat_accepted_total{job="x"}[5m]))')).toEqual(["sluice_heartbeat_accepted_total"]);
    expect(exposed.has("sluice_heartbeat_accepted_total")).toBe(false);
    expect(exposed.has("sluice_heartbeats_accepted_total")).toBe(true);
    expect(exposed.has("sluice_upstream_attempts_total")).toBe(true);
  });
});
