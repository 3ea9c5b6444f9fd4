/**
 * Smooth weighted round robin, as nginx's ngx_http_upstream_get_peer
 * (src/http/ngx_http_upstream_round_robin.c): on each pick every eligible instance's current
 * weight grows by its weight, the largest current weight wins (the first on ties), and the
 * winner's current weight drops by the total. Weights 5:1:1 give a a b a c a a, repeating; the
 * sequence is spread out rather than bursty. Effective weight is the configured weight (no
 * passive failure feedback in format version 1).
 */
import {
  GROUP_BYTES,
  GROUP_FIRST_INSTANCE,
  GROUP_INSTANCE_COUNT,
  INSTANCE_BYTES,
  INSTANCE_STATUS,
  INSTANCE_WEIGHT,
  S_GROUPS,
  S_INSTANCES,
  STATUS_ALIVE,
} from "./format";
import { ACTIVE, sectionAddr, V_STATE } from "./view";

/**
 * Picks an instance of group `group` (a GROUPS index) of the active snapshot among those that are
 * alive with weight > 0, updating the group's current weights (one i64 per instance, in the
 * active view's state block). O(instances in the group).
 * @returns the INSTANCES index, or -1 when no instance is eligible.
 */
export function pickInstance(group: u32): i32 {
  const g = sectionAddr(ACTIVE, S_GROUPS) + group * GROUP_BYTES;
  const first = load<u32>(g + GROUP_FIRST_INSTANCE);
  const end = first + load<u32>(g + GROUP_INSTANCE_COUNT);
  const instances = sectionAddr(ACTIVE, S_INSTANCES);
  const state = <usize>load<u32>(ACTIVE + V_STATE);
  let best: i32 = -1;
  let bestWeight: i64 = 0;
  let total: i64 = 0;
  for (let i = first; i < end; i++) {
    const r = instances + i * INSTANCE_BYTES;
    const weight = <i64>load<u32>(r + INSTANCE_WEIGHT);
    if (load<u8>(r + INSTANCE_STATUS) != STATUS_ALIVE || weight == 0) continue;
    const at = state + ((<usize>i) << 3);
    const current = load<i64>(at) + weight;
    store<i64>(at, current);
    total += weight;
    if (best < 0 || current > bestWeight) {
      best = <i32>i;
      bestWeight = current;
    }
  }
  if (best >= 0) store<i64>(state + ((<usize>best) << 3), bestWeight - total);
  return best;
}
