/**
 * Loads groups into the WASM balancers the way a gateway does: control's writer
 * (control/snapshot/writer.ts) turns them into a snapshot, and HotPath.load hands it to the
 * module, which validates it and makes its GROUPS and INSTANCES the balancing generation (the
 * balancers then read each group's options from its GROUPS record). Used by the conformance
 * adapters, the WASM balancing tests and bench/balancer.ts.
 *
 * Times: a snapshot stores aliveSinceMs as a u64, but the cases say "alive since long ago" with
 * −1e9 ms and start their clocks at 0. So every test time is shifted by TIME_ORIGIN_MS on its
 * way into WASM (`at`). Selection depends only on differences of times and on their remainder
 * modulo the breaker's stat interval, and the origin (10^12 ms) is a multiple of every interval
 * the cases use, so the shift changes no decision.
 */
import { readFileSync } from "node:fs";
import type { InstanceConfig, RouteConfig } from "../../control/snapshot/model.ts";
import { type BalancerKind, type GroupBalancingInput, resolveBalancing } from "../../control/snapshot/options.ts";
import { writeSnapshot } from "../../control/snapshot/writer.ts";
import { HotPath } from "../../wasm/host.ts";
import { BalancingProbe } from "../support/balancing-probe.ts";
import type { CaseInstance } from "./route-rules.cases.ts";

/** The compiled module (compiled once per test file). */
export const hotpathModule = new WebAssembly.Module(readFileSync(new URL("../../build/hotpath.wasm", import.meta.url)));

/** Test time 0 in WASM, Unix ms (see the module comment). */
export const TIME_ORIGIN_MS = 1e12;

/** An instance as the cases describe it; aliveSinceMs absent = test time 0. */
export type TestInstance = Omit<CaseInstance, "aliveSinceMs"> & { aliveSinceMs?: number };

/** A group: its control id, balancer, options over the defaults (control's `balancing` input) and instances. */
export interface TestGroup {
  id: number;
  balancer: BalancerKind;
  balancing?: GroupBalancingInput;
  instances: readonly TestInstance[];
}

function instanceConfig(i: TestInstance): InstanceConfig {
  const colon = i.address.lastIndexOf(":");
  return {
    id: i.id,
    host: i.address.slice(0, colon),
    port: Number(i.address.slice(colon + 1)),
    status: i.status,
    weight: i.weight,
    zone: i.zone,
    lane: i.lane,
    version: "",
    role: i.role,
    warmupMs: i.warmupMs,
    region: i.region,
    cell: i.cell,
    aliveSinceMs: TIME_ORIGIN_MS + (i.aliveSinceMs ?? 0),
    drained: i.drained,
  };
}

/** One WASM instance behind a HotPath, fed groups through snapshots. */
export class SnapshotGroups {
  private readonly instance = new WebAssembly.Instance(hotpathModule, {});
  readonly hot = new HotPath(this.instance);
  /** The balancing exports of the same instance, with the probes tests use. */
  readonly balancing = new BalancingProbe(this.instance.exports);
  private version = 0n;

  constructor() {
    // HotPath seeds from crypto; a fresh module's state (all zero → 1, 2, 3, 4) keeps runs repeatable.
    this.balancing.seed(0, 0, 0, 0);
  }

  /** Test time `nowMs` as the Unix ms WASM is given. */
  at(nowMs: number): number {
    return TIME_ORIGIN_MS + nowMs;
  }

  /**
   * Writes `groups` (and `routes`, in service `svc`) as the next snapshot and loads it at test
   * time `nowMs`. Group index g is groups[g], named groupName(g); instance indices follow the
   * groups, each group's instances by ascending id (the writer's order: use instanceIndex /
   * instanceId rather than list positions).
   * @throws Error when the module refuses the snapshot.
   */
  load(groups: readonly TestGroup[], nowMs: number, routes: RouteConfig[] = []): void {
    const model = {
      groups: groups.map((g, k) => ({
        id: g.id,
        appkey: "svc",
        name: groupName(k),
        balancer: g.balancer,
        balancing: resolveBalancing(g.balancing ?? {}),
        instances: g.instances.map(instanceConfig),
      })),
      policies: [],
      routes,
    };
    this.version += 1n;
    const result = this.hot.load(writeSnapshot(model, { version: this.version, builtAtMs: 0 }), this.at(nowMs));
    if (!result.ok) throw new Error(`snapshot refused: ${result.reason}`);
  }

  /** The index of instance `id` in the loaded generation (−1: none). */
  instanceIndex(id: number): number {
    return this.balancing.instanceIndex(id);
  }

  /** The id of the instance at `index` (null: none). */
  instanceId(index: number): number | null {
    return index < 0 ? null : (this.hot.snapshot.instances[index]?.id ?? null);
  }
}

/** The name of the group at index `k`: names sort as the list, so the writer keeps its order. */
export function groupName(k: number): string {
  return `g${String(k).padStart(4, "0")}`;
}

/** Instance `id` at `address` with `weight`: alive primary, no zone, lane or cell (a bare balancer's node). */
export function bareInstance(id: number, address: string, weight: number): TestInstance {
  return { id, address, weight, status: "alive", role: "primary", zone: "", region: "", lane: "", cell: "", warmupMs: 0, drained: false };
}
