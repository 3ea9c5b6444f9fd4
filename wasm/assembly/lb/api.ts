/**
 * The balancing API the host calls (docs/balancing.md, "WASM API"; JS binding wasm/balancing.ts).
 * Each snapshot load makes the next generation of groups and instances (balancing-load.ts). Per
 * request: lbAdmit, lbStart, lbFinish, lbRelease; retries: lbRetryDecision, lbRetryStarted /
 * lbRetryEnded, lbHashKey + lbSelect. Every per-request export names its group or instance by
 * (index, id), the index from the generation the host last saw: after a swap the id is looked up
 * again, and one no longer present is "gone" (−1, 3 or no effect, as each says). Nothing here
 * allocates. Out-of-range indices of the other exports are refused (−1, 0 or no effect), never
 * read. u32 results reach JS as signed numbers (`>>> 0`).
 */
import {
  groupCount,
  groupInfo,
  groupRecord,
  indexOfId,
  info,
  instanceCount,
  nodes,
  record,
  setCaller,
  weights,
} from "./generation";
import { abandonQueued, admitRequest, finishRequest } from "./group-breaker";
import { cancelAttempt, finishAttempt, resolveGroup, resolveInstance, startAttempt } from "./group-runtime";
import { breakerAbandonProbe, breakerAvailable, breakerOnPick } from "./instance-breaker";
import { sweepOutliers } from "./outlier";
import { observeLatency } from "./peak-ewma";
import { nextU32, seedRandom, seedRandomFrom } from "./random";
import { GROUP_EWMA_DECAY_MS } from "../format";
import { GR_ACTIVE_RETRIES, II_GROUP, optionsOf } from "./records";
import { backoffMs, NO_RETRY_NOT_RETRIABLE, retryBudget, retryDecision } from "./retry";
import { planNodes, REQUEST_HASH, SELECT_RESULT, selectInstance } from "./select";
import { xxHash64 } from "./xxhash64";

const SCRATCH_CAPACITY: u32 = 65536;
const SCRATCH: usize = memory.data(<i32>SCRATCH_CAPACITY, 16);

/** Address of a 64 KiB area the host may use to pass structs and strings to these calls. */
export function lbScratchAddress(): usize {
  return SCRATCH;
}
/** Size of the scratch area, bytes. */
export function lbScratchCapacity(): u32 {
  return SCRATCH_CAPACITY;
}

/** The gateway's zone and region (UTF-8 at ptr/len, ≤ 256 bytes each), for zone affinity. */
export function lbSetCaller(zonePtr: usize, zoneLen: u32, regionPtr: usize, regionLen: u32): void {
  setCaller(zonePtr, zoneLen, regionPtr, regionLen);
}
/** Seeds xoshiro128** with four u32 words (from crypto.getRandomValues); all zero → (1, 2, 3, 4). */
export function lbSeed(s0: u32, s1: u32, s2: u32, s3: u32): void {
  seedRandom(s0, s1, s2, s3);
}
/** Seeds through splitmix32 from one u32, as the reference's createRandom(seed) (tests, benches). */
export function lbSeedFrom(seed: u32): void {
  seedRandomFrom(seed);
}
/** Next u32 of the random source (conformance of the generator). */
export function lbNextU32(): u32 {
  return nextU32();
}

/** Groups and instances of the current generation. */
export function lbGroupCount(): u32 {
  return groupCount;
}
/** Instances of the current generation. */
export function lbInstanceCount(): u32 {
  return instanceCount;
}
/** Current index of instance `id`, or −1. O(log n). */
export function lbInstanceIndex(id: u32): i32 {
  return indexOfId(id);
}
/** Address of instance i's 128-byte state record (layout: records.ts); valid until the next commit. */
export function lbInstanceRecord(i: u32): usize {
  return i < instanceCount ? record(i) : 0;
}
/** Address of group g's 64-byte record (counters; layout: records.ts); valid until the next commit. */
export function lbGroupRecord(g: u32): usize {
  return g < groupCount ? groupRecord(g) : 0;
}

/** xxHash64 of ptr/len with `seed` (u64 → BigInt in JS). */
export function lbXxHash64(ptr: usize, len: u32, seed: u64): u64 {
  return xxHash64(ptr, len, seed);
}
/** Hashes a request's hash key (xxHash64, seed 0) into the request hash register for lbSelect. */
export function lbHashKey(ptr: usize, len: u32): void {
  store<u64>(REQUEST_HASH, xxHash64(ptr, len, 0));
}
/** Sets the request hash register from two u32 halves (a hash computed elsewhere). */
export function lbSetHash(high: u32, low: u32): void {
  store<u64>(REQUEST_HASH, (<u64>high << 32) | <u64>low);
}

/**
 * Picks an instance of group (g, id) at nowMs (steps 0–8). hasHash 1: use the hash register
 * (lbHashKey). Lane and cell are UTF-8 (len 0 = none); tried = triedCount u32 instance ids at
 * triedPtr; attempt = first host-selection attempt for hash kinds (0). Result area
 * (lbSelectResultAddress): i32 instance, probe, panic, tier (0 none, 1 primary, 2 backup).
 * @returns instance index, or −1 when none is available or the group is gone.
 */
export function lbSelect(
  g: u32,
  id: u32,
  nowMs: f64,
  hasHash: u32,
  lanePtr: usize,
  laneLen: u32,
  cellPtr: usize,
  cellLen: u32,
  triedPtr: usize,
  triedCount: u32,
  attempt: u32,
): i32 {
  const at = resolveGroup(g, id);
  if (at < 0) {
    memory.fill(SELECT_RESULT, 0, 16);
    store<i32>(SELECT_RESULT, -1);
    return -1;
  }
  return selectInstance(<u32>at, nowMs, hasHash != 0, lanePtr, laneLen, cellPtr, cellLen, triedPtr, triedCount, attempt);
}
/** Address of lbSelect's result area (4 × i32). */
export function lbSelectResultAddress(): usize {
  return SELECT_RESULT;
}
/** Debug: steps 1–6 only (no sweep, no pick). @returns node count; lbPlanInstance/lbPlanWeight read them. */
export function lbPlan(g: u32, nowMs: f64, lanePtr: usize, laneLen: u32, cellPtr: usize, cellLen: u32): u32 {
  if (g >= groupCount) return 0;
  return planNodes(g, nowMs, lanePtr, laneLen, cellPtr, cellLen, nodes, weights);
}
/** Debug: the k-th node lbPlan produced (an instance index); k < lbPlan's count. */
export function lbPlanInstance(k: u32): u32 {
  return load<u32>(nodes + (<usize>k << 2));
}
/** Debug: the k-th node's effective weight. */
export function lbPlanWeight(k: u32): f64 {
  return load<f64>(weights + (<usize>k << 3));
}

/** An attempt was sent to instance (i, id). @returns 0, or −1 when the instance is gone. */
export function lbStart(i: u32, id: u32): i32 {
  const at = resolveInstance(i, id);
  if (at < 0) return -1;
  startAttempt(<u32>at);
  return 0;
}
/**
 * An attempt on (i, id) ended at nowMs: status (0 = none), failure 0 none / 1 connect / 2 reset /
 * 3 timeout, latency ms, probe as lbSelect reported. @returns 1 ejected, 0 not, −1 instance gone.
 */
export function lbFinish(i: u32, id: u32, status: u32, failure: u32, latencyMs: f64, probe: u32, nowMs: f64): i32 {
  const at = resolveInstance(i, id);
  if (at < 0) return -1;
  return finishAttempt(<u32>at, status, failure, latencyMs, probe != 0, nowMs) ? 1 : 0;
}
/** Feeds only the latency EWMA of instance i (APISIX after_balance). */
export function lbObserveLatency(i: u32, latencyMs: f64, nowMs: f64): void {
  if (i >= instanceCount) return;
  observeLatency(record(i), latencyMs, nowMs, <f64>load<u32>(optionsOf(groupInfo(load<u32>(info(i) + II_GROUP))) + GROUP_EWMA_DECAY_MS));
}
/** Runs group g's outlier sweep now (normally lbSelect runs it when an interval has passed). */
export function lbSweep(g: u32, nowMs: f64): void {
  if (g < groupCount) sweepOutliers(g, nowMs);
}
/** Whether instance i's breaker lets a pick through now (closed, or open past its window). */
export function lbBreakerAvailable(i: u32, nowMs: f64): u32 {
  if (i >= instanceCount) return 0;
  return breakerAvailable(record(i), nowMs, groupInfo(load<u32>(info(i) + II_GROUP))) ? 1 : 0;
}
/** Tells instance i's breaker it was picked. @returns 1 when this pick is the half-open probe. */
export function lbBreakerPick(i: u32, nowMs: f64): u32 {
  if (i >= instanceCount) return 0;
  return breakerOnPick(record(i), nowMs, groupInfo(load<u32>(info(i) + II_GROUP))) ? 1 : 0;
}
/** The attempt on (i, id) ended by the client's fault: one fewer in flight, nothing recorded (cancelAttempt). @returns 0, or −1 gone. */
export function lbCancel(i: u32, id: u32, probe: u32, nowMs: f64): i32 {
  const at = resolveInstance(i, id);
  if (at < 0) return -1;
  cancelAttempt(<u32>at, probe != 0, nowMs);
  return 0;
}
/** A probe of (i, id) was picked but never sent: its breaker opens again. */
export function lbAbandonProbe(i: u32, id: u32, nowMs: f64): void {
  const at = resolveInstance(i, id);
  if (at >= 0) breakerAbandonProbe(record(<u32>at), nowMs);
}

/** Admits a client request to group (g, id): 0 run, 1 queue (wait for lbRelease), 2 reject (counted), 3 gone. */
export function lbAdmit(g: u32, id: u32): i32 {
  const at = resolveGroup(g, id);
  return at < 0 ? 3 : admitRequest(<u32>at);
}
/** A running request of group (g, id) ended. @returns 1 when a queued request may run now, 0 not, −1 gone. */
export function lbRelease(g: u32, id: u32): i32 {
  const at = resolveGroup(g, id);
  if (at < 0) return -1;
  return finishRequest(<u32>at) ? 1 : 0;
}
/** A queued request of group (g, id) gave up. */
export function lbAbandonQueued(g: u32, id: u32): void {
  const at = resolveGroup(g, id);
  if (at >= 0) abandonQueued(<u32>at);
}

/**
 * Retry decision for group (g, id) after attempt retriesDone + 1 (see retry.ts): method UTF-8
 * at ptr/len, the route's retry policy in its ROUTES record at routePtr (routeRetryPolicy).
 * @returns delay ms ≥ 0 (retry: call lbRetryStarted), or −1 no-failure, −2 not-retriable (also:
 * the group is gone), −3 non-idempotent, −4 exhausted, −5 budget, −6 deadline.
 */
export function lbRetryDecision(
  g: u32,
  id: u32,
  status: u32,
  failure: u32,
  methodPtr: usize,
  methodLen: u32,
  retriesDone: u32,
  startMs: f64,
  nowMs: f64,
  routePtr: usize,
): f64 {
  const at = resolveGroup(g, id);
  if (at < 0) return NO_RETRY_NOT_RETRIABLE;
  return retryDecision(<u32>at, status, failure, methodPtr, methodLen, retriesDone, startMs, nowMs, routePtr);
}
/** Retries group g allows in flight now. */
export function lbRetryBudget(g: u32, budgetPercent: u32, minRetryConcurrency: u32): u32 {
  if (g >= groupCount) return 0;
  return retryBudget(g, budgetPercent, minRetryConcurrency);
}
/** A retry of group (g, id) started (the budget's activeRetries). */
export function lbRetryStarted(g: u32, id: u32): void {
  const at = resolveGroup(g, id);
  if (at < 0) return;
  const p = groupRecord(<u32>at) + GR_ACTIVE_RETRIES;
  store<u32>(p, load<u32>(p) + 1);
}
/** A retry of group (g, id) ended. */
export function lbRetryEnded(g: u32, id: u32): void {
  const at = resolveGroup(g, id);
  if (at < 0) return;
  const p = groupRecord(<u32>at) + GR_ACTIVE_RETRIES;
  const n = load<u32>(p);
  store<u32>(p, n > 0 ? n - 1 : 0);
}
/** Full-jitter back-off before retry number `retry` (≥ 1), ms. */
export function lbBackoffMs(retry: u32, baseMs: f64, maxMs: f64): f64 {
  return backoffMs(retry, baseMs, maxMs);
}
