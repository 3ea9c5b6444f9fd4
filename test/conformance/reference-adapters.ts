/**
 * The TypeScript reference (wasm/reference) behind the conformance adapters. The WASM port's
 * tests provide the same adapter shapes over the WASM exports and import the same tables.
 */
import {
  admitRequest,
  BALANCER_DEFAULTS,
  type Balancer,
  type BalancerConfig,
  type BalancerNode,
  backoffMs,
  balancerNodes,
  breakerAvailable,
  breakerOnPick,
  breakerRecord,
  createBalancer,
  createGroupCounters,
  createInstanceState,
  createOutlierGroup,
  createRandom,
  decideRetry,
  finishAttempt,
  finishRequest,
  GROUP_BREAKER_DEFAULTS,
  GROUP_POLICY_DEFAULTS,
  type GroupPolicy,
  type HashKeyRequest,
  hashKeyValue,
  INSTANCE_BREAKER_DEFAULTS,
  type InstanceView,
  OUTLIER_DEFAULTS,
  observeLatency,
  planCandidates,
  RETRY_DEFAULTS,
  ROLE_BACKUP,
  ROLE_PRIMARY,
  ROUTE_RULE_DEFAULTS,
  recordOutlierResult,
  requestHash,
  retryBudget,
  STATUS_ALIVE,
  selectInstance,
  successRateThreshold,
  swapGroupRuntime,
  sweepOutliers,
  xxHash64Text,
} from "../../wasm/reference/index.ts";
import type { BalancerAdapter, BalancerKindName, CaseBalancerOptions } from "./balancer.cases.ts";
import type { BreakerAdapter, BreakerStateName } from "./breaker.cases.ts";
import type { CaseRequest, HashKeyAdapter } from "./hash-key.cases.ts";
import type { OutlierAdapter } from "./outlier.cases.ts";
import type { RetryAdapter } from "./retry.cases.ts";
import type { CaseInstance, CaseRuleOptions, CaseStatus, RouteRulesAdapter } from "./route-rules.cases.ts";
import { caseOutcome, type SelectionAdapter } from "./selection.cases.ts";

function balancerConfig(options: CaseBalancerOptions): BalancerConfig {
  return {
    ...BALANCER_DEFAULTS,
    leastRequest: {
      ...BALANCER_DEFAULTS.leastRequest,
      activeRequestBias: options.activeRequestBias ?? BALANCER_DEFAULTS.leastRequest.activeRequestBias,
    },
    ringHash: {
      ...BALANCER_DEFAULTS.ringHash,
      scale: options.ringScale ?? BALANCER_DEFAULTS.ringHash.scale,
      minRingSize: options.minRingSize ?? BALANCER_DEFAULTS.ringHash.minRingSize,
    },
  };
}

export const referenceBalancers: BalancerAdapter = {
  create(kind, caseNodes, seed, options = {}) {
    const config = balancerConfig(options);
    const list: BalancerNode[] = caseNodes.map((n) => ({ ...n, state: createInstanceState(n.id, STATUS_ALIVE, 0) }));
    const byId = new Map(list.map((n) => [n.id, n]));
    const balancer = createBalancer(kind, list, config, createRandom(seed));
    return {
      pick: ({ key = null, nowMs = 0, attempt = 0 } = {}) =>
        balancer.pick({ nowMs, attempt, hash: key === null ? null : xxHash64Text(key) })?.id ?? null,
      setActive: (id, n) => {
        byId.get(id)!.state.active = n;
      },
      observeLatency: (id, latencyMs, nowMs) => {
        const node = byId.get(id)!;
        if (balancer.after) balancer.after(node, latencyMs, nowMs);
        else observeLatency(node.state, latencyMs, nowMs, config.peakEwma.decayMs);
      },
    };
  },
};

const STATUS_CODES: Record<CaseStatus, number> = { dead: 0, starting: 1, alive: 2, stopping: 3, stopped: 4, warning: 5 };

function toView(i: CaseInstance): InstanceView & { aliveSinceMs: number } {
  return { ...i, status: STATUS_CODES[i.status], role: i.role === "backup" ? ROLE_BACKUP : ROLE_PRIMARY };
}

function policyFor(kind: BalancerKindName, options: CaseRuleOptions = {}): GroupPolicy {
  return { ...GROUP_POLICY_DEFAULTS, balancer: kind, rules: { ...ROUTE_RULE_DEFAULTS, ...options } };
}

export const referenceRouteRules: RouteRulesAdapter = {
  plan(kind, instances, caller, nowMs, options) {
    const group = swapGroupRuntime(null, instances.map(toView), nowMs);
    const policy = policyFor(kind, options);
    const { candidates } = planCandidates(group, policy, caller, nowMs);
    return balancerNodes(group, candidates, policy, caller, nowMs)
      .map((n): [number, number] => [n.id, n.weight])
      .sort((a, b) => a[0] - b[0]);
  },
};

export const referenceSelection: SelectionAdapter = {
  create(kind, instances, seed) {
    const random = createRandom(seed);
    let group = swapGroupRuntime(null, instances.map(toView), 0);
    const policy = policyFor(kind);
    const feedback = { outlier: policy.outlier, breaker: policy.breaker, peakEwma: policy.balancerConfig.peakEwma };
    const cache = new Map<string, Balancer>();
    return {
      pick(nowMs, request = {}) {
        const s = selectInstance(
          group,
          policy,
          {
            caller: { zone: "z1", region: "r1", lane: "", cell: "", ...request.caller },
            hash: request.key === undefined ? null : xxHash64Text(request.key),
            tried: request.tried ?? [],
            nowMs,
          },
          random,
          cache,
        );
        return { id: s.node?.id ?? null, panic: s.panic, probe: s.probe, tier: s.tier };
      },
      record(id, outcome, nowMs, probe = false) {
        finishAttempt(group, id, caseOutcome(outcome), probe, nowMs, feedback, random);
      },
      sweep(nowMs) {
        sweepOutliers(group.outlier, nowMs, policy.outlier, random);
      },
      panicCount: () => group.counters.panicCount,
      swap(next, nowMs) {
        group = swapGroupRuntime(group, next.map(toView), nowMs);
      },
    };
  },
};

export const referenceOutliers: OutlierAdapter = {
  create(hosts, options, seed) {
    const random = createRandom(seed);
    const config = { ...OUTLIER_DEFAULTS, ...options };
    const states = Array.from({ length: hosts }, (_, i) => createInstanceState(i + 1, STATUS_ALIVE, 0));
    const group = createOutlierGroup(states, 0);
    return {
      record: (id, outcome, nowMs) => {
        recordOutlierResult(group, states[id - 1]!, caseOutcome(outcome), nowMs, config, random);
      },
      sweep: (nowMs) => {
        sweepOutliers(group, nowMs, config, random);
      },
      ejected: () => states.filter((s) => s.ejected).map((s) => s.id),
    };
  },
  successRateThreshold,
};

const BREAKER_STATE_NAMES: BreakerStateName[] = ["closed", "open", "half-open"];

export const referenceBreakers: BreakerAdapter = {
  instance(options) {
    const config = { ...INSTANCE_BREAKER_DEFAULTS, errorRatio: options.errorRatio ?? INSTANCE_BREAKER_DEFAULTS.errorRatio };
    const state = createInstanceState(1, STATUS_ALIVE, 0);
    return {
      available: (nowMs) => breakerAvailable(state, nowMs, config),
      pick: (nowMs) => breakerOnPick(state, nowMs, config),
      record: (outcome, probe, nowMs) => breakerRecord(state, caseOutcome(outcome), probe, nowMs, config),
      state: () => BREAKER_STATE_NAMES[state.breakerState]!,
    };
  },
  group(options) {
    const config = { ...GROUP_BREAKER_DEFAULTS, ...options };
    const counters = createGroupCounters();
    return {
      admit: () => admitRequest(counters, config),
      finish: () => finishRequest(counters),
      counts: () => ({ active: counters.active, pending: counters.pending, overflow: counters.overflowCount }),
    };
  },
};

export const referenceRetries: RetryAdapter = {
  decide(input, policy, group, seed) {
    const counters = { ...createGroupCounters(), ...group };
    const decision = decideRetry(
      { outcome: caseOutcome(input.outcome), method: input.method, retriesDone: input.retriesDone, startMs: 0, nowMs: input.nowMs },
      { ...RETRY_DEFAULTS, ...policy },
      counters,
      createRandom(seed),
    );
    return decision.retry ? { retry: true } : { retry: false, reason: decision.reason };
  },
  budget: (active, pending) => retryBudget({ ...createGroupCounters(), active, pending }, RETRY_DEFAULTS),
  backoffs(retry, draws, seed) {
    const random = createRandom(seed);
    return Array.from({ length: draws }, () => backoffMs(retry, RETRY_DEFAULTS, random));
  },
};

export const referenceHashKeys: HashKeyAdapter = {
  keyOf: (source, request) => hashKeyValue(source, caseRequest(request)),
  stickyPicker(kind, source) {
    const list: BalancerNode[] = Array.from({ length: 10 }, (_, i) => ({
      id: i + 1,
      address: `10.0.0.${i + 1}:8080`,
      weight: 1,
      state: createInstanceState(i + 1, STATUS_ALIVE, 0),
    }));
    const balancer = createBalancer(kind, list, BALANCER_DEFAULTS, createRandom(1));
    return (request) => balancer.pick({ nowMs: 0, attempt: 0, hash: requestHash(source, caseRequest(request)) })?.id ?? null;
  },
};

function caseRequest(r: CaseRequest): HashKeyRequest {
  const maps = { header: r.headers ?? {}, cookie: r.cookies ?? {}, query: r.query ?? {} };
  return { attribute: (passway, name) => maps[passway][name], clientIp: r.clientIp ?? "" };
}
