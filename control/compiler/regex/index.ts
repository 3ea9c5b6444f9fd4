/**
 * The `matches` compiler: RE2 pattern → Regex (syntax.ts, via regexpp) → byte NFA (nfa.ts) →
 * DFA (dfa.ts), which the snapshot carries and the VM runs in linear time.
 */
import { buildDfa, type Dfa } from "./dfa.ts";
import { buildNfa } from "./nfa.ts";
import { parseRegex } from "./syntax.ts";

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
