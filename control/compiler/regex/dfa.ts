/**
 * Subset construction (Rabin & Scott, 1959) of the byte DFA the VM runs for `matches`: an
 * unanchored search (RE2's `matches` finds the pattern anywhere), so every step also restarts
 * the NFA. Bytes are grouped into equivalence classes to keep the table small. The automaton is
 * refused when it grows past MAX_DFA_STATES or MAX_DFA_CELLS: a pattern that cannot be compiled
 * safely is not admitted (RE2 instead falls back to slower matching at run time).
 *
 * Running it (runDfa, and the VM's MATCHES) is one table lookup per input byte: linear time in
 * the input, independent of the pattern.
 */

import { DFA_ACCEPT_AT_END, DFA_DEAD, DFA_MATCH, type Dfa } from "../../../wasm/reference/search-dfa.ts";
import { NFA_BOL, NFA_BYTE, NFA_EOL, NFA_MATCH, NFA_SPLIT, type Nfa } from "./nfa.ts";
import { RegexError } from "./syntax.ts";

export { DFA_ACCEPT_AT_END, DFA_DEAD, DFA_MATCH, type Dfa, runDfa } from "../../../wasm/reference/search-dfa.ts";

export const MAX_DFA_STATES = 4096;
/** Most transition table entries (states × classes): 64 K entries, 128 KiB. */
export const MAX_DFA_CELLS = 65536;

/** @throws RegexError when the DFA would exceed the limits. */
export function buildDfa(nfa: Nfa): Dfa {
  const { states } = nfa;
  // Byte classes: bytes that no BYTE state's range boundary separates behave identically.
  const cut = new Uint8Array(257);
  for (const s of states) {
    if (s.kind === NFA_BYTE && s.lo <= s.hi) {
      cut[s.lo] = 1;
      cut[s.hi + 1] = 1;
    }
  }
  const classMap = new Uint8Array(256);
  const representative: number[] = [];
  let cls = -1;
  for (let b = 0; b < 256; b++) {
    if (b === 0 || cut[b]) {
      cls++;
      representative.push(b);
    }
    classMap[b] = cls;
  }
  const classCount = cls + 1;

  /** Kept states reachable from `seeds` by ε: BYTE, MATCH, and (unless atEnd) pending EOL. */
  const closure = (seeds: number[], atStart: boolean, atEnd: boolean): number[] => {
    const seen = new Set<number>();
    const kept: number[] = [];
    const stack = [...seeds];
    while (stack.length > 0) {
      const id = stack.pop() as number;
      if (seen.has(id)) continue;
      seen.add(id);
      const s = states[id];
      if (!s) continue;
      if (s.kind === NFA_SPLIT) stack.push(s.alt, s.next);
      else if (s.kind === NFA_BOL) {
        if (atStart) stack.push(s.next);
      } else if (s.kind === NFA_EOL) {
        if (atEnd) stack.push(s.next);
        else kept.push(id);
      } else kept.push(id);
    }
    return kept.sort((a, b) => a - b);
  };

  const sets: number[][] = [];
  const starts: boolean[] = [];
  const index = new Map<string, number>();
  const intern = (set: number[], atStart: boolean): number => {
    const key = `${atStart ? "^" : ""}${set.join(",")}`;
    let id = index.get(key);
    if (id === undefined) {
      id = sets.push(set) - 1;
      starts.push(atStart);
      index.set(key, id);
      if (sets.length > MAX_DFA_STATES || sets.length * classCount > MAX_DFA_CELLS) {
        throw new RegexError(
          `the pattern needs more than ${Math.min(MAX_DFA_STATES, Math.floor(MAX_DFA_CELLS / classCount))} automaton states`,
          0,
        );
      }
    }
    return id;
  };

  intern(closure([nfa.start], true, false), true);
  const next: number[] = [];
  const flags: number[] = [];
  for (let s = 0; s < sets.length; s++) {
    const set = sets[s] as number[];
    const isMatch = set.some((id) => states[id]?.kind === NFA_MATCH);
    const pendingEol = set.filter((id) => states[id]?.kind === NFA_EOL).map((id) => (states[id] as { next: number }).next);
    const atEnd = isMatch || closure(pendingEol, starts[s] as boolean, true).some((id) => states[id]?.kind === NFA_MATCH);
    flags.push((isMatch ? DFA_MATCH : 0) | (atEnd ? DFA_ACCEPT_AT_END : 0));
    for (let c = 0; c < classCount; c++) {
      if (isMatch) {
        next.push(s);
        continue;
      }
      const b = representative[c] as number;
      const seeds = [nfa.start];
      for (const id of set) {
        const st = states[id];
        if (st?.kind === NFA_BYTE && st.lo <= b && b <= st.hi) seeds.push(st.next);
      }
      next.push(intern(closure(seeds, false, false), false));
    }
  }

  // DEAD: states from which no accepting state is reachable in one or more steps.
  const live = new Uint8Array(sets.length);
  for (let changed = true; changed; ) {
    changed = false;
    for (let s = 0; s < sets.length; s++) {
      if (live[s]) continue;
      for (let c = 0; c < classCount; c++) {
        const t = next[s * classCount + c] as number;
        if ((flags[t] as number) & (DFA_MATCH | DFA_ACCEPT_AT_END) || live[t]) {
          live[s] = 1;
          changed = true;
          break;
        }
      }
    }
  }
  for (let s = 0; s < sets.length; s++) {
    if (!live[s] && !((flags[s] as number) & DFA_MATCH)) flags[s] = (flags[s] as number) | DFA_DEAD;
  }
  return { stateCount: sets.length, classCount, classMap, flags: Uint8Array.from(flags), next: Uint16Array.from(next) };
}
