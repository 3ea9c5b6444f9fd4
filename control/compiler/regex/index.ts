/**
 * The `matches` compiler: RE2 pattern → Regex (syntax.ts, via regexpp) → byte NFA (nfa.ts) →
 * DFA (dfa.ts), which the snapshot carries and the VM runs in linear time. And the capture
 * compiler for proxy-rewrite's `regexUri`: the same parse with groups kept → byte NFA with SAVE
 * states, which the gateway's Pike VM (wasm/reference/pike.ts) runs in linear time.
 */

import type { CaptureNfa } from "../../../wasm/plugins-section.ts";
import { buildDfa, type Dfa } from "./dfa.ts";
import { buildNfa } from "./nfa.ts";
import { parseRegex, type Regex, RegexError } from "./syntax.ts";

export { type Dfa, runDfa } from "../../../wasm/reference/search-dfa.ts";
export { RegexError } from "./syntax.ts";

/**
 * Compiles an RE2 `pattern` to a DFA for unanchored search.
 * @throws RegexError (offset within the pattern) when it is invalid, not in the supported
 *   subset (docs/conditions.md, "Regular expressions"), or too large to compile safely.
 */
export function compileRegex(pattern: string): Dfa {
  return buildDfa(buildNfa(parseRegex(pattern)));
}

/**
 * Most states of a capture NFA: the Pike VM's work per request is at most states × path bytes,
 * so this bounds it (2,000 × an 8 KiB path ≈ 16 M steps in the worst case, µs for usual patterns).
 */
export const MAX_CAPTURE_STATES = 2000;

/**
 * Compiles an RE2 `pattern` to a byte NFA with capture slots for proxy-rewrite's `regexUri`,
 * run by the gateway's Pike VM (wasm/reference/pike.ts) in linear time.
 * @throws RegexError (offset within the pattern) as compileRegex, and when the automaton has
 *   more than MAX_CAPTURE_STATES states.
 */
export function compileCaptureRegex(pattern: string): CaptureNfa {
  const regex = parseRegex(pattern, true);
  // Group 0 is the whole match: its SAVE states wrap the pattern.
  const nfa = buildNfa({ t: "cap", index: 0, item: regex }, true);
  if (nfa.states.length > MAX_CAPTURE_STATES) {
    throw new RegexError(`the pattern needs more than ${MAX_CAPTURE_STATES} automaton states; use smaller repetition counts or classes`, 0);
  }
  return {
    start: nfa.start,
    states: nfa.states.map((s) => [s.kind, s.lo, s.hi, s.next, s.alt]),
    groups: groupCount(regex) + 1,
    anchored: startsAnchored(regex),
  };
}

/** The highest capture group number in `r` (0 when none). */
function groupCount(r: Regex): number {
  switch (r.t) {
    case "cat":
    case "alt":
      return r.items.reduce((n, item) => Math.max(n, groupCount(item)), 0);
    case "rep":
      return groupCount(r.item);
    case "cap":
      return Math.max(r.index, groupCount(r.item));
    default:
      return 0;
  }
}

/** Whether every match of `r` must start at the beginning of the text (a leading `^`). */
function startsAnchored(r: Regex): boolean {
  switch (r.t) {
    case "bol":
      return true;
    case "cat":
      return r.items.length > 0 && startsAnchored(r.items[0] as Regex);
    case "alt":
      return r.items.every(startsAnchored);
    case "cap":
      return startsAnchored(r.item);
    case "rep":
      return r.min > 0 && startsAnchored(r.item);
    default:
      return false;
  }
}
