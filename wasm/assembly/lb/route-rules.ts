/**
 * OCTO route rules, steps 1 (eligibility: ALIVE, weight > 0, not drained), lanes (a tagged
 * request to its lane's instances if any, else the main lane ""; untagged only the main lane)
 * and SET cells (a cell's own instances; none → the unset pool only with cellFallback; no cell →
 * the unset pool, or every cell when there is none). Port of wasm/reference/route-rules.ts; zone
 * distances are precomputed per generation (generation.ts).
 */
import { bytesEqual } from "../bytes";
import { info } from "./generation";
import { II_CELL, II_DRAINED, II_LANE, II_STATUS, II_WEIGHT, STATUS_ALIVE } from "./records";

// @ts-ignore: decorator
@inline function eligible(p: usize): bool {
  return load<u8>(p + II_STATUS) == STATUS_ALIVE && load<u32>(p + II_WEIGHT) > 0 && load<u8>(p + II_DRAINED) == 0;
}

// @ts-ignore: decorator
@inline function fieldEquals(field: usize, ptr: usize, len: usize): bool {
  return <usize>load<u32>(field, 4) == len && (len == 0 || bytesEqual(<usize>load<u32>(field), ptr, len));
}

/**
 * Marks `out[k]` = 1 for each instance first + k the caller may reach, else 0. O(count).
 * @returns how many were marked.
 */
export function applyRouteRules(
  first: u32,
  count: u32,
  lanePtr: usize,
  laneLen: usize,
  cellPtr: usize,
  cellLen: usize,
  cellFallback: bool,
  out: usize,
): u32 {
  let tagged = false;
  if (laneLen > 0) {
    for (let k: u32 = 0; k < count && !tagged; k++) {
      const p = info(first + k);
      tagged = eligible(p) && fieldEquals(p + II_LANE, lanePtr, laneLen);
    }
  }
  const wantLaneLen = tagged ? laneLen : 0;
  let inCell: u32 = 0;
  let unset: u32 = 0;
  let laned: u32 = 0;
  for (let k: u32 = 0; k < count; k++) {
    const p = info(first + k);
    const ok = eligible(p) && fieldEquals(p + II_LANE, lanePtr, wantLaneLen);
    store<u8>(out + k, ok ? 1 : 0);
    if (!ok) continue;
    laned++;
    if (load<u32>(p + II_CELL, 4) == 0) unset++;
    else if (cellLen > 0 && fieldEquals(p + II_CELL, cellPtr, cellLen)) inCell++;
  }
  // Which cell a laned instance must be in: 0 any, 1 the caller's, 2 the unset pool, 3 none.
  let mode = 0;
  if (cellLen > 0) mode = inCell > 0 ? 1 : cellFallback ? 2 : 3;
  else if (unset > 0) mode = 2;
  if (mode == 0) return laned;
  let kept: u32 = 0;
  for (let k: u32 = 0; k < count; k++) {
    if (load<u8>(out + k) == 0) continue;
    const cell = info(first + k) + II_CELL;
    const keep = mode == 1 ? fieldEquals(cell, cellPtr, cellLen) : mode == 2 ? load<u32>(cell, 4) == 0 : false;
    store<u8>(out + k, keep ? 1 : 0);
    if (keep) kept++;
  }
  return kept;
}
