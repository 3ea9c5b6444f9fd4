/**
 * The `matches` compiler: RE2 pattern → Regex (syntax.ts, via regexpp) → byte NFA (nfa.ts) →
 * DFA (dfa.ts), which the snapshot carries and the VM runs in linear time.
 */

import type { CaptureNfa } from "../../../wasm/plugins-section.ts";
import { buildDfa, type Dfa } from "./dfa.ts";
import { buildNfa } from "./nfa.ts";
import { parseRegex, RegexError } from "./syntax.ts";

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
 * Compiles an RE2 `pattern` to a byte NFA with capture slots for proxy-rewrite's `regexUri`,
 * run by the gateway's Pike VM (wasm/reference/pike.ts) in linear time.
 * @throws RegexError (offset within the pattern) as compileRegex.
 */
export function compileCaptureRegex(pattern: string): CaptureNfa {
  parseRegex(pattern);
  throw new RegexError("capture regexes are not built yet", 0);
}
