/**
 * OCTO route rules and slow start, as the nodes a balancer receives: which instances, at what
 * effective weight, when every instance is healthy. Weights are configured weight × zone
 * factor (parts per million) × warmup ramp, so 10 in the caller's zone is 10,000,000.
 * An implementation provides `plan` (for WASM: a debug export of the selection steps).
 */
import type { BalancerKindName } from "./balancer.cases.ts";

export type CaseStatus = "dead" | "starting" | "alive" | "stopping" | "stopped" | "warning";

export interface CaseInstance {
  id: number;
  address: string;
  weight: number;
  status: CaseStatus;
  role: "primary" | "backup";
  zone: string;
  region: string;
  lane: string;
  cell: string;
  warmupMs: number;
  drained: boolean;
  /** When the instance became alive, ms (starts its warmup); default long ago. */
  aliveSinceMs: number;
}

/** Instance `id`: weight 10, alive, primary, zone z1 in region r1, main lane, no cell. */
export function instance(id: number, fields: Partial<CaseInstance> = {}): CaseInstance {
  return {
    id,
    address: `10.0.0.${id}:8080`,
    weight: 10,
    status: "alive",
    role: "primary",
    zone: "z1",
    region: "r1",
    lane: "",
    cell: "",
    warmupMs: 0,
    drained: false,
    aliveSinceMs: -1e9,
    ...fields,
  };
}

export interface CaseCaller {
  zone: string;
  region: string;
  lane: string;
  cell: string;
}

/** The gateway in zone z1 of region r1; untagged request. */
export function caller(fields: Partial<CaseCaller> = {}): CaseCaller {
  return { zone: "z1", region: "r1", lane: "", cell: "", ...fields };
}

export interface CaseRuleOptions {
  otherZonePpm?: number;
  otherRegionPpm?: number;
  cellFallback?: boolean;
}

export interface RouteRulesAdapter {
  /** The balancer's nodes as [id, effective weight], sorted by id. */
  plan(kind: BalancerKindName, instances: CaseInstance[], caller: CaseCaller, nowMs: number, options: CaseRuleOptions): [number, number][];
}

export interface RouteRuleCase {
  name: string;
  kind?: BalancerKindName;
  instances: CaseInstance[];
  caller?: CaseCaller;
  nowMs?: number;
  options?: CaseRuleOptions;
  want: [number, number][];
}

const E6 = 1_000_000;

export const ROUTE_RULE_CASES: RouteRuleCase[] = [
  {
    name: "zone affinity: same zone ×1, other zone ×0.001, other region ×0.000001",
    instances: [instance(1), instance(2, { zone: "z2" }), instance(3, { zone: "z9", region: "r2" })],
    // 10 · 10^6 ppm, 10 · 10^3 ppm, 10 · 1 ppm.
    want: [
      [1, 10 * E6],
      [2, 10_000],
      [3, 10],
    ],
  },
  {
    name: "zone factors are configurable",
    instances: [instance(1), instance(2, { zone: "z2" }), instance(3, { zone: "z9", region: "r2" })],
    options: { otherZonePpm: 500_000, otherRegionPpm: 10 },
    want: [
      [1, 10 * E6],
      [2, 5 * E6],
      [3, 100],
    ],
  },
  {
    name: "a caller with no zone applies no factor",
    instances: [instance(1), instance(2, { zone: "z2" }), instance(3, { zone: "z9", region: "r2" })],
    caller: caller({ zone: "", region: "" }),
    want: [
      [1, 10 * E6],
      [2, 10 * E6],
      [3, 10 * E6],
    ],
  },
  {
    name: "zone factors alone decide among other zones (none in the caller's)",
    instances: [instance(2, { zone: "z2", weight: 30 }), instance(3, { zone: "z3" }), instance(4, { zone: "z9", region: "r2" })],
    // 30 · 1000 and 10 · 1000 share the traffic 3:1; the other region gets 10 / 40,010.
    want: [
      [2, 30_000],
      [3, 10_000],
      [4, 10],
    ],
  },
  ...(["peak-ewma", "ring-hash", "maglev"] as const).map((kind) => ({
    name: `${kind} ignores weights: the nearest zone is a filter instead`,
    kind,
    instances: [instance(2, { zone: "z2" }), instance(3, { zone: "z3", weight: 20 }), instance(4, { zone: "z9", region: "r2" })],
    // No instance in z1: the region's other zones; configured weights, no factor.
    want: [
      [2, 10],
      [3, 20],
    ] as [number, number][],
  })),
  {
    name: "a lane-tagged request goes to its lane",
    instances: [instance(1), instance(2), instance(3, { lane: "blue" }), instance(4, { lane: "green" })],
    caller: caller({ lane: "blue" }),
    want: [[3, 10 * E6]],
  },
  {
    name: "a lane with no instance falls back to the main lane",
    instances: [instance(1), instance(2), instance(3, { lane: "blue" })],
    caller: caller({ lane: "red" }),
    want: [
      [1, 10 * E6],
      [2, 10 * E6],
    ],
  },
  {
    name: "an untagged request never reaches a lane",
    instances: [instance(1), instance(2), instance(3, { lane: "blue" })],
    want: [
      [1, 10 * E6],
      [2, 10 * E6],
    ],
  },
  {
    name: "a lane whose instances are all down falls back to the main lane",
    instances: [instance(1), instance(3, { lane: "blue", status: "dead" })],
    caller: caller({ lane: "blue" }),
    want: [[1, 10 * E6]],
  },
  {
    name: "a cell's request stays in its cell",
    instances: [instance(1), instance(2), instance(3, { cell: "c1" }), instance(4, { cell: "c1" }), instance(5, { cell: "c2" })],
    caller: caller({ cell: "c1" }),
    want: [
      [3, 10 * E6],
      [4, 10 * E6],
    ],
  },
  {
    name: "a cell with no instance gets none (SET isolation)",
    instances: [instance(1), instance(3, { cell: "c1" })],
    caller: caller({ cell: "c3" }),
    want: [],
  },
  {
    name: "a cell with no instance falls back to the unset pool when allowed",
    instances: [instance(1), instance(3, { cell: "c1" })],
    caller: caller({ cell: "c3" }),
    options: { cellFallback: true },
    want: [[1, 10 * E6]],
  },
  {
    name: "a request with no cell goes to the unset pool",
    instances: [instance(1), instance(2), instance(3, { cell: "c1" })],
    want: [
      [1, 10 * E6],
      [2, 10 * E6],
    ],
  },
  {
    name: "a request with no cell reaches every cell when there is no unset pool",
    instances: [instance(3, { cell: "c1" }), instance(5, { cell: "c2" })],
    want: [
      [3, 10 * E6],
      [5, 10 * E6],
    ],
  },
  {
    name: "only alive instances with weight > 0 that are not drained",
    instances: [
      instance(1, { status: "dead" }),
      instance(2, { status: "starting" }),
      instance(3),
      instance(4, { status: "stopping" }),
      instance(5, { status: "stopped" }),
      instance(6, { status: "warning" }),
      instance(7, { weight: 0 }),
      instance(8, { drained: true }),
      instance(9, { weight: 1 }),
    ],
    want: [
      [3, 10 * E6],
      [9, 1 * E6],
    ],
  },
  {
    name: "backups stay idle while a primary is healthy",
    instances: [instance(1), instance(2, { role: "backup" })],
    want: [[1, 10 * E6]],
  },
  {
    name: "only backups: they serve",
    instances: [instance(2, { role: "backup" }), instance(3, { role: "backup" })],
    want: [
      [2, 10 * E6],
      [3, 10 * E6],
    ],
  },
  {
    name: "warmup ramps linearly: a quarter of the way in, a quarter of the weight",
    instances: [instance(1, { warmupMs: 60_000, aliveSinceMs: 0 }), instance(2)],
    nowMs: 15_000,
    // 10^7 · 15 s / 60 s = 2.5 · 10^6.
    want: [
      [1, 2_500_000],
      [2, 10 * E6],
    ],
  },
  {
    name: "warmup starts at weight 1, not 0",
    instances: [instance(1, { warmupMs: 60_000, aliveSinceMs: 0 }), instance(2)],
    nowMs: 0,
    want: [
      [1, 1],
      [2, 10 * E6],
    ],
  },
  {
    name: "warmup ends at the full weight",
    instances: [instance(1, { warmupMs: 60_000, aliveSinceMs: 0, weight: 3 })],
    nowMs: 60_000,
    want: [[1, 3 * E6]],
  },
  {
    name: "warmup multiplies with the zone factor",
    instances: [instance(1, { zone: "z2", warmupMs: 10_000, aliveSinceMs: 1_000 })],
    nowMs: 3_500,
    // 10 · 1000 ppm = 10,000; 2.5 s of 10 s → 2,500.
    want: [[1, 2_500]],
  },
  ...(["ring-hash", "maglev"] as const).map((kind) => ({
    name: `${kind} ignores warmup (changing weights would move keys)`,
    kind,
    instances: [instance(1, { warmupMs: 60_000, aliveSinceMs: 0 }), instance(2)],
    nowMs: 0,
    want: [
      [1, 10],
      [2, 10],
    ] as [number, number][],
  })),
];

export function runRouteRuleCase(adapter: RouteRulesAdapter, c: RouteRuleCase): [number, number][] {
  return adapter.plan(c.kind ?? "swrr", c.instances, c.caller ?? caller(), c.nowMs ?? 0, c.options ?? {});
}
