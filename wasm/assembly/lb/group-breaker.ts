/**
 * Group limits after Envoy's cluster circuit breakers (max_requests, max_pending_requests):
 * up to maxRequests run, up to maxPendingRequests more wait for a slot, the rest are refused
 * and counted (upstream_rq_pending_overflow). The host owns the queue. Port of
 * wasm/reference/group-breaker.ts over the group record.
 */
import { GROUP_MAX_PENDING_REQUESTS, GROUP_MAX_REQUESTS } from "../format";
import { groupInfo, groupRecord } from "./generation";
import { GR_ACTIVE, GR_OVERFLOW, GR_PENDING, optionsOf } from "./records";

export const ADMIT_RUN: i32 = 0;
export const ADMIT_QUEUE: i32 = 1;
export const ADMIT_REJECT: i32 = 2;

/** Admits a client request to group `g`. O(1). @returns ADMIT_RUN, ADMIT_QUEUE or ADMIT_REJECT. */
export function admitRequest(g: u32): i32 {
  const gr = groupRecord(g);
  const options = optionsOf(groupInfo(g));
  const active = load<u32>(gr + GR_ACTIVE);
  if (active < load<u32>(options + GROUP_MAX_REQUESTS)) {
    store<u32>(gr + GR_ACTIVE, active + 1);
    return ADMIT_RUN;
  }
  const pending = load<u32>(gr + GR_PENDING);
  if (pending < load<u32>(options + GROUP_MAX_PENDING_REQUESTS)) {
    store<u32>(gr + GR_PENDING, pending + 1);
    return ADMIT_QUEUE;
  }
  store<u64>(gr + GR_OVERFLOW, load<u64>(gr + GR_OVERFLOW) + 1);
  return ADMIT_REJECT;
}

/** A running request ended. @returns true when a queued request takes its slot now. */
export function finishRequest(g: u32): bool {
  const gr = groupRecord(g);
  const pending = load<u32>(gr + GR_PENDING);
  if (pending > 0) {
    store<u32>(gr + GR_PENDING, pending - 1);
    return true;
  }
  const active = load<u32>(gr + GR_ACTIVE);
  store<u32>(gr + GR_ACTIVE, active > 0 ? active - 1 : 0);
  return false;
}

/** A queued request gave up before it got a slot. */
export function abandonQueued(g: u32): void {
  const gr = groupRecord(g);
  const pending = load<u32>(gr + GR_PENDING);
  store<u32>(gr + GR_PENDING, pending > 0 ? pending - 1 : 0);
}
