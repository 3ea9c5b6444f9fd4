/**
 * `matches` patterns: RE2 syntax (cel-go uses Go's regexp, an RE2 implementation), read with
 * @eslint-community/regexpp — a parser, not ours — in ECMAScript's `u` mode, and lowered to a
 * small regular-expression tree over Unicode code points. Only constructs that mean the same in
 * RE2 and in ECMAScript `u` mode are accepted, and only those with a linear-time automaton:
 * backreferences, lookaround and word boundaries are refused, as are flags, \p classes and
 * escapes RE2 does not know (\u, \c, \0). RE2's meanings are used where the two differ:
 * `.` is any code point but \n; \s is [\t\n\f\r ]; \d and \w are ASCII.
 */
import { type AST, RegExpParser } from "@eslint-community/regexpp";

/** Code point ranges, inclusive, sorted and disjoint. */
export type Ranges = [number, number][];

/**
 * A regular expression over code points; `$` and `^` are text anchors (no multi-line mode).
 * `cap` (capture group `index`, from 1) appears only when parsed with captures; `lazy` marks a
 * non-greedy repetition (`*?`), which matters only to captures (the DFA's language ignores it).
 */
export type Regex =
  | { t: "set"; ranges: Ranges }
  | { t: "cat"; items: Regex[] }
  | { t: "alt"; items: Regex[] }
  | { t: "rep"; min: number; max: number; item: Regex; lazy?: boolean } // max Infinity for unbounded
  | { t: "cap"; index: number; item: Regex }
  | { t: "bol" }
  | { t: "eol" };

/** A pattern refused at admission: `offset` is in the pattern, not in the condition. */
export class RegexError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.name = "RegexError";
    this.offset = offset;
  }
}

/** RE2's repetition limit: `a{1001}` is a syntax error there. */
export const MAX_REPEAT = 1000;
export const MAX_CODE_POINT = 0x10ffff;

/** Escapes whose meaning RE2 and ECMAScript `u` mode share. */
const SHARED_ESCAPE = /^\\(?:x[0-9A-Fa-f]{2}|[tnvfr]|[$()*+\-./?[\\\]^{|}])$/;

const ANY_BUT_NEWLINE: Ranges = [
  [0, 9],
  [11, MAX_CODE_POINT],
];
const DIGIT: Ranges = [[0x30, 0x39]];
const WORD: Ranges = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
const SPACE: Ranges = [
  [9, 10],
  [12, 13],
  [32, 32],
];

/** Sorts and merges ranges. */
export function normalize(ranges: Ranges): Ranges {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Ranges = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

/** The complement within [0, 0x10FFFF]. */
export function complement(ranges: Ranges): Ranges {
  const out: Ranges = [];
  let next = 0;
  for (const [lo, hi] of normalize(ranges)) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

/**
 * Parses `pattern` and lowers it. Without `captures` (the `matches` DFA), groups are plain
 * groupings and quantifiers carry no greediness; with it, capturing groups become `cap` nodes
 * numbered by their opening parenthesis (RE2, ECMAScript) and non-greedy quantifiers are `lazy`.
 * @throws RegexError naming the offset in the pattern and the reason.
 */
export function parseRegex(pattern: string, captures = false): Regex {
  let ast: AST.Pattern;
  try {
    ast = new RegExpParser({ ecmaVersion: 2025 }).parsePattern(pattern, 0, pattern.length, { unicode: true });
  } catch (err) {
    const e = err as { message: string; index?: number };
    throw new RegexError(`invalid regular expression: ${e.message.replace(/^Invalid regular expression: /, "")}`, e.index ?? 0);
  }
  return new Lowering(captures).alternatives(ast.alternatives);
}

const refuse = (node: AST.Node, why: string): never => {
  throw new RegexError(`${why} (at '${node.raw}')`, node.start);
};

/** The lowering of one pattern: whether it keeps captures and greediness. */
class Lowering {
  /** Capturing groups seen so far: the lowering visits them in order of their opening parenthesis. */
  private groups = 0;
  private readonly captures: boolean;
  constructor(captures: boolean) {
    this.captures = captures;
  }

  alternatives(alternatives: AST.Alternative[]): Regex {
    const items = alternatives.map((a): Regex => ({ t: "cat", items: a.elements.map((e) => this.element(e)) }));
    return items.length === 1 ? (items[0] as Regex) : { t: "alt", items };
  }

  element(node: AST.Element): Regex {
    switch (node.type) {
      case "Character":
        checkEscape(node);
        return { t: "set", ranges: [[node.value, node.value]] };
      case "CharacterSet":
        return { t: "set", ranges: characterSet(node) };
      case "CharacterClass":
        return { t: "set", ranges: characterClass(node) };
      case "Group":
        if (node.modifiers) return refuse(node, "inline flags are not supported");
        return this.alternatives(node.alternatives);
      case "CapturingGroup": {
        // Numbered by opening parenthesis (RE2, ECMAScript): counted before the group's insides.
        const index = ++this.groups;
        const item = this.alternatives(node.alternatives);
        return this.captures ? { t: "cap", index, item } : item;
      }
      case "Quantifier": {
        if (node.min > MAX_REPEAT || (node.max !== Number.POSITIVE_INFINITY && node.max > MAX_REPEAT)) {
          return refuse(node, `repetition counts above ${MAX_REPEAT} are not RE2 syntax`);
        }
        const rep: Regex = { t: "rep", min: node.min, max: node.max, item: this.element(node.element) };
        if (this.captures && !node.greedy) rep.lazy = true;
        return rep;
      }
      case "Assertion":
        if (node.kind === "start") return { t: "bol" };
        if (node.kind === "end") return { t: "eol" };
        if (node.kind === "word") return refuse(node, "word boundaries (\\b, \\B) are not supported");
        return refuse(node, "lookaround has no linear-time automaton and is not RE2 syntax");
      case "Backreference":
        return refuse(node, "backreferences have no linear-time automaton and are not RE2 syntax");
      default:
        return refuse(node, "this construct is not supported");
    }
  }
}

function checkEscape(node: AST.Character): void {
  if (node.raw.startsWith("\\") && !SHARED_ESCAPE.test(node.raw)) {
    refuse(node, "this escape is not RE2 syntax or means something else there; use \\xHH or the character itself");
  }
}

function characterSet(node: AST.CharacterSet): Ranges {
  if (node.kind === "any") return ANY_BUT_NEWLINE;
  if (node.kind === "property") return refuse(node, "Unicode property classes (\\p) are not supported");
  const ranges = node.kind === "digit" ? DIGIT : node.kind === "word" ? WORD : SPACE;
  return node.negate ? complement(ranges) : ranges;
}

function characterClass(node: AST.CharacterClass): Ranges {
  if (node.unicodeSets) return refuse(node, "set operations in classes are not supported");
  if (node.elements.length === 0) return refuse(node, "empty classes ([] and [^]) are not RE2 syntax");
  const ranges: Ranges = [];
  for (const el of node.elements) {
    if (el.type === "Character") {
      checkEscape(el);
      ranges.push([el.value, el.value]);
    } else if (el.type === "CharacterClassRange") {
      checkEscape(el.min);
      checkEscape(el.max);
      ranges.push([el.min.value, el.max.value]);
    } else if (el.type === "CharacterSet") {
      ranges.push(...characterSet(el));
    } else {
      refuse(el, "this class element is not supported");
    }
  }
  return node.negate ? complement(ranges) : normalize(ranges);
}
