/**
 * Code point ranges → UTF-8 byte-range sequences, so a byte automaton can match code point
 * classes (the algorithm of Go's regexp/syntax and Rust's regex-syntax `Utf8Sequences`):
 * split a range at encoding-length boundaries and around the surrogates (never valid in
 * UTF-8), then until every byte position spans a contiguous byte range.
 * Example: [0x80, 0x10FFFF] → [[C2–DF],[80–BF]], [[E0],[A0–BF],[80–BF]], [[E1–EC],[80–BF],[80–BF]], …
 */
import type { Ranges } from "./syntax.ts";

/** A sequence of inclusive byte ranges, one per byte of the encoding. */
export type ByteSequence = [number, number][];

const encode = (c: number): number[] =>
  c < 0x80
    ? [c]
    : c < 0x800
      ? [0xc0 | (c >> 6), 0x80 | (c & 0x3f)]
      : c < 0x10000
        ? [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)]
        : [0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)];

/** The byte sequences matching exactly the UTF-8 encodings of the code points in `ranges`. */
export function utf8Sequences(ranges: Ranges): ByteSequence[] {
  const out: ByteSequence[] = [];
  const stack: [number, number][] = [...ranges].reverse();
  while (stack.length > 0) {
    const [lo, hi] = stack.pop() as [number, number];
    if (lo > hi) continue;
    if (lo <= 0xdfff && hi >= 0xd800) {
      stack.push([0xe000, hi], [lo, 0xd7ff]);
      continue;
    }
    const boundary = [0x7f, 0x7ff, 0xffff].find((max) => lo <= max && hi > max);
    if (boundary !== undefined) {
      stack.push([boundary + 1, hi], [lo, boundary]);
      continue;
    }
    const a = encode(lo);
    let split = false;
    for (let i = 1; i < a.length && !split; i++) {
      const m = (1 << (6 * i)) - 1;
      if ((lo & ~m) !== (hi & ~m)) {
        if ((lo & m) !== 0) {
          stack.push([(lo | m) + 1, hi], [lo, lo | m]);
          split = true;
        } else if ((hi & m) !== m) {
          stack.push([hi & ~m, hi], [lo, (hi & ~m) - 1]);
          split = true;
        }
      }
    }
    if (split) continue;
    const b = encode(hi);
    out.push(a.map((x, i) => [x, b[i] as number]));
  }
  return out;
}
