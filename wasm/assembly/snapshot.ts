/**
 * Double-buffered snapshot loading. The host stages the file bytes in a heap block, WASM
 * validates them completely, and only then swaps the new view in: a refused snapshot never
 * disturbs the one being served. Allocations happen per load (the file, the balancing
 * generation); none per request.
 *
 * Generations: ACTIVE serves; PREVIOUS (the one it replaced) is kept until the next successful
 * load, so addresses the host read from it stay valid until then; the one before is freed.
 */

import { loadBalancing } from "./balancing-load";
import { E_BALANCING, E_NOTHING_STAGED, LOAD_OK } from "./errors";
import { LB_OK } from "./lb/generation";
import { validateSnapshot } from "./validate";
import { ACTIVE, V_BASE, V_VERSION, VIEW_BYTES } from "./view";

const PREVIOUS: usize = memory.data(144, 16);
const CANDIDATE: usize = memory.data(144, 16);

let stagedBlock: usize = 0;
let stagedLength: u32 = 0;

function freeView(view: usize): void {
  const file = <usize>load<u32>(view + V_BASE);
  if (file != 0) heap.free(file);
  memory.fill(view, 0, VIEW_BYTES);
}

/**
 * Reserves `length` bytes for a snapshot file and returns their address; the host copies the
 * whole file there (signature trailer included — only [0, totalLength) is read) and then calls
 * commitLoad(). A staging block not yet committed is freed first. May grow memory: the host
 * must re-create its views of `memory.buffer`. Traps (unreachable) only when memory cannot grow.
 */
export function prepareLoad(length: u32): usize {
  if (stagedBlock != 0) heap.free(stagedBlock);
  stagedBlock = heap.alloc(length > 0 ? <usize>length : 1);
  stagedLength = length;
  return stagedBlock;
}

/**
 * Validates the staged bytes (validate.ts) and, if they pass, makes them the active snapshot and
 * its groups and instances the balancers' generation, keeping the state of instances that still
 * exist (balancing-load.ts). `nowMs` (Unix ms) starts the warmup of instances new to this
 * isolate whose alive-since time is unknown.
 * @returns 0, or an E_* code from errors.ts; on error the active snapshot is untouched and the
 *   staged block is freed.
 */
export function commitLoad(nowMs: f64): i32 {
  const file = stagedBlock;
  if (file == 0) return E_NOTHING_STAGED;
  const hasActive = load<u32>(ACTIVE + V_BASE) != 0;
  const err = validateSnapshot(file, stagedLength, CANDIDATE, hasActive, load<u64>(ACTIVE + V_VERSION));
  if (err != LOAD_OK) {
    stagedBlock = 0;
    heap.free(file);
    memory.fill(CANDIDATE, 0, VIEW_BYTES);
    return err;
  }
  // If an allocation in here traps, the file stays staged and the next prepareLoad() frees it.
  if (loadBalancing(CANDIDATE, file, nowMs) != LB_OK) {
    stagedBlock = 0;
    heap.free(file);
    memory.fill(CANDIDATE, 0, VIEW_BYTES);
    return E_BALANCING;
  }
  stagedBlock = 0;

  freeView(PREVIOUS);
  memory.copy(PREVIOUS, ACTIVE, VIEW_BYTES);
  memory.copy(ACTIVE, CANDIDATE, VIEW_BYTES);
  memory.fill(CANDIDATE, 0, VIEW_BYTES);
  return LOAD_OK;
}
