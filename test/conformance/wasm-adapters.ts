/**
 * The WASM port (build/hotpath.wasm through wasm/balancing.ts) behind the conformance adapters:
 * the same shapes as reference-adapters.ts. Each harness gets its own instance of the compiled
 * module, as each reference harness gets its own objects, and loads its group the way a gateway
 * does: through a snapshot written by control's writer (snapshot-groups.ts; times shifted by
 * its `at`). Hash-key extraction (which request attribute is the key) is the host's job, so
 * keyOf uses the reference; hashing and picking run in WASM.
 */
import { type GroupBalancingInput, resolveRetry } from "../../control/snapshot/options.ts";
import { FAILURE_CODES, type FailureName, NO_RETRY_REASONS } from "../../wasm/balancing.ts";
import { GROUP_POLICY_DEFAULTS, type HashKeyRequest, hashKeyValue, RETRY_DEFAULTS } from "../../wasm/reference/index.ts";
import type { BalancerAdapter, BalancerKindName, CaseNode } from "./balancer.cases.ts";
import type { BreakerAdapter, BreakerStateName } from "./breaker.cases.ts";
import type { CaseRequest, HashKeyAdapter } from "./hash-key.cases.ts";
import type { OutlierAdapter } from "./outlier.cases.ts";
import type { RandomAdapter } from "./random.cases.ts";
import type { CaseRetryPolicy, RetryAdapter } from "./retry.cases.ts";
import type { RouteRulesAdapter } from "./route-rules.cases.ts";
import { type CaseOutcome, caseOutcome, type SelectionAdapter } from "./selection.cases.ts";
import { bareInstance, groupName, SnapshotGroups, type TestGroup, type TestInstance } from "./snapshot-groups.ts";

/** The reference's default balancer. */
const DEFAULT_KIND = GROUP_POLICY_DEFAULTS.balancer;

/** A harness's WASM instance with one group (id 1) of `kind` loaded at test time 0. */
function oneGroup(kind: BalancerKindName, instances: readonly TestInstance[], balancing: GroupBalancingInput = {}): SnapshotGroups {
  const s = new SnapshotGroups();
  s.load([{ id: 1, balancer: kind, balancing, instances }], 0);
  return s;
}

/** `part` without its undefined fields (an undefined option would replace its default). */
function defined<T extends object>(part: T): Partial<T> {
  return Object.fromEntries(Object.entries(part).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A bare balancer's node: alive primary, no zone (with same-zone factor 1, weights are the configured ones). */
function nodeSpec(n: CaseNode): TestInstance {
  return bareInstance(n.id, n.address, n.weight);
}

function outcomeOf(o: CaseOutcome): { status: number; failure?: FailureName; latencyMs: number } {
  return caseOutcome(o);
}

export const wasmBalancers: BalancerAdapter = {
  create(kind, caseNodes, seed, options = {}) {
    const balancing = {
      routeRules: { sameZonePpm: 1 },
      leastRequest: defined({ activeRequestBias: options.activeRequestBias }),
      ringHash: defined({ scale: options.ringScale, minRingSize: options.minRingSize }),
    };
    const s = oneGroup(kind, caseNodes.map(nodeSpec), balancing);
    const b = s.balancing;
    b.seedFrom(seed);
    return {
      pick: ({ key = null, nowMs = 0, attempt = 0 } = {}) =>
        s.instanceId(b.select(0, 1, s.at(nowMs), { key: key ?? undefined, attempt }).instance),
      setActive: (id, n) => b.instanceRecord(s.instanceIndex(id)).setUint32(8, n, true),
      observeLatency: (id, latencyMs, nowMs) => b.observeLatency(s.instanceIndex(id), latencyMs, s.at(nowMs)),
    };
  },
};

export const wasmRouteRules: RouteRulesAdapter = {
  plan(kind, instances, caller, nowMs, options) {
    const s = new SnapshotGroups();
    s.balancing.setCaller(caller.zone, caller.region);
    s.load([{ id: 1, balancer: kind, balancing: { routeRules: defined(options) }, instances }], nowMs);
    return s.balancing
      .plan(0, s.at(nowMs), caller.lane, caller.cell)
      .map(([i, w]): [number, number] => [s.instanceId(i)!, w])
      .sort((a, b) => a[0] - b[0]);
  },
};

export const wasmSelection: SelectionAdapter = {
  create(kind, instances, seed) {
    const s = new SnapshotGroups();
    const b = s.balancing;
    b.seedFrom(seed);
    b.setCaller("z1", "r1");
    const group = (list: readonly TestInstance[]): TestGroup[] => [{ id: 1, balancer: kind, instances: list }];
    s.load(group(instances), 0);
    return {
      pick(nowMs, request = {}) {
        const caller = { zone: "z1", region: "r1", lane: "", cell: "", ...request.caller };
        if (request.caller?.zone !== undefined || request.caller?.region !== undefined) b.setCaller(caller.zone, caller.region);
        const r = b.select(0, 1, s.at(nowMs), { key: request.key, lane: caller.lane, cell: caller.cell, tried: request.tried });
        return { id: s.instanceId(r.instance), panic: r.panic, probe: r.probe, tier: r.tier };
      },
      record(id, outcome, nowMs, probe = false) {
        b.finish(s.instanceIndex(id), id, outcomeOf(outcome), probe, s.at(nowMs));
      },
      sweep: (nowMs) => b.sweep(0, s.at(nowMs)),
      panicCount: () => b.counters(0).panic,
      swap(next, nowMs) {
        s.load(group(next), nowMs);
      },
    };
  },
};

export const wasmOutliers: OutlierAdapter = {
  create(hosts, options, seed) {
    const instances = Array.from({ length: hosts }, (_, k) => nodeSpec({ id: k + 1, address: `10.0.0.${k + 1}:8080`, weight: 1 }));
    const s = oneGroup(DEFAULT_KIND, instances, { outlier: defined(options) });
    const b = s.balancing;
    b.seedFrom(seed);
    return {
      record: (id, outcome, nowMs) => {
        b.finish(s.instanceIndex(id), id, outcomeOf(outcome), false, s.at(nowMs));
      },
      sweep: (nowMs) => b.sweep(0, s.at(nowMs)),
      ejected: () => instances.filter((i) => b.instanceRecord(s.instanceIndex(i.id)).getUint8(5) !== 0).map((i) => i.id),
    };
  },
};

const BREAKER_STATE_NAMES: BreakerStateName[] = ["closed", "open", "half-open"];

export const wasmBreakers: BreakerAdapter = {
  instance(options) {
    const instances = [nodeSpec({ id: 1, address: "10.0.0.1:8080", weight: 1 })];
    const s = oneGroup(DEFAULT_KIND, instances, { instanceBreaker: defined({ errorRatio: options.errorRatio }) });
    const b = s.balancing;
    return {
      available: (nowMs) => b.breakerAvailable(0, s.at(nowMs)),
      pick: (nowMs) => b.breakerPick(0, s.at(nowMs)),
      record: (outcome, probe, nowMs) => {
        b.finish(0, 1, outcomeOf(outcome), probe, s.at(nowMs));
      },
      state: () => BREAKER_STATE_NAMES[b.instanceRecord(0).getUint8(6)]!,
    };
  },
  group(options) {
    const b = oneGroup(DEFAULT_KIND, [], { groupBreaker: defined(options) }).balancing;
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

/**
 * The retry harness: one empty group (index 0) and one route (index 0) to it carrying the case's
 * retry policy, its timeoutMs as the route's total (the reference's defaults for the rest).
 */
let retryGroups: SnapshotGroups | null = null;
function retryGroup(policy: CaseRetryPolicy = {}): SnapshotGroups {
  const { timeoutMs = RETRY_DEFAULTS.timeoutMs, ...retry } = policy;
  retryGroups ??= new SnapshotGroups();
  const route = {
    id: 1,
    appkey: "svc",
    host: "*",
    path: "/",
    match: "prefix" as const,
    policies: [],
    timeoutMs,
    retry: resolveRetry(retry),
  };
  retryGroups.load([{ id: 1, balancer: DEFAULT_KIND, instances: [] }], 0, [{ ...route, defaultGroup: groupName(0) }]);
  return retryGroups;
}

export const wasmRetries: RetryAdapter = {
  decide(input, policy, group, seed) {
    const s = retryGroup(policy);
    s.balancing.seedFrom(seed);
    s.balancing.setGroupCounts(0, group.active, group.pending, group.activeRetries);
    const { status, failure } = outcomeOf(input.outcome);
    const code = failure === undefined ? 0 : FAILURE_CODES[failure];
    const r = s.hot.retryDecision(0, 1, 0, 1, status, code, input.method, input.retriesDone, 0, input.nowMs);
    return r >= 0 ? { retry: true } : { retry: false, reason: NO_RETRY_REASONS[-r] as Exclude<(typeof NO_RETRY_REASONS)[number], ""> };
  },
  budget(active, pending) {
    const b = retryGroup().balancing;
    b.setGroupCounts(0, active, pending, 0);
    return b.retryBudget(0, RETRY_DEFAULTS.budgetPercent, RETRY_DEFAULTS.minRetryConcurrency);
  },
  backoffs(retry, draws, seed) {
    const b = retryGroup().balancing;
    b.seedFrom(seed);
    return Array.from({ length: draws }, () => b.backoffMs(retry, RETRY_DEFAULTS.backoffBaseMs, RETRY_DEFAULTS.backoffMaxMs));
  },
};

function caseRequest(r: CaseRequest): HashKeyRequest {
  const maps = { header: r.headers ?? {}, cookie: r.cookies ?? {}, query: r.query ?? {} };
  return { attribute: (passway, name) => maps[passway][name], clientIp: r.clientIp ?? "" };
}

export const wasmHashKeys: HashKeyAdapter = {
  keyOf: (source, request) => hashKeyValue(source, caseRequest(request)),
  stickyPicker(kind, source) {
    const instances = Array.from({ length: 10 }, (_, k) => nodeSpec({ id: k + 1, address: `10.0.0.${k + 1}:8080`, weight: 1 }));
    const s = oneGroup(kind, instances);
    s.balancing.seedFrom(1);
    return (request) =>
      s.instanceId(s.balancing.select(0, 1, s.at(0), { key: hashKeyValue(source, caseRequest(request)) ?? undefined }).instance);
  },
};

export const wasmRandom: RandomAdapter = {
  fromState(s0, s1, s2, s3) {
    const b = new SnapshotGroups().balancing;
    b.seed(s0, s1, s2, s3);
    return { nextU32: () => b.nextU32() };
  },
  fromSeed(seed) {
    const b = new SnapshotGroups().balancing;
    b.seedFrom(seed);
    return { nextU32: () => b.nextU32() };
  },
};
