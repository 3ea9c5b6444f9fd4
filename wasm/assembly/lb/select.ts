/**
 * The selection pipeline, steps 0–8 of wasm/reference/select.ts, over the current generation
 * and the per-generation scratch (no allocation): outlier sweep when due; route rules; health
 * (not ejected, breaker available); role tier (backups only when no primary is healthy); panic
 * below panicThresholdPct (fail open, counted); zone factors or nearest-zone filter; effective
 * weights with warmup; a retry excludes tried instances (hash kinds re-pick with attempt + 1,
 * up to 3 times, as Envoy); the balancer; an OPEN breaker past its window becomes the probe.
 *
 * Plan cache: steps 1–6 of an untagged first attempt (no lane, no cell, nothing tried) depend
 * only on the generation, the group's health (ejections, breaker availability, warmup starts)
 * and time. Each group keeps its last such plan (generation.ts planCache / planMeta) and reuses
 * it while (a) nothing invalidated it — invalidatePlan runs on every ejection, sweep, breaker
 * transition and setCaller, and a commit starts with none — and (b) PM_AT ≤ now < PM_UNTIL, the
 * earliest end of an OPEN breaker's window. A plan made while an instance of a dynamic-weight
 * group is inside its warmup ramp is used once and not kept. Other requests plan into the
 * scratch every time, as before.
 */
import {
  BALANCER_LEAST_REQUEST,
  BALANCER_MAGLEV,
  BALANCER_PEAK_EWMA,
  BALANCER_RANDOM,
  BALANCER_RING_HASH,
  BALANCER_SWRR,
  GROUP_BALANCER,
  GROUP_CHOICE_COUNT,
  GROUP_EWMA_DECAY_MS,
  GROUP_FLAG_CELL_FALLBACK,
  GROUP_FLAGS,
  GROUP_OTHER_REGION_PPM,
  GROUP_OTHER_ZONE_PPM,
  GROUP_PANIC_THRESHOLD_PCT,
  GROUP_SAME_ZONE_PPM,
} from "../format";
import { flags, groupInfo, groupRecord, info, nodes, planCache, planCacheWeights, planMetaOf, record, weights } from "./generation";
import { breakerAvailable, breakerOnPick, breakerWindowMs } from "./instance-breaker";
import { pickLeastRequest } from "./least-request";
import { buildMaglev, pickMaglev } from "./maglev";
import { sweepIfDue } from "./outlier";
import { pickPeakEwma } from "./peak-ewma";
import { randomU64 } from "./random";
import {
  BREAKER_OPEN,
  GI_ACTIVE_REQUEST_BIAS,
  GI_COUNT,
  GI_FIRST,
  GI_SIGNATURE,
  GI_TABLE_BUILT,
  GR_PANIC,
  II_ID,
  II_ROLE,
  II_WARMUP_MS,
  II_WEIGHT,
  II_ZONE_DISTANCE,
  optionsOf,
  PM_AT,
  PM_COUNT,
  PM_OFFSET,
  PM_PANIC,
  PM_SIGNATURE,
  PM_TIER,
  PM_UNTIL,
  PM_VALID,
  R_BREAKER_OPENED,
  R_BREAKER_STATE,
  R_EJECTED,
  R_HEALTHY_SINCE,
  ROLE_BACKUP,
} from "./records";
import { buildRing, pickRing } from "./ring-hash";
import { applyRouteRules } from "./route-rules";
import { pickSmoothWeighted } from "./swrr";
import { warmupWeight } from "./warmup";
import { pickWeightedRandom } from "./weighted-random";

/** Envoy host_selection_retry_max_attempts, for hash kinds on a retry. */
const HOST_SELECTION_ATTEMPTS: u32 = 3;

/** Tier codes in the result area. */
export const TIER_NONE: i32 = 0;
export const TIER_PRIMARY: i32 = 1;
export const TIER_BACKUP: i32 = 2;

/** Result area, 4 × i32: instance index (−1 none), probe 0/1, panic 0/1, tier. */
export const SELECT_RESULT: usize = memory.data(16, 16);
/** The request's hash (u64) and whether it is set: written by lbHashKey / lbSetHash. */
export const REQUEST_HASH: usize = memory.data(16, 16);

let planPanic = false;
let planTier: i32 = TIER_NONE;

// @ts-ignore: decorator
@inline function usesDynamicWeights(kind: u8): bool {
  return kind == BALANCER_SWRR || kind == BALANCER_RANDOM || kind == BALANCER_LEAST_REQUEST;
}

/**
 * Steps 1–6 for group `g`: the node list (u32 instance indices at `outNodes`, f64 effective
 * weights at `outWeights`). Sets planPanic / planTier. O(group). @returns the node count.
 */
export function planNodes(
  g: u32,
  nowMs: f64,
  lanePtr: usize,
  laneLen: usize,
  cellPtr: usize,
  cellLen: usize,
  outNodes: usize,
  outWeights: usize,
): u32 {
  const gi = groupInfo(g);
  const options = optionsOf(gi);
  const first = load<u32>(gi + GI_FIRST);
  const count = load<u32>(gi + GI_COUNT);
  planPanic = false;
  planTier = TIER_NONE;
  const cellFallback = (load<u8>(options + GROUP_FLAGS) & GROUP_FLAG_CELL_FALLBACK) != 0;
  if (applyRouteRules(first, count, lanePtr, laneLen, cellPtr, cellLen, cellFallback, flags) == 0) return 0;
  // flags[k]: 1 allowed, 2 healthy, 4 backup.
  let primaries: u32 = 0;
  let primariesHealthy: u32 = 0;
  let backups: u32 = 0;
  let backupsHealthy: u32 = 0;
  for (let k: u32 = 0; k < count; k++) {
    if (load<u8>(flags + k) == 0) continue;
    const r = record(first + k);
    const healthy = load<u8>(r + R_EJECTED) == 0 && breakerAvailable(r, nowMs, gi);
    const backup = load<u8>(info(first + k) + II_ROLE) == ROLE_BACKUP;
    store<u8>(flags + k, 1 | (healthy ? 2 : 0) | (backup ? 4 : 0));
    if (backup) {
      backups++;
      if (healthy) backupsHealthy++;
    } else {
      primaries++;
      if (healthy) primariesHealthy++;
    }
  }
  let tierBackup = false;
  let tierCount = primaries;
  let tierHealthy = primariesHealthy;
  if (primariesHealthy > 0 || (primaries > 0 && backupsHealthy == 0)) {
    planTier = TIER_PRIMARY;
  } else if (backups > 0) {
    planTier = TIER_BACKUP;
    tierBackup = true;
    tierCount = backups;
    tierHealthy = backupsHealthy;
  } else {
    return 0;
  }
  planPanic = tierHealthy * 100 < <u32>load<u8>(options + GROUP_PANIC_THRESHOLD_PCT) * tierCount;
  const want: u8 = (tierBackup ? 4 : 0) | 1;
  const dynamic = usesDynamicWeights(load<u8>(options + GROUP_BALANCER));
  let best: u8 = 3;
  if (!dynamic) {
    for (let k: u32 = 0; k < count; k++) {
      const f = load<u8>(flags + k);
      if ((f & 5) != want || (!planPanic && (f & 2) == 0)) continue;
      const d = load<u8>(info(first + k) + II_ZONE_DISTANCE);
      if (d < best) best = d;
    }
  }
  let n: u32 = 0;
  for (let k: u32 = 0; k < count; k++) {
    const f = load<u8>(flags + k);
    if ((f & 5) != want || (!planPanic && (f & 2) == 0)) continue;
    const i = first + k;
    const p = info(i);
    const d = load<u8>(p + II_ZONE_DISTANCE);
    let w = <f64>load<u32>(p + II_WEIGHT);
    if (dynamic) {
      const ppm = load<u32>(options + (d == 0 ? GROUP_SAME_ZONE_PPM : d == 1 ? GROUP_OTHER_ZONE_PPM : GROUP_OTHER_REGION_PPM));
      w = warmupWeight(w * <f64>ppm, load<f64>(record(i) + R_HEALTHY_SINCE), nowMs, load<f64>(p + II_WARMUP_MS));
    } else if (d != best) {
      continue;
    }
    store<u32>(outNodes + (<usize>n << 2), i);
    store<f64>(outWeights + (<usize>n << 3), w);
    n++;
  }
  return n;
}

/** Order-sensitive 64-bit signature of a node list and its weights (hash kinds' table check). */
function planSignature(nodesAt: usize, weightsAt: usize, n: u32): u64 {
  let signature: u64 = 0x9e3779b97f4a7c15 ^ <u64>n;
  for (let k: u32 = 0; k < n; k++) {
    const word = (<u64>load<u32>(nodesAt + (<usize>k << 2)) << 32) ^ <u64>load<f64>(weightsAt + (<usize>k << 3));
    signature = rotl<u64>((signature ^ word) * 0xc2b2ae3d27d4eb4f, 31);
  }
  return signature;
}

/**
 * Group g's plan for an untagged first attempt at nowMs, in its cache area: reused when still
 * valid, else planned again and its validity recorded. Sets planPanic / planTier.
 * O(1) when reused, O(group) otherwise. @returns the node count.
 */
function cachedPlan(g: u32, nowMs: f64, kind: u8): u32 {
  const pm = planMetaOf(g);
  const gi = groupInfo(g);
  const first = load<u32>(gi + GI_FIRST);
  const slot = <usize>load<u32>(pm + PM_OFFSET);
  if (load<u32>(pm + PM_VALID) != 0 && nowMs >= load<f64>(pm + PM_AT) && nowMs < load<f64>(pm + PM_UNTIL)) {
    planPanic = load<u32>(pm + PM_PANIC) != 0;
    planTier = load<i32>(pm + PM_TIER);
    return load<u32>(pm + PM_COUNT);
  }
  const nodesAt = planCache + (slot << 2);
  const weightsAt = planCacheWeights + (slot << 3);
  const n = planNodes(g, nowMs, 0, 0, 0, 0, nodesAt, weightsAt);
  // Until when steps 1–6 give the same answer with no state change (each of those invalidates):
  // availability of a breaker is time-dependent only while OPEN inside its window (false until
  // openedAt + window, then true for every later time); a warmup weight only while elapsed <
  // warmupMs (then it is constant: now − since only grows), and only dynamic kinds use it.
  const count = load<u32>(gi + GI_COUNT);
  const window = breakerWindowMs(gi);
  const dynamic = usesDynamicWeights(kind);
  let until: f64 = Infinity;
  let keep = nowMs == nowMs; // NaN: never kept
  for (let k: u32 = 0; k < count; k++) {
    const r = record(first + k);
    if (load<u8>(r + R_BREAKER_STATE) == BREAKER_OPEN) {
      const end = load<f64>(r + R_BREAKER_OPENED) + window;
      if (!(nowMs >= end)) {
        if (end > nowMs) {
          if (end < until) until = end;
        } else {
          keep = false; // NaN end
        }
      }
    }
    if (dynamic) {
      const warmupMs = load<f64>(info(first + k) + II_WARMUP_MS);
      if (warmupMs > 0 && nowMs - load<f64>(r + R_HEALTHY_SINCE) < warmupMs) keep = false;
    }
  }
  store<u32>(pm + PM_COUNT, n);
  store<u32>(pm + PM_PANIC, planPanic ? 1 : 0);
  store<i32>(pm + PM_TIER, planTier);
  store<f64>(pm + PM_AT, nowMs);
  store<f64>(pm + PM_UNTIL, until);
  if (kind == BALANCER_RING_HASH || kind == BALANCER_MAGLEV) store<u64>(pm + PM_SIGNATURE, planSignature(nodesAt, weightsAt, n));
  store<u32>(pm + PM_VALID, keep ? 1 : 0);
  return n;
}

function wasTried(i: u32, triedPtr: usize, triedCount: u32): bool {
  const id = load<u32>(info(i) + II_ID);
  for (let t: u32 = 0; t < triedCount; t++) if (load<u32>(triedPtr + (<usize>t << 2)) == id) return true;
  return false;
}

/**
 * Rebuilds the group's hash table when the node set or weights (their `signature`) differ from
 * the last build.
 */
function ensureTable(gi: usize, kind: u8, nodesAt: usize, weightsAt: usize, n: u32, signature: u64): void {
  if (load<u32>(gi + GI_TABLE_BUILT) != 0 && load<u64>(gi + GI_SIGNATURE) == signature) return;
  if (kind == BALANCER_RING_HASH) buildRing(gi, nodesAt, weightsAt, n);
  else buildMaglev(gi, nodesAt, weightsAt, n);
  store<u64>(gi + GI_SIGNATURE, signature);
  store<u32>(gi + GI_TABLE_BUILT, 1);
}

/**
 * Steps 0–8 for group `g` at nowMs; the request's hash from REQUEST_HASH when hasHash; tried
 * instance ids (u32) at triedPtr; hash kinds start at host-selection attempt `attempt` (0 first).
 * Writes SELECT_RESULT. O(group) when planning, O(balancer) with a cached plan, plus a table
 * build when the node set changed.
 * @returns the instance index, or −1 when there is none.
 */
export function selectInstance(
  g: u32,
  nowMs: f64,
  hasHash: bool,
  lanePtr: usize,
  laneLen: usize,
  cellPtr: usize,
  cellLen: usize,
  triedPtr: usize,
  triedCount: u32,
  attempt: u32,
): i32 {
  sweepIfDue(g, nowMs);
  const gi = groupInfo(g);
  const options = optionsOf(gi);
  const kind = load<u8>(options + GROUP_BALANCER);
  const cached = laneLen == 0 && cellLen == 0 && triedCount == 0;
  let nodesAt = nodes;
  let weightsAt = weights;
  let n: u32 = 0;
  if (cached) {
    n = cachedPlan(g, nowMs, kind);
    const slot = <usize>load<u32>(planMetaOf(g) + PM_OFFSET);
    nodesAt = planCache + (slot << 2);
    weightsAt = planCacheWeights + (slot << 3);
  } else {
    n = planNodes(g, nowMs, lanePtr, laneLen, cellPtr, cellLen, nodes, weights);
  }
  if (planPanic) {
    const gr = groupRecord(g);
    store<u64>(gr + GR_PANIC, load<u64>(gr + GR_PANIC) + 1);
  }
  const hashKind = kind == BALANCER_RING_HASH || kind == BALANCER_MAGLEV;
  if (!hashKind && triedCount > 0) {
    // Not cached: nodesAt is the scratch.
    let m: u32 = 0;
    for (let k: u32 = 0; k < n; k++) {
      const i = load<u32>(nodes + (<usize>k << 2));
      if (wasTried(i, triedPtr, triedCount)) continue;
      store<u32>(nodes + (<usize>m << 2), i);
      store<f64>(weights + (<usize>m << 3), load<f64>(weights + (<usize>k << 3)));
      m++;
    }
    // Compacting in place is safe only while something untried remains: otherwise re-plan.
    if (m > 0) n = m;
    else n = planNodes(g, nowMs, lanePtr, laneLen, cellPtr, cellLen, nodes, weights);
  }
  let picked: i32 = -1;
  if (kind == BALANCER_SWRR) picked = pickSmoothWeighted(nodesAt, weightsAt, n);
  else if (kind == BALANCER_RANDOM) picked = pickWeightedRandom(nodesAt, weightsAt, n);
  else if (kind == BALANCER_LEAST_REQUEST) picked = pickLeastRequest(nodesAt, weightsAt, n, <u32>load<u8>(options + GROUP_CHOICE_COUNT), load<f64>(gi + GI_ACTIVE_REQUEST_BIAS));
  else if (kind == BALANCER_PEAK_EWMA) picked = pickPeakEwma(nodesAt, n, nowMs, <f64>load<u32>(options + GROUP_EWMA_DECAY_MS));
  else if (n > 0) {
    // With no node there is nothing to hash onto, and no random draw either (as the reference:
    // a draw here would put the generator out of step with it).
    const signature = cached ? load<u64>(planMetaOf(g) + PM_SIGNATURE) : planSignature(nodesAt, weightsAt, n);
    ensureTable(gi, kind, nodesAt, weightsAt, n, signature);
    const attempts = triedCount > 0 ? HOST_SELECTION_ATTEMPTS : 1;
    for (let a: u32 = 0; a < attempts; a++) {
      const hash = hasHash ? load<u64>(REQUEST_HASH) : randomU64();
      picked = kind == BALANCER_RING_HASH ? pickRing(gi, hash, attempt + a) : pickMaglev(gi, hash, attempt + a);
      if (picked < 0 || !wasTried(<u32>picked, triedPtr, triedCount)) break;
    }
  }
  const probe = picked >= 0 && breakerOnPick(record(<u32>picked), nowMs, gi);
  store<i32>(SELECT_RESULT, picked);
  store<i32>(SELECT_RESULT, probe ? 1 : 0, 4);
  store<i32>(SELECT_RESULT, planPanic ? 1 : 0, 8);
  store<i32>(SELECT_RESULT, picked >= 0 ? planTier : TIER_NONE, 12);
  return picked;
}
