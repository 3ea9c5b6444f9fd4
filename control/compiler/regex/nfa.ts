/**
 * Thompson's construction (Ken Thompson, "Regular expression search algorithm", CACM 1968) of a
 * byte-level NFA from a Regex, built right to left so every fragment knows its continuation.
 * Code point sets become alternations of UTF-8 byte sequences (utf8.ts). Counted repetition is
 * expanded, so its size is estimated first and large expansions are refused.
 *
 * For captures (a Regex parsed with captures, run by the Pike VM), groups add SAVE states and a
 * SPLIT's `next` is the branch leftmost-first prefers: the greedy one, or for a lazy repetition
 * the exit. A star over something that can match empty is built as `(x+)?`, as Go's regexp
 * compiles it (golang.org/issue/46123), so an empty iteration does not hide the captures of the
 * last one.
 */
import { MAX_REPEAT, type Regex, RegexError } from "./syntax.ts";
import { utf8Sequences } from "./utf8.ts";

export const NFA_BYTE = 0;
export const NFA_SPLIT = 1;
export const NFA_BOL = 2;
export const NFA_EOL = 3;
export const NFA_MATCH = 4;
/** Records the position in capture slot `lo` → next (Pike VM only; the DFA never sees one). */
export const NFA_SAVE = 5;

/** One state: BYTE consumes a byte in [lo, hi] → next; SPLIT → next and alt; BOL/EOL assert → next; SAVE slot lo → next. */
export interface NfaState {
  kind: number;
  lo: number;
  hi: number;
  next: number;
  alt: number;
}

export interface Nfa {
  states: NfaState[];
  start: number;
}

/** Largest NFA built, in states: bounds compile time and the DFA construction that follows. */
export const MAX_NFA_STATES = 20_000;

/** Upper bound of the states `r` expands to (saturating at Infinity). */
function estimate(r: Regex): number {
  switch (r.t) {
    case "set":
      return 1 + 4 * utf8Sequences(r.ranges).length;
    case "cat":
    case "alt":
      return r.items.reduce((n, i) => n + estimate(i) + 1, 1);
    case "rep": {
      const copies = r.max === Number.POSITIVE_INFINITY ? Math.max(r.min, 1) : r.max;
      return (estimate(r.item) + 1) * Math.min(copies, MAX_REPEAT) + 1;
    }
    case "cap":
      return estimate(r.item) + 2;
    default:
      return 1;
  }
}

/** Whether `r` can match the empty string (anchors are empty-width). */
function nullable(r: Regex): boolean {
  switch (r.t) {
    case "set":
      return false;
    case "cat":
      return r.items.every(nullable);
    case "alt":
      return r.items.some(nullable);
    case "rep":
      return r.min === 0 || nullable(r.item);
    case "cap":
      return nullable(r.item);
    default:
      return true;
  }
}

/**
 * @param captures build for the Pike VM: SAVE states for `cap` nodes, leftmost-first SPLIT order
 *   and `(x+)?` for stars over nullable items. Without it (the DFA) the NFA is as it always was.
 * @throws RegexError when the expansion exceeds MAX_NFA_STATES.
 */
export function buildNfa(regex: Regex, captures = false): Nfa {
  if (estimate(regex) > MAX_NFA_STATES) {
    throw new RegexError(`the pattern expands to more than ${MAX_NFA_STATES} automaton states; use smaller repetition counts`, 0);
  }
  const states: NfaState[] = [];
  const add = (kind: number, next = -1, alt = -1, lo = 0, hi = 0) => states.push({ kind, lo, hi, next, alt }) - 1;
  const split = (a: number, b: number) => add(NFA_SPLIT, a, b);
  /** A SPLIT between repeating (`body`) and leaving (`exit`), in the order the repetition prefers. */
  const choose = (lazy: boolean | undefined, body: number, exit: number) => (lazy ? split(exit, body) : split(body, exit));

  const build = (r: Regex, out: number): number => {
    switch (r.t) {
      case "set": {
        const entries = utf8Sequences(r.ranges).map((seq) => {
          let cur = out;
          for (let i = seq.length - 1; i >= 0; i--) {
            const [lo, hi] = seq[i] as [number, number];
            cur = add(NFA_BYTE, cur, -1, lo, hi);
          }
          return cur;
        });
        if (entries.length === 0) return add(NFA_BYTE, out, -1, 1, 0); // empty set: never matches
        return entries.reduceRight((rest, e) => split(e, rest));
      }
      case "cat":
        return r.items.reduceRight((cur, item) => build(item, cur), out);
      case "alt":
        return r.items.map((item) => build(item, out)).reduceRight((rest, e) => split(e, rest));
      case "rep": {
        let cur = out;
        if (r.max === Number.POSITIVE_INFINITY && captures && nullable(r.item)) {
          // x* → (x+)?, x{n,} → x{n-1}(x+) (Go's regexp): the loop starts after a first pass of x.
          const loop = choose(r.lazy, -1, out);
          const first = build(r.item, loop);
          const state = states[loop] as NfaState;
          if (r.lazy) state.alt = first;
          else state.next = first;
          cur = r.min === 0 ? choose(r.lazy, first, out) : first;
          for (let i = 1; i < r.min; i++) cur = build(r.item, cur);
          return cur;
        }
        if (r.max === Number.POSITIVE_INFINITY) {
          const loop = choose(r.lazy, -1, out);
          const body = build(r.item, loop);
          const state = states[loop] as NfaState;
          if (r.lazy) state.alt = body;
          else state.next = body;
          cur = loop;
        } else {
          for (let i = r.min; i < r.max; i++) cur = choose(r.lazy, build(r.item, cur), out);
        }
        for (let i = 0; i < r.min; i++) cur = build(r.item, cur);
        return cur;
      }
      case "cap": {
        const end = add(NFA_SAVE, out, -1, 2 * r.index + 1);
        return add(NFA_SAVE, build(r.item, end), -1, 2 * r.index);
      }
      case "bol":
        return add(NFA_BOL, out);
      case "eol":
        return add(NFA_EOL, out);
    }
  };
  const match = add(NFA_MATCH);
  const start = build(regex, match);
  return { states, start };
}
