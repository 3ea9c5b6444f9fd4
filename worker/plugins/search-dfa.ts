/**
 * A plugin regex's automaton as the snapshot carries it (wasm/plugins-section.ts SearchDfa, JSON
 * arrays) → the typed-array Dfa wasm/reference/search-dfa.ts runDfa runs: built once per
 * snapshot, so matching a request is one table lookup per byte.
 */
import type { SearchDfa } from "../../wasm/plugins-section.ts";
import type { Dfa } from "../../wasm/reference/search-dfa.ts";

/**
 * @throws Error when the tables' sizes disagree (classMap ≠ 256, flags ≠ stateCount,
 *   next ≠ stateCount × classCount) or a transition leaves the automaton.
 */
export function dfaFromSection(json: SearchDfa): Dfa {
  const { stateCount, classCount } = json;
  if (json.classMap.length !== 256 || json.flags.length !== stateCount || json.next.length !== stateCount * classCount) {
    throw new Error("search DFA: table sizes do not match stateCount/classCount");
  }
  if (json.next.some((s) => s < 0 || s >= stateCount) || json.classMap.some((k) => k < 0 || k >= classCount)) {
    throw new Error("search DFA: a transition or class is out of range");
  }
  return {
    stateCount,
    classCount,
    classMap: Uint8Array.from(json.classMap),
    flags: Uint8Array.from(json.flags),
    next: Uint16Array.from(json.next),
  };
}
