/**
 * The WASM port (build/hotpath.wasm through wasm/balancing.ts) behind the conformance adapters:
 * the same shapes as reference-adapters.ts. Each harness gets its own instance of the compiled
 * module, as each reference harness gets its own objects. Hash-key extraction (which request
 * attribute is the key) is the host's job, so keyOf uses the reference; hashing and picking run
 * in WASM.
 */
import { readFileSync } from "node:fs";
import { Balancing, type FailureName, type GroupConfig, type InstanceSpec, type RetryPolicyConfig } from "../../wasm/balancing.ts";
import {
  BALANCER_DEFAULTS,
  GROUP_BREAKER_DEFAULTS,
  GROUP_POLICY_DEFAULTS,
  type HashKeyRequest,
  hashKeyValue,
  INSTANCE_BREAKER_DEFAULTS,
  OUTLIER_DEFAULTS,
  RETRY_DEFAULTS,
  ROUTE_RULE_DEFAULTS,
} from "../../wasm/reference/index.ts";
import type { BalancerAdapter, BalancerKindName, CaseNode } from "./balancer.cases.ts";
import type { BreakerAdapter, BreakerStateName } from "./breaker.cases.ts";
import type { CaseRequest, HashKeyAdapter } from "./hash-key.cases.ts";
import type { OutlierAdapter } from "./outlier.cases.ts";
import type { RandomAdapter } from "./random.cases.ts";
import type { RetryAdapter } from "./retry.cases.ts";
import type { CaseInstance, CaseStatus, RouteRulesAdapter } from "./route-rules.cases.ts";
import { type CaseOutcome, caseOutcome, type SelectionAdapter } from "./selection.cases.ts";

const WASM_PATH = new URL("../../build/hotpath.wasm", import.meta.url);

/** The reference's defaults as the WASM config struct takes them (one source: wasm/reference). */
export const GROUP_CONFIG_DEFAULTS: GroupConfig = {
  kind: GROUP_POLICY_DEFAULTS.balancer,
  cellFallback: ROUTE_RULE_DEFAULTS.cellFallback,
  ringScale: BALANCER_DEFAULTS.ringHash.scale,
  panicThresholdPct: GROUP_POLICY_DEFAULTS.panicThresholdPct,
  choiceCount: BALANCER_DEFAULTS.leastRequest.choiceCount,
  ringMinSize: BALANCER_DEFAULTS.ringHash.minRingSize,
  ringMaxSize: BALANCER_DEFAULTS.ringHash.maxRingSize,
  maglevTableSize: BALANCER_DEFAULTS.maglev.tableSize,
  activeRequestBias: BALANCER_DEFAULTS.leastRequest.activeRequestBias,
  ewmaDecayMs: BALANCER_DEFAULTS.peakEwma.decayMs,
  sameZonePpm: ROUTE_RULE_DEFAULTS.sameZonePpm,
  otherZonePpm: ROUTE_RULE_DEFAULTS.otherZonePpm,
  otherRegionPpm: ROUTE_RULE_DEFAULTS.otherRegionPpm,
  ...OUTLIER_DEFAULTS,
  ...INSTANCE_BREAKER_DEFAULTS,
  ...GROUP_BREAKER_DEFAULTS,
};

/** The reference's retry defaults as the WASM retry struct takes them. */
export const RETRY_POLICY_DEFAULTS: RetryPolicyConfig = RETRY_DEFAULTS;

/** The compiled module (compiled once per test file). */
export const hotpathModule = new WebAssembly.Module(readFileSync(WASM_PATH));

export function createBalancing(): Balancing {
  return Balancing.create(hotpathModule);
}

const STATUS_CODES: Record<CaseStatus, number> = { dead: 0, starting: 1, alive: 2, stopping: 3, stopped: 4, warning: 5 };

function caseSpec(i: CaseInstance): InstanceSpec {
  return { ...i, status: STATUS_CODES[i.status], role: i.role === "backup" ? 1 : 0 };
}

/** A bare balancer: one group, caller without zone and same-zone factor 1, so weights are the configured ones. */
function nodeSpec(n: CaseNode): InstanceSpec {
  return {
    id: n.id,
    weight: n.weight,
    status: 2,
    role: 0,
    zone: "",
    region: "",
    lane: "",
    cell: "",
    address: n.address,
    warmupMs: 0,
    drained: false,
  };
}

function outcomeOf(o: CaseOutcome): { status: number; failure?: FailureName; latencyMs: number } {
  return caseOutcome(o);
}

export const wasmBalancers: BalancerAdapter = {
  create(kind, caseNodes, seed, options = {}) {
    const b = createBalancing();
    b.seedFrom(seed);
    const config: GroupConfig = {
      ...GROUP_CONFIG_DEFAULTS,
      kind,
      sameZonePpm: 1,
      activeRequestBias: options.activeRequestBias ?? GROUP_CONFIG_DEFAULTS.activeRequestBias,
      ringScale: options.ringScale ?? GROUP_CONFIG_DEFAULTS.ringScale,
      ringMinSize: options.minRingSize ?? GROUP_CONFIG_DEFAULTS.ringMinSize,
    };
    b.loadGeneration([{ id: 1, config, instances: caseNodes.map(nodeSpec) }], 0);
    const ids = caseNodes.map((n) => n.id);
    return {
      pick: ({ key = null, nowMs = 0, attempt = 0 } = {}) => {
        const i = b.select(0, 1, nowMs, { key: key ?? undefined, attempt }).instance;
        return i < 0 ? null : ids[i]!;
      },
      setActive: (id, n) => b.instanceRecord(b.instanceIndex(id)).setUint32(8, n, true),
      observeLatency: (id, latencyMs, nowMs) => b.observeLatency(b.instanceIndex(id), latencyMs, nowMs),
    };
  },
};

function groupConfig(kind: BalancerKindName, options: Partial<GroupConfig> = {}): GroupConfig {
  return { ...GROUP_CONFIG_DEFAULTS, kind, ...options };
}

export const wasmRouteRules: RouteRulesAdapter = {
  plan(kind, instances, caller, nowMs, options) {
    const b = createBalancing();
    b.setCaller(caller.zone, caller.region);
    b.loadGeneration([{ id: 1, config: groupConfig(kind, options), instances: instances.map(caseSpec) }], nowMs);
    return b
      .plan(0, nowMs, caller.lane, caller.cell)
      .map(([i, w]): [number, number] => [instances[i]!.id, w])
      .sort((a, b) => a[0] - b[0]);
  },
};

export const wasmSelection: SelectionAdapter = {
  create(kind, instances, seed) {
    const b = createBalancing();
    b.seedFrom(seed);
    b.setCaller("z1", "r1");
    let current = instances;
    b.loadGeneration([{ id: 1, config: groupConfig(kind), instances: current.map(caseSpec) }], 0);
    return {
      pick(nowMs, request = {}) {
        const caller = { zone: "z1", region: "r1", lane: "", cell: "", ...request.caller };
        if (request.caller?.zone !== undefined || request.caller?.region !== undefined) b.setCaller(caller.zone, caller.region);
        const s = b.select(0, 1, nowMs, { key: request.key, lane: caller.lane, cell: caller.cell, tried: request.tried });
        return { id: s.instance < 0 ? null : current[s.instance]!.id, panic: s.panic, probe: s.probe, tier: s.tier };
      },
      record(id, outcome, nowMs, probe = false) {
        b.finish(b.instanceIndex(id), id, outcomeOf(outcome), probe, nowMs);
      },
      sweep: (nowMs) => b.sweep(0, nowMs),
      panicCount: () => b.counters(0).panic,
      swap(next, nowMs) {
        current = next;
        b.loadGeneration([{ id: 1, config: groupConfig(kind), instances: current.map(caseSpec) }], nowMs);
      },
    };
  },
};

export const wasmOutliers: OutlierAdapter = {
  create(hosts, options, seed) {
    const b = createBalancing();
    b.seedFrom(seed);
    const instances = Array.from({ length: hosts }, (_, k) => nodeSpec({ id: k + 1, address: `10.0.0.${k + 1}:8080`, weight: 1 }));
    b.loadGeneration([{ id: 1, config: { ...GROUP_CONFIG_DEFAULTS, ...options }, instances }], 0);
    return {
      record: (id, outcome, nowMs) => {
        b.finish(id - 1, id, outcomeOf(outcome), false, nowMs);
      },
      sweep: (nowMs) => b.sweep(0, nowMs),
      ejected: () => instances.filter((_, k) => b.instanceRecord(k).getUint8(5) !== 0).map((i) => i.id),
    };
  },
};

const BREAKER_STATE_NAMES: BreakerStateName[] = ["closed", "open", "half-open"];

export const wasmBreakers: BreakerAdapter = {
  instance(options) {
    const b = createBalancing();
    const config = { ...GROUP_CONFIG_DEFAULTS, errorRatio: options.errorRatio ?? GROUP_CONFIG_DEFAULTS.errorRatio };
    b.loadGeneration([{ id: 1, config, instances: [nodeSpec({ id: 1, address: "10.0.0.1:8080", weight: 1 })] }], 0);
    return {
      available: (nowMs) => b.breakerAvailable(0, nowMs),
      pick: (nowMs) => b.breakerPick(0, nowMs),
      record: (outcome, probe, nowMs) => {
        b.finish(0, 1, outcomeOf(outcome), probe, nowMs);
      },
      state: () => BREAKER_STATE_NAMES[b.instanceRecord(0).getUint8(6)]!,
    };
  },
  group(options) {
    const b = createBalancing();
    b.loadGeneration([{ id: 1, config: { ...GROUP_CONFIG_DEFAULTS, ...options }, instances: [] }], 0);
    return {
      admit: () => {
        const verdict = b.admit(0, 1);
        if (verdict === "gone") throw new Error("group 1 is gone");
        return verdict;
      },
      finish: () => b.release(0, 1) === "wake",
      counts: () => {
        const c = b.counters(0);
        return { active: c.active, pending: c.pending, overflow: c.overflow };
      },
    };
  },
};

let retryBalancing: Balancing | null = null;
function retryGroup(): Balancing {
  if (retryBalancing === null) {
    retryBalancing = createBalancing();
    retryBalancing.loadGeneration([{ id: 1, config: GROUP_CONFIG_DEFAULTS, instances: [] }], 0);
  }
  return retryBalancing;
}

export const wasmRetries: RetryAdapter = {
  decide(input, policy, group, seed) {
    const b = retryGroup();
    b.seedFrom(seed);
    b.setGroupCounts(0, group.active, group.pending, group.activeRetries);
    const d = b.retryDecision(0, 1, outcomeOf(input.outcome), input.method, input.retriesDone, 0, input.nowMs, {
      ...RETRY_POLICY_DEFAULTS,
      ...policy,
    });
    return d.retry ? { retry: true } : { retry: false, reason: d.reason as Exclude<typeof d.reason, ""> };
  },
  budget(active, pending) {
    const b = retryGroup();
    b.setGroupCounts(0, active, pending, 0);
    return b.retryBudget(0, RETRY_POLICY_DEFAULTS.budgetPercent, RETRY_POLICY_DEFAULTS.minRetryConcurrency);
  },
  backoffs(retry, draws, seed) {
    const b = retryGroup();
    b.seedFrom(seed);
    return Array.from({ length: draws }, () => b.backoffMs(retry, RETRY_POLICY_DEFAULTS.backoffBaseMs, RETRY_POLICY_DEFAULTS.backoffMaxMs));
  },
};

function caseRequest(r: CaseRequest): HashKeyRequest {
  const maps = { header: r.headers ?? {}, cookie: r.cookies ?? {}, query: r.query ?? {} };
  return { attribute: (passway, name) => maps[passway][name], clientIp: r.clientIp ?? "" };
}

export const wasmHashKeys: HashKeyAdapter = {
  keyOf: (source, request) => hashKeyValue(source, caseRequest(request)),
  stickyPicker(kind, source) {
    const b = createBalancing();
    b.seedFrom(1);
    const instances = Array.from({ length: 10 }, (_, k) => nodeSpec({ id: k + 1, address: `10.0.0.${k + 1}:8080`, weight: 1 }));
    b.loadGeneration([{ id: 1, config: { ...GROUP_CONFIG_DEFAULTS, kind }, instances }], 0);
    return (request) => {
      const i = b.select(0, 1, 0, { key: hashKeyValue(source, caseRequest(request)) ?? undefined }).instance;
      return i < 0 ? null : i + 1;
    };
  },
};

export const wasmRandom: RandomAdapter = {
  fromState(s0, s1, s2, s3) {
    const b = createBalancing();
    b.seed(s0, s1, s2, s3);
    return { nextU32: () => b.nextU32() };
  },
  fromSeed(seed) {
    const b = createBalancing();
    b.seedFrom(seed);
    return { nextU32: () => b.nextU32() };
  },
};
