/**
 * The largest value recorded over the last `capacity` time slots, as Knative's descending-minima
 * window (knative/serving pkg/autoscaler/aggregation/max/window.go, after the ascending minima
 * algorithm). Immutable: recording returns a new window. O(1) amortised per record, at most
 * `capacity` entries kept. Used to hold a scale-down until it has been wanted for the whole delay.
 */

/** One candidate maximum: `value` recorded in time slot `slot`. */
export interface MaxEntry {
  readonly slot: number;
  readonly value: number;
}

/** A max window: entries in ascending slot and strictly descending value order. */
export interface MaxWindow {
  /** How many consecutive slots the maximum covers. */
  readonly capacity: number;
  readonly entries: readonly MaxEntry[];
}

/** An empty window over `capacity` slots (≥ 1). */
export function emptyMaxWindow(capacity: number): MaxWindow {
  return { capacity: Math.max(1, capacity), entries: [] };
}

/**
 * Records `value` in slot `slot` (slots never go backwards) and returns the new window.
 * E.g. capacity 3: record (0, 4), (1, 3), (2, 0) → max 4; record (3, 0) → slot 0 has scrolled
 * out, max 3.
 */
export function recordMax(window: MaxWindow, slot: number, value: number): MaxWindow {
  let entries = window.entries.slice();
  // A smaller older entry can never be the maximum again: the new one is larger and newer.
  while (entries.length > 0 && entries[entries.length - 1].value <= value) entries.pop();
  entries = entries.filter((entry) => slot - entry.slot < window.capacity);
  // Two records in one slot: the larger stands (it may have been popped above, or is the last).
  const last = entries[entries.length - 1];
  if (last !== undefined && last.slot === slot) return { capacity: window.capacity, entries };
  entries.push({ slot, value });
  return { capacity: window.capacity, entries };
}

/** The maximum recorded within the window's slots (0 when empty). */
export function currentMax(window: MaxWindow): number {
  return window.entries[0]?.value ?? 0;
}
