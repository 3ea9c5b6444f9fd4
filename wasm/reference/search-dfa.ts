/**
 * The byte DFA of an RE2 pattern for unanchored search, as control/compiler/regex builds it (the
 * VM's MATCHES runs the same table in WASM), and its TypeScript runner: the reference for the VM
 * and the gateway's matcher for plugin regexes (CORS origins, anti-scraping user agents). One
 * table lookup per input byte: linear time in the input, independent of the pattern. Pure.
 */

/** State flags. */
export const DFA_MATCH = 1; // a match ended here: the answer is true whatever follows
export const DFA_ACCEPT_AT_END = 2; // true if the input ends here
export const DFA_DEAD = 4; // no continuation of one or more bytes can match

/** The compiled automaton; state 0 is the start (position 0 of the input). */
export interface Dfa {
  stateCount: number;
  classCount: number;
  /** Byte → class. */
  classMap: Uint8Array;
  /** Per state: DFA_MATCH | DFA_ACCEPT_AT_END | DFA_DEAD. */
  flags: Uint8Array;
  /** next[state × classCount + class]. */
  next: Uint16Array;
}

/**
 * Runs `dfa` over the UTF-8 bytes of `s` (lone surrogates as U+FFFD): the reference of the
 * VM's MATCHES. @returns whether the pattern occurs in `s`.
 */
export function runDfa(dfa: Dfa, s: string): boolean {
  // UTF-8 by hand, as bucket.ts does: TextEncoder.encode() per request costs ~10× more here.
  let state = 0;
  const { flags, next, classMap, classCount } = dfa;
  const step = (b: number): boolean => {
    const f = flags[state] as number;
    if (f & (DFA_MATCH | DFA_DEAD)) return true;
    state = next[state * classCount + (classMap[b] as number)] as number;
    return false;
  };
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = s.charCodeAt(i + 1);
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else c = 0xfffd;
    }
    let stop: boolean;
    if (c < 0x80) stop = step(c);
    else if (c < 0x800) stop = step(0xc0 | (c >> 6)) || step(0x80 | (c & 0x3f));
    else if (c < 0x10000) stop = step(0xe0 | (c >> 12)) || step(0x80 | ((c >> 6) & 0x3f)) || step(0x80 | (c & 0x3f));
    else stop = step(0xf0 | (c >> 18)) || step(0x80 | ((c >> 12) & 0x3f)) || step(0x80 | ((c >> 6) & 0x3f)) || step(0x80 | (c & 0x3f));
    if (stop) return ((flags[state] as number) & DFA_MATCH) !== 0;
  }
  return ((flags[state] as number) & (DFA_MATCH | DFA_ACCEPT_AT_END)) !== 0;
}
