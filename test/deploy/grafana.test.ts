/**
 * deploy/grafana/sluice-control.json against what control exposes: the dashboard parses, its
 * panels do not overlap, and every metric a query names is one control registers
 * (control/metrics/registry.ts, with a histogram's _bucket/_count/_sum series), so renaming a
 * metric without the dashboard fails here rather than leaving an empty panel.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createControlMetrics } from "../../control/metrics/registry.ts";

interface Panel {
  id: number;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets: { expr: string }[];
}
const dashboard = JSON.parse(readFileSync(new URL("../../deploy/grafana/sluice-control.json", import.meta.url), "utf8")) as {
  uid: string;
  panels: Panel[];
};

/** Every series name control can expose: each metric's name, and a histogram's three series. */
function exposedSeries(): Set<string> {
  const { registry } = createControlMetrics({ processMetrics: false });
  const names = new Set<string>();
  for (const metric of registry.getMetricsAsArray()) {
    const { name, type } = metric as unknown as { name: string; type: string };
    names.add(name);
    if (type === "histogram") for (const suffix of ["_bucket", "_count", "_sum"]) names.add(name + suffix);
  }
  return names;
}

/** The metric names a PromQL expression reads (identifiers followed by `{`, or by `[`). */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b([a-z_][a-z0-9_]*)\s*(?=\{|\[)/g)].map((m) => m[1] as string).filter((n) => n.includes("_"));
}

describe("the Grafana dashboard for control", () => {
  it("has a uid, unique panel ids and panels that do not overlap", () => {
    expect(dashboard.uid).toBe("sluice-control");
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
    const exposed = exposedSeries();
    const read = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricsIn(t.expr).map((m) => [p.title, m] as const)));
    expect(read.length).toBeGreaterThanOrEqual(dashboard.panels.length);
    for (const [title, metric] of read) expect([title, exposed.has(metric)]).toEqual([title, true]);
  });

  it("finds a renamed metric (the check can fail)", () => {
    expect(metricsIn('sum(rate(sluice_heartbeat_accepted_total{job="x"}[5m]))')).toEqual(["sluice_heartbeat_accepted_total"]);
    expect(exposedSeries().has("sluice_heartbeat_accepted_total")).toBe(false);
  });
});
