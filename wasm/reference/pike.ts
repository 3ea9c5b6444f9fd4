/**
 * A Pike VM (Rob Pike's, as described by Russ Cox in "Regular Expression Matching: the Virtual
 * Machine Approach", 2009) over the byte NFA with capture slots that control/compiler/regex
 * builds for proxy-rewrite's `regexUri` (wasm/plugins-section.ts CaptureNfa). It runs every
 * thread of the NFA in lock step over the UTF-8 bytes of the input, each state at most once per
 * position, so a search costs O(input bytes × states) whatever the pattern — no backtracking,
 * `(a+)+$` included. Threads are kept in priority order and a match cuts off the threads below
 * it, which gives the leftmost-first submatches of RE2 and Perl. Pure: no clock, no I/O.
 */
import { utf8WithIndex } from "./utf8-index.ts";

/** State kinds (CaptureNfa `kind`). */
export const PIKE_BYTE = 0; // consumes a byte in [lo, hi] → next
export const PIKE_SPLIT = 1; // → next (preferred), alt
export const PIKE_BOL = 2; // asserts the start of the text → next
export const PIKE_EOL = 3; // asserts the end of the text → next
export const PIKE_MATCH = 4;
export const PIKE_SAVE = 5; // records the position in slot `lo` → next

/** The automaton as the snapshot carries it (structurally wasm/plugins-section.ts CaptureNfa). */
export interface CaptureAutomaton {
  start: number;
  /** [kind, lo, hi, next, alt] per state. */
  states: readonly (readonly number[])[];
  /** Capture groups including group 0 (the whole match). */
  groups: number;
  /** Only position 0 is tried (the pattern starts with `^`). */
  anchored: boolean;
}

/** The automaton in typed arrays, built once per snapshot by pikeProgram. */
export interface PikeProgram {
  kind: Uint8Array;
  lo: Int32Array;
  hi: Int32Array;
  next: Int32Array;
  alt: Int32Array;
  start: number;
  /** 2 × groups: slots 2k and 2k+1 are group k's start and end. */
  slots: number;
  anchored: boolean;
}

/** Work done by one search, for tests of its bound: thread visits (ε-closure steps and byte steps). */
export interface PikeWork {
  steps: number;
}

/**
 * Turns `nfa` into typed arrays.
 * @throws Error when a state refers to a state that does not exist (a corrupt automaton).
 */
export function pikeProgram(nfa: CaptureAutomaton): PikeProgram {
  const n = nfa.states.length;
  const program: PikeProgram = {
    kind: new Uint8Array(n),
    lo: new Int32Array(n),
    hi: new Int32Array(n),
    next: new Int32Array(n),
    alt: new Int32Array(n),
    start: nfa.start,
    slots: 2 * nfa.groups,
    anchored: nfa.anchored,
  };
  const valid = (id: number) => Number.isInteger(id) && id >= 0 && id < n;
  if (!valid(nfa.start)) throw new Error("capture automaton: start state out of range");
  nfa.states.forEach((s, i) => {
    const [kind = -1, lo = 0, hi = 0, next = -1, alt = -1] = s;
    if (kind < PIKE_BYTE || kind > PIKE_SAVE) throw new Error(`capture automaton: state ${i} has kind ${kind}`);
    if (kind !== PIKE_MATCH && !valid(next)) throw new Error(`capture automaton: state ${i} leads nowhere`);
    if (kind === PIKE_SPLIT && !valid(alt)) throw new Error(`capture automaton: split ${i} leads nowhere`);
    if (kind === PIKE_SAVE && !(lo >= 0 && lo < program.slots)) throw new Error(`capture automaton: state ${i} saves slot ${lo}`);
    program.kind[i] = kind;
    program.lo[i] = lo;
    program.hi[i] = hi;
    program.next[i] = next;
    program.alt[i] = alt;
  });
  return program;
}

/** A list of threads in priority order: state ids and their capture slots. */
interface ThreadList {
  pc: Int32Array;
  caps: Int32Array[];
  count: number;
}

/**
 * Searches `s` for the leftmost-first match of `program` (RE2 / Perl submatch semantics: the
 * leftmost start; among matches there, the one the pattern's preferences pick — alternatives left
 * to right, greedy repetitions as long as possible, lazy ones as short).
 * @param work when given, `steps` is increased by the thread visits made (at most
 *   states × (input bytes + 1) × 2).
 * @returns 2 × groups string indices into `s` (group k spans [r[2k], r[2k+1]); −1 for a group that
 *   did not take part), or null when the pattern does not occur in `s`.
 */
export function pikeSearch(program: PikeProgram, s: string, work?: PikeWork): number[] | null {
  const { kind, lo, hi, next, alt, slots } = program;
  const n = kind.length;
  const { bytes, index, length } = utf8WithIndex(s);
  // mark[pc] = the position whose list pc was last added to: each state once per position.
  const mark = new Int32Array(n).fill(-1);
  let current: ThreadList = { pc: new Int32Array(n), caps: new Array(n), count: 0 };
  let following: ThreadList = { pc: new Int32Array(n), caps: new Array(n), count: 0 };
  const stackPc = new Int32Array(n * 2 + 2);
  const stackCaps: Int32Array[] = new Array(n * 2 + 2);
  let steps = 0;

  /** Adds `pc0` and everything reachable from it by ε-moves at byte position `pos`, in priority order. */
  const addThread = (list: ThreadList, pc0: number, caps0: Int32Array, pos: number): void => {
    let top = 0;
    stackPc[top] = pc0;
    stackCaps[top++] = caps0;
    while (top > 0) {
      const pc = stackPc[--top] as number;
      const caps = stackCaps[top] as Int32Array;
      if (mark[pc] === pos) continue;
      mark[pc] = pos;
      steps++;
      switch (kind[pc]) {
        case PIKE_SPLIT:
          // Pushed in reverse: `next` (preferred) is explored first, and wholly, before `alt`.
          stackPc[top] = alt[pc] as number;
          stackCaps[top++] = caps;
          stackPc[top] = next[pc] as number;
          stackCaps[top++] = caps;
          break;
        case PIKE_BOL:
          if (pos === 0) {
            stackPc[top] = next[pc] as number;
            stackCaps[top++] = caps;
          }
          break;
        case PIKE_EOL:
          if (pos === length) {
            stackPc[top] = next[pc] as number;
            stackCaps[top++] = caps;
          }
          break;
        case PIKE_SAVE: {
          // Copy on write: threads share slot arrays until one records a position.
          const copy = caps.slice();
          copy[lo[pc] as number] = pos;
          stackPc[top] = next[pc] as number;
          stackCaps[top++] = copy;
          break;
        }
        default: // BYTE and MATCH wait in the list for the next step
          list.pc[list.count] = pc;
          list.caps[list.count++] = caps;
      }
    }
  };

  const unset = new Int32Array(slots).fill(-1);
  let matched: Int32Array | null = null;
  for (let pos = 0; pos <= length; pos++) {
    // A new search starting here ranks below every thread that started earlier (leftmost).
    if (matched === null && (pos === 0 || !program.anchored)) addThread(current, program.start, unset, pos);
    if (current.count === 0) {
      if (matched !== null || program.anchored) break;
      continue; // nothing alive here (`$` before the end): try the next start
    }
    following.count = 0;
    const byte = pos < length ? (bytes[pos] as number) : -1;
    for (let t = 0; t < current.count; t++) {
      const pc = current.pc[t] as number;
      steps++;
      if (kind[pc] === PIKE_MATCH) {
        // The best match from here; the threads below it have lower priority: cut them off.
        matched = current.caps[t] as Int32Array;
        break;
      }
      if (byte >= (lo[pc] as number) && byte <= (hi[pc] as number)) {
        addThread(following, next[pc] as number, current.caps[t] as Int32Array, pos + 1);
      }
    }
    const done = current;
    current = following;
    following = done;
    following.caps.fill(unset, 0, following.count); // drop references early
  }
  if (work) work.steps += steps;
  if (matched === null) return null;
  const out: number[] = new Array(slots);
  for (let k = 0; k < slots; k++) {
    const at = matched[k] as number;
    out[k] = at < 0 ? -1 : (index[at] as number);
  }
  // A group whose start or end is unset did not take part.
  for (let k = 0; k < slots; k += 2) {
    if ((out[k] as number) < 0 || (out[k + 1] as number) < 0) out[k] = out[k + 1] = -1;
  }
  return out;
}
