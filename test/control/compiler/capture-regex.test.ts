/**
 * proxy-rewrite's capture regexes: compileCaptureRegex (control) run by the Pike VM
 * (wasm/reference/pike.ts) agrees with re2js (an RE2 port: leftmost-first submatches) on
 * generated patterns — groups nested, alternations, greedy and lazy repetition, anchors, UTF-8 —
 * and inputs; it stays linear on patterns that make backtracking engines explode; and compiling
 * captures leaves the `matches` DFA as it was.
 */
import fc from "fast-check";
import { RE2JS } from "re2js";
import { describe, expect, it } from "vitest";
import { compileCaptureRegex, compileRegex, RegexError, runDfa } from "../../../control/compiler/regex/index.ts";
import { type PikeWork, pikeProgram, pikeSearch } from "../../../wasm/reference/pike.ts";

/** re2js's leftmost-first match: 2 × groups string indices, −1 for a group that did not take part. */
function re2Search(pattern: string, s: string): number[] | null {
  const re = RE2JS.compile(pattern);
  const m = re.matcher(s);
  if (!m.find()) return null;
  const out: number[] = [];
  for (let g = 0; g <= re.groupCount(); g++) out.push(m.start(g), m.end(g));
  return out;
}

const search = (pattern: string, s: string, work?: PikeWork) => pikeSearch(pikeProgram(compileCaptureRegex(pattern)), s, work);

/** Patterns from a grammar over a small alphabet, in the subset RE2 and ECMAScript `u` mode read alike. */
const patternArb = fc.letrec<{ alt: string; seq: string; piece: string; atom: string }>((tie) => ({
  atom: fc.oneof(
    { arbitrary: fc.constantFrom("a", "b", "é", "😀", ".", "[ab]", "[^a]", "\\d", "x", "^", "$"), weight: 5 },
    { arbitrary: tie("alt").map((a) => `(${a})`), weight: 2 },
    { arbitrary: tie("alt").map((a) => `(?:${a})`), weight: 1 },
  ),
  piece: fc
    .tuple(tie("atom"), fc.constantFrom("", "", "", "*", "+", "?", "{2}", "{0,2}", "{1,}", "*?", "+?", "??", "{1,2}?"))
    .map(([a, q]) => (q && (a === "^" || a === "$") ? a : a + q)),
  seq: fc.array(tie("piece"), { minLength: 0, maxLength: 3 }).map((p) => p.join("")),
  alt: fc.array(tie("seq"), { minLength: 1, maxLength: 3 }).map((s) => s.join("|")),
}));
const pattern = fc.oneof(
  patternArb.alt,
  patternArb.alt.map((a) => `(${a})`),
);
const input = fc.string({ unit: fc.constantFrom("a", "b", "a", "b", "é", "😀", "1", "x", "\n"), maxLength: 10 });

describe("compileCaptureRegex + pikeSearch agree with re2js", () => {
  it("on 1500 generated patterns × 12 inputs: the same match and the same captures", () => {
    const cases = fc.sample(fc.tuple(pattern, fc.array(input, { minLength: 12, maxLength: 12 })), { numRuns: 1500, seed: 1616 });
    let compared = 0;
    let matched = 0;
    let captured = 0;
    for (const [p, inputs] of cases) {
      let program: ReturnType<typeof pikeProgram>;
      try {
        program = pikeProgram(compileCaptureRegex(p));
      } catch (err) {
        if (err instanceof RegexError) continue;
        throw err;
      }
      for (const s of inputs) {
        const want = re2Search(p, s);
        expect({ p, s, got: pikeSearch(program, s) }).toEqual({ p, s, got: want });
        compared++;
        if (want) matched++;
        if (want && want.length > 2 && want[2] !== -1) captured++;
      }
    }
    // Not a degenerate run: most patterns compile, many inputs match, groups take part.
    expect(compared).toBeGreaterThan(1000 * 12);
    expect(matched).toBeGreaterThan(compared / 4);
    expect(captured).toBeGreaterThan(compared / 10);
  });

  it.each([
    // [pattern, input, expected slots]
    ["^/api/(.*)", "/api/v1/x", [0, 9, 5, 9]],
    ["/(a+)(b*)", "x/aab/", [1, 5, 2, 4, 4, 5]],
    ["(a|ab)(c|bcd)(d*)", "abcd", [0, 4, 0, 1, 1, 4, 4, 4]], // leftmost-first, not leftmost-longest
    ["(a*)+", "b", [0, 0, 0, 0]],
    ["(a*)*", "b", [0, 0, 0, 0]],
    ["(a+?)(a*)", "aaa", [0, 3, 0, 1, 1, 3]],
    ["(x)?y", "y", [0, 1, -1, -1]],
    ["é(.)", "aéb😀", [1, 3, 2, 3]],
    ["(😀)$", "a😀", [1, 3, 1, 3]],
    ["^b", "ab", null],
  ] as [string, string, number[] | null][])("%s on %s", (p, s, want) => {
    expect(search(p, s)).toEqual(want);
    expect(re2Search(p, s)).toEqual(want);
  });

  it("numbers groups by their opening parenthesis, and counts non-capturing groups out", () => {
    const nfa = compileCaptureRegex("((a)(?:b)(c))");
    expect(nfa.groups).toBe(4);
    expect(search("((a)(?:b)(c))", "abc")).toEqual([0, 3, 0, 3, 0, 1, 2, 3]);
  });

  it("marks patterns starting with ^ as anchored", () => {
    expect(compileCaptureRegex("^/a").anchored).toBe(true);
    expect(compileCaptureRegex("(^/a|^/b)").anchored).toBe(true);
    expect(compileCaptureRegex("/a|^/b").anchored).toBe(false);
  });

  it("refuses what compileRegex refuses, with the offset", () => {
    for (const p of ["(a", "\\1(a)", "(?=a)", "a{1001}", "\\bx", "(ab){1000}", "[^a]{300}"]) {
      expect(() => compileCaptureRegex(p), p).toThrow(RegexError);
    }
  });
});

describe("linear time", () => {
  it("(a+)+$ on a…ab does work proportional to the input, not exponential", () => {
    const program = pikeProgram(compileCaptureRegex("(a+)+$"));
    const states = program.kind.length;
    const counts = [100, 1000, 10_000].map((n) => {
      const work: PikeWork = { steps: 0 };
      expect(pikeSearch(program, `${"a".repeat(n)}b`, work)).toBeNull();
      return work.steps;
    });
    for (const [i, n] of [100, 1000, 10_000].entries()) {
      expect(counts[i]).toBeLessThanOrEqual(2 * states * (n + 2));
    }
    // Ten times the input, about ten times the work.
    expect((counts[2] as number) / (counts[1] as number)).toBeLessThan(11);
  });

  it("(a|aa)*c and nested stars stay within states × input", () => {
    for (const p of ["(a|aa)*c", "((a*)*)*b", "(.*)(.*)(.*)z"]) {
      const program = pikeProgram(compileCaptureRegex(p));
      const work: PikeWork = { steps: 0 };
      const n = 5000;
      pikeSearch(program, "a".repeat(n), work);
      expect(work.steps, p).toBeLessThanOrEqual(2 * program.kind.length * (n + 2));
    }
  });
});

describe("the matches DFA is unchanged by capture support", () => {
  it("compileRegex still treats groups as groupings and ignores laziness", () => {
    const cases: [string, string, boolean][] = [
      ["^(ab)+$", "abab", true],
      ["^(ab)+?$", "abab", true],
      ["(a*)*b", "aaab", true],
      ["^(a|b)?c$", "c", true],
    ];
    for (const [p, s, want] of cases) expect(runDfa(compileRegex(p), s), p).toBe(want);
    // The DFA of a pattern with groups equals the DFA of the same pattern without them.
    expect(compileRegex("^(a(b)c)*d$")).toEqual(compileRegex("^(?:a(?:b)c)*d$"));
  });
});
