/**
 * Runs a `matches` DFA (built in control: control/compiler/regex/dfa.ts) over a byte string:
 * one table lookup per byte, so linear in the input whatever the pattern. Object layout:
 * u32 kind, u16 states, u16 classes, u8[256] class map, u8[states] flags, padding to 2,
 * u16[states × classes] next; state 0 is the start.
 */

const DFA_MATCH: u32 = 1;
const DFA_ACCEPT_AT_END: u32 = 2;
const DFA_DEAD: u32 = 4;

/** Offset of the transition table in a DFA object with `states` states. */
@inline export function dfaNextOffset(states: u32): usize {
  return (264 + <usize>states + 1) & ~1;
}

/** Whether the DFA at `obj` finds its pattern in the `len` bytes at `p` (an unanchored search). */
export function runDfa(obj: usize, p: usize, len: usize): bool {
  const states = <u32>load<u16>(obj, 4);
  const classes = <usize>load<u16>(obj, 6);
  const classMap = obj + 8;
  const flags = obj + 264;
  const next = obj + dfaNextOffset(states);
  let s: usize = 0;
  for (let i: usize = 0; i < len; i++) {
    const f = <u32>load<u8>(flags + s);
    if ((f & (DFA_MATCH | DFA_DEAD)) != 0) return (f & DFA_MATCH) != 0;
    s = <usize>load<u16>(next + ((s * classes + <usize>load<u8>(classMap + <usize>load<u8>(p + i))) << 1));
  }
  return (<u32>load<u8>(flags + s) & (DFA_MATCH | DFA_ACCEPT_AT_END)) != 0;
}
