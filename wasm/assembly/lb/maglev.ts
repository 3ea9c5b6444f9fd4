/**
 * Maglev (Eisenbud et al., NSDI 2016, §3.4; Envoy maglev): nodes in address order take turns
 * claiming the next free slot of their preference list (offset + j·skip) mod M; weighted as
 * Envoy's target_weight_ in integer units. The table is M u16 group offsets in the group's
 * preallocated block. Build O(M log M) expected, pick O(1). Port of wasm/reference/maglev.ts.
 */
import { GROUP_MAGLEV_TABLE_SIZE } from "../format";
import { info, order, positions, work } from "./generation";
import { GI_COUNT, GI_FIRST, GI_TABLE, GI_TABLE_LENGTH, II_MAGLEV_OFFSET, II_MAGLEV_SKIP, optionsOf } from "./records";

const EMPTY: u16 = 0xffff;

/** Builds the table over the first `n` nodes (u32 at `nodes`) with their configured weights (f64 at `weights`). */
export function buildMaglev(gi: usize, nodes: usize, weights: usize, n: u32): void {
  const first = load<u32>(gi + GI_FIRST);
  const count = load<u32>(gi + GI_COUNT);
  const m = <u64>load<u32>(optionsOf(gi) + GROUP_MAGLEV_TABLE_SIZE);
  const table = <usize>load<u32>(gi + GI_TABLE);
  if (n == 0) {
    store<u32>(gi + GI_TABLE_LENGTH, 0);
    return;
  }
  memory.fill(positions, 0, <usize>count << 2);
  for (let k: u32 = 0; k < n; k++) store<u32>(positions + (<usize>(load<u32>(nodes + (<usize>k << 2)) - first) << 2), k + 1);
  // Entries in address order, 24 bytes each: u32 offset, u32 next, f64 target, f64 weight.
  let entries: u32 = 0;
  let maxWeight: f64 = 0;
  for (let r: u32 = 0; r < count; r++) {
    const offset = load<u32>(order + (<usize>(first + r) << 2));
    const position = load<u32>(positions + (<usize>offset << 2));
    if (position == 0) continue;
    const e = work + <usize>entries * 24;
    const w = load<f64>(weights + (<usize>(position - 1) << 3));
    store<u32>(e, offset);
    store<u32>(e, 0, 4);
    store<f64>(e, 0, 8);
    store<f64>(e, w, 16);
    if (w > maxWeight) maxWeight = w;
    entries++;
  }
  memory.fill(table, 0xff, <usize>m << 1);
  let filled: u64 = 0;
  for (let iteration: f64 = 1; filled < m; iteration++) {
    for (let k: u32 = 0; k < entries && filled < m; k++) {
      const e = work + <usize>k * 24;
      const target = load<f64>(e, 8);
      // A node with a third of the largest weight claims a slot every third iteration.
      if (iteration * load<f64>(e, 16) < target) continue;
      store<f64>(e, target + maxWeight, 8);
      const offset = load<u32>(e);
      const p = info(first + offset);
      const start = <u64>load<u32>(p + II_MAGLEV_OFFSET);
      const skip = <u64>load<u32>(p + II_MAGLEV_SKIP);
      let next = <u64>load<u32>(e, 4);
      let slot = (start + skip * next) % m;
      while (load<u16>(table + (<usize>slot << 1)) != EMPTY) {
        next++;
        slot = (start + skip * next) % m;
      }
      store<u16>(table + (<usize>slot << 1), <u16>offset);
      store<u32>(e, <u32>(next + 1), 4);
      filled++;
    }
  }
  store<u32>(gi + GI_TABLE_LENGTH, <u32>m);
}

/**
 * table[hash mod M]; a retry (attempt n > 0) flips the hash to hash ^ (2^64 − n), as Envoy.
 * @returns the instance index, or −1 when the table is empty.
 */
export function pickMaglev(gi: usize, hash: u64, attempt: u32): i32 {
  const m = <u64>load<u32>(gi + GI_TABLE_LENGTH);
  if (m == 0) return -1;
  const h = attempt > 0 ? hash ^ (0 - <u64>attempt) : hash;
  const offset = load<u16>(<usize>load<u32>(gi + GI_TABLE) + (<usize>(h % m) << 1));
  return <i32>(load<u32>(gi + GI_FIRST) + <u32>offset);
}
