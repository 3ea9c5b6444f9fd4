/**
 * A snapshot view: where the parts of one validated snapshot lie in linear memory, filled once by
 * validation so the per-request path reads each section's address and record count with one
 * load instead of walking the directory. ACTIVE is the view `route()` and `decide()` serve from.
 *
 * Layout (bytes): 0 u32 base (the heap block holding the file; 0 = none), 4 u32 reserved (0),
 * 8 u64 snapshotVersion, 16 u64 builtAtMs,
 * 24 u32 longest wildcard suffix in bytes (`.example.com` for `*.example.com`; 0 = none),
 * 32 + id × 8: u32 address, u32 record count (bytes for STRINGS, CODE and DATA, slots for
 * HOST_TABLE) of section `id`.
 */

export const V_BASE: usize = 0;
export const V_VERSION: usize = 8;
export const V_BUILT_AT_MS: usize = 16;
export const V_WILDCARD_SUFFIX: usize = 24;
const V_SECTIONS: usize = 32;
export const VIEW_BYTES: usize = 144; // 32 + 14 × 8

/** The view `route()`, `decide()` and the metadata accessors read. */
export const ACTIVE: usize = memory.data(144, 16);

/** Absolute address of section `id` in `view`. */
@inline export function sectionAddr(view: usize, id: u32): usize {
  return <usize>load<u32>(view + V_SECTIONS + (<usize>id << 3));
}

/** Record count of section `id` in `view` (bytes for the pools, slots for HOST_TABLE). */
@inline export function sectionCount(view: usize, id: u32): u32 {
  return load<u32>(view + V_SECTIONS + (<usize>id << 3), 4);
}

/** Sets section `id` of `view`. */
@inline export function setSection(view: usize, id: u32, addr: usize, count: u32): void {
  store<u32>(view + V_SECTIONS + (<usize>id << 3), <u32>addr);
  store<u32>(view + V_SECTIONS + (<usize>id << 3), count, 4);
}

/** Base address of the active snapshot's file bytes; 0 when none is loaded. */
@inline export function activeBase(): usize {
  return <usize>load<u32>(ACTIVE + V_BASE);
}
