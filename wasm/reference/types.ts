/**
 * Types shared by the balancing reference: what the snapshot says about an instance, what a
 * balancer is handed, and what the gateway reports back after an attempt. Numbers rather than
 * string unions where the WASM records hold a byte (status, role), so the port reads the same
 * codes.
 */
import type { InstanceState } from "./instance-state.ts";

/** OCTO SGService status codes, as INSTANCES.status in the snapshot. Only ALIVE receives traffic. */
export const STATUS_DEAD = 0;
export const STATUS_STARTING = 1;
export const STATUS_ALIVE = 2;
export const STATUS_STOPPING = 3;
export const STATUS_STOPPED = 4;
export const STATUS_WARNING = 5;

/** OCTO SGService role: backups receive traffic only when no primary is healthy. */
export const ROLE_PRIMARY = 0;
export const ROLE_BACKUP = 1;

/** One instance of a group as a snapshot describes it; static between snapshot swaps. */
export interface InstanceView {
  /** Control's instance id: the key of the instance's state record across snapshot swaps. */
  id: number;
  /** `host:port`, the string ring hash and maglev hash (Envoy hashes the address the same way). */
  address: string;
  /** Configured weight, 0–10000 (OCTO's usual 10); 0 receives nothing. */
  weight: number;
  /** STATUS_* code. */
  status: number;
  /** ROLE_PRIMARY or ROLE_BACKUP. */
  role: number;
  /** OCTO IDC; "" when unknown. */
  zone: string;
  region: string;
  /** Swimlane; "" is the main lane. */
  lane: string;
  /** SET (cell); "" is the unset pool. */
  cell: string;
  /** Slow-start window in ms (OCTO Dorado warmup); 0 = none. */
  warmupMs: number;
  /** Cut by the traffic-cut API (instance, its group or its zone): no new requests. */
  drained: boolean;
}

/** What a balancer picks from: identity, effective weight, and the instance's mutable record. */
export interface BalancerNode {
  id: number;
  address: string;
  /** Effective weight, an integer ≥ 1 (configured weight × zone factor × warmup ramp). */
  weight: number;
  state: InstanceState;
}

/** Per-pick input. */
export interface PickContext {
  /** Monotonic time in ms (EWMA decay). */
  nowMs: number;
  /** xxHash64 of the request's hash key; null = no key (hash balancers then pick at random). */
  hash: bigint | null;
  /** Host-selection attempt, 0 first; hash balancers step away from the key's host on > 0. */
  attempt: number;
}

/**
 * One balancer over one set of nodes, as APISIX's `new(nodes, upstream) → {get, after_balance}`.
 * Built when the node set changes (hash tables are expensive to build); all per-instance state
 * lives in `node.state`, so rebuilding loses nothing.
 */
export interface Balancer {
  /** The chosen node, or null when there are no nodes. */
  pick(ctx: PickContext): BalancerNode | null;
  /** Feedback after an attempt on `node` ended (peak EWMA records the latency). */
  after?(node: BalancerNode, latencyMs: number, nowMs: number): void;
}

/** How one attempt on an instance ended, as the gateway reports it. */
export interface Outcome {
  /** HTTP status of the upstream response; 0 when there was none. */
  status: number;
  /** Why there was no response: could not connect (nothing sent), reset, or per-try timeout. */
  failure?: "connect" | "reset" | "timeout";
  /** From sending the request to the end of the response headers, ms. */
  latencyMs: number;
}

/** The HTTP status Envoy's outlier detector charges for an outcome (connect failure → 503, timeout → 504). */
export function outcomeCode(outcome: Outcome): number {
  if (outcome.status > 0) return outcome.status;
  return outcome.failure === "timeout" ? 504 : 503;
}

/** True for 5xx responses and for attempts with no response at all. */
export function isServerFailure(outcome: Outcome): boolean {
  return outcomeCode(outcome) >= 500;
}
