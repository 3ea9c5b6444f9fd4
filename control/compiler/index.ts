/**
 * The CEL condition compiler: source → @bufbuild/cel syntax tree → validated IR (check.ts) →
 * folded IR (fold.ts) → bytecode (emit/, one program per route). Conditions are data: nothing
 * here or in the VM executes user text.
 *
 * Parsing dominates the cost (@bufbuild/cel's generated parser: ~100–150 µs per condition), so
 * a build avoids it twice over. Admission stores each policy's lowered IR with the row
 * (`policies.condition_ir`, storedConditionIr below, ir-codec.ts), and the snapshot build decodes
 * that instead of parsing, also right after control restarts. Lowered conditions are also
 * memoised in memory by (key, source): admission's check fills the memo, the row's stored IR is
 * encoded from that same entry, and a build lowers only what has no usable stored IR and is not
 * memoised (bench/RESULTS.md, "Snapshot compile"; docs/conditions.md, "Stored IR").
 */
import { parse } from "@bufbuild/cel";
import type { AttributeRef, AttributeSource, IrNode } from "../../wasm/cel/ir.ts";
import { encodeStoredIr, type StoredIr } from "../../wasm/cel/ir-codec.ts";
import { type CheckOptions, checkExpression, checkLimitKeyParsed, checkParsed } from "./check.ts";
import { ConditionError } from "./condition-error.ts";
import { checkRouteProgram } from "./emit/route.ts";
import { foldNode } from "./fold.ts";
import { checkNesting } from "./nesting.ts";

export type { AttributeRef, IrNode } from "../../wasm/cel/ir.ts";
export { ConditionError } from "./condition-error.ts";

/** Longest condition source accepted, in characters. */
export const MAX_CONDITION_LENGTH = 16 * 1024;
/** Lowered conditions kept in memory (oldest inserted evicted first; ~2 KB each). */
const CACHE_ENTRIES = 50_000;
const cache = new Map<string, IrNode>();

/** The attribute a policy's key names: header names are case-insensitive, stored lowercase. */
export function keyAttribute(passway: "query" | "header" | "cookie" | "body", key: string): AttributeRef {
  return { source: passway as AttributeSource, name: passway === "header" ? key.toLowerCase() : key };
}

/**
 * Parses `source`.
 * @throws ConditionError with the parser's offset on a syntax error, or the offset where the tree
 *   first nests deeper than MAX_CONDITION_DEPTH (nesting.ts).
 */
export function parseCondition(source: string): ReturnType<typeof parse> {
  if (source.length > MAX_CONDITION_LENGTH) {
    throw new ConditionError(`condition is longer than ${MAX_CONDITION_LENGTH} characters`, MAX_CONDITION_LENGTH);
  }
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(source);
  } catch (err) {
    const e = err as { rawMessage?: string; message?: string; location?: { start?: { offset?: number } } };
    throw new ConditionError(`syntax error: ${e.rawMessage ?? e.message ?? String(err)}`, e.location?.start?.offset ?? 0);
  }
  checkNesting(parsed);
  return parsed;
}

export interface LowerOptions extends CheckOptions {
  /** Constant folding (default true); the conformance runner turns it off so the VM does the work. */
  fold?: boolean;
}

/**
 * Parses, checks and folds `source` for a policy whose key is `key`.
 * @returns the typed IR (bool); do not modify it (it may be shared through the cache).
 * @throws ConditionError with the character offset and reason: syntax errors, anything outside
 *   the subset in docs/conditions.md, type errors.
 */
export function lowerCondition(source: string, key: AttributeRef = { source: "query", name: "key" }, options: LowerOptions = {}): IrNode {
  const cacheable = options.variables === undefined && options.fold !== false;
  const cacheKey = `${key.source}\u0000${key.name}\u0000${source}`;
  const hit = cacheable ? cache.get(cacheKey) : undefined;
  if (hit) return hit;
  const checked = checkParsed(parseCondition(source), key, options);
  const ir = options.fold === false ? checked : foldNode(checked);
  if (cacheable) {
    if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
    cache.set(cacheKey, ir);
  }
  return ir;
}

/** Lowers an expression of any type (the conformance runner wraps non-bool results itself). */
export function lowerExpression(source: string, options: LowerOptions = {}): IrNode {
  const checked = checkExpression(parseCondition(source), { source: "query", name: "key" }, options);
  return options.fold === false ? checked : foldNode(checked);
}

/**
 * Parses, checks and folds a limit key expression (limit-count / limit-req / limit-conn
 * `key: {from: "cel", expression}`, docs/edge-protection.md): the variables of conditions but
 * `key` and `request.body`, string `+` allowed, result string, int or uint. Memoised as
 * lowerCondition is, so the snapshot build after admission's check does not parse again.
 * @returns the typed IR; do not modify it (it may be shared through the memo).
 * @throws ConditionError with the character offset and reason: syntax errors, anything outside
 *   the subset, type errors, a result of another type.
 */
export function lowerLimitKey(source: string): IrNode {
  const cacheKey = `limit-key\u0000${source}`;
  const hit = cache.get(cacheKey);
  if (hit) return hit;
  const ir = foldNode(checkLimitKeyParsed(parseCondition(source)));
  if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
  cache.set(cacheKey, ir);
  return ir;
}

/**
 * Validates a condition at admission: everything compilation checks, including the VM's stack
 * limit, without writing a snapshot.
 * @throws ConditionError (see lowerCondition).
 */
export function checkCondition(source: string, key?: AttributeRef): void {
  checkRouteProgram(lowerCondition(source, key));
}

/**
 * What a policy row keeps in `condition_ir` for condition `source` on key `key`: the lowered IR
 * in ir-codec.ts's stored form (JSON-safe; `{v, key, ir}`). Right after admission's
 * checkCondition this is a memo hit, so a write lowers its condition once.
 * @returns null when `source` does not lower (a PATCH that left an old condition untouched after
 *   the compiler grew stricter): the build then lowers the source and reports the error itself.
 */
export function storedConditionIr(source: string, key: AttributeRef): StoredIr | null {
  try {
    return encodeStoredIr(lowerCondition(source, key), key);
  } catch (err) {
    if (err instanceof ConditionError) return null;
    throw err;
  }
}

/**
 * Empties the lowering memo, so the next lowerCondition of every source parses again: what a
 * freshly started control process sees. For tests and bench/policy-compile.ts.
 */
export function clearLoweringCache(): void {
  cache.clear();
}
