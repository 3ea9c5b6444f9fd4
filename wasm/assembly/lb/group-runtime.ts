/**
 * The bookkeeping around every upstream attempt (wasm/reference/group-runtime.ts): startAttempt
 * and finishAttempt, which feed in-flight counts, the latency EWMA (whatever the balancer, so a
 * switch to peak EWMA starts warm), the instance breaker and outlier detection. Instances and
 * groups are named by (index, id): after a generation swap the index may point elsewhere, so the
 * id is checked and, if it differs, looked up; an id no longer present is ignored.
 */
import { GROUP_EWMA_DECAY_MS } from "../format";
import { outcomeCode } from "./config";
import { groupCount, groupInfo, indexOfId, info, instanceCount, record } from "./generation";
import { breakerAbandonProbe, breakerRecord } from "./instance-breaker";
import { recordOutlierResult } from "./outlier";
import { observeLatency } from "./peak-ewma";
import { GI_ID, II_GROUP, II_ID, optionsOf, R_ACTIVE } from "./records";

/** Current index of the instance picked as (index, id), or −1 when it is gone. O(1), or O(log n) after a swap. */
export function resolveInstance(i: u32, id: u32): i32 {
  if (i < instanceCount && load<u32>(info(i) + II_ID) == id) return <i32>i;
  return indexOfId(id);
}

/**
 * Current index of the group named (index, id), or −1 when it is gone. O(1), or O(groups) after
 * a swap (groups are few, and a swap mid-request is rare: no id index is kept for them).
 */
export function resolveGroup(g: u32, id: u32): i32 {
  if (g < groupCount && load<u32>(groupInfo(g) + GI_ID) == id) return <i32>g;
  for (let k: u32 = 0; k < groupCount; k++) if (load<u32>(groupInfo(k) + GI_ID) == id) return <i32>k;
  return -1;
}

/** An attempt was sent: one more in flight. */
export function startAttempt(i: u32): void {
  const r = record(i) + R_ACTIVE;
  store<u32>(r, load<u32>(r) + 1);
}

/**
 * An attempt on instance `i` ended at nowMs: status (0 = no response), failure code
 * (config.ts FAILURE_*), latency ms, and whether it was the half-open probe. O(1), O(group)
 * when it ejects. @returns true when this outcome ejected the instance.
 */
export function finishAttempt(i: u32, status: u32, failure: u32, latencyMs: f64, probe: bool, nowMs: f64): bool {
  const r = record(i);
  const active = load<u32>(r + R_ACTIVE);
  store<u32>(r + R_ACTIVE, active > 0 ? active - 1 : 0);
  const g = load<u32>(info(i) + II_GROUP);
  const gi = groupInfo(g);
  observeLatency(r, latencyMs, nowMs, <f64>load<u32>(optionsOf(gi) + GROUP_EWMA_DECAY_MS));
  const code = outcomeCode(status, failure);
  breakerRecord(r, code >= 500, latencyMs, probe, nowMs, gi);
  return recordOutlierResult(g, r, code, nowMs);
}

/**
 * Instance i's attempt ended by the client's fault (wasm/reference/group-runtime.ts
 * cancelAttempt): one fewer in flight; a probe goes back to OPEN; no latency, breaker or
 * outlier record.
 */
export function cancelAttempt(i: u32, probe: bool, nowMs: f64): void {
  const r = record(i);
  const active = load<u32>(r + R_ACTIVE);
  store<u32>(r + R_ACTIVE, active > 0 ? active - 1 : 0);
  if (probe) breakerAbandonProbe(r, nowMs);
}
