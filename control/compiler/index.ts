/**
 * The CEL condition compiler: source → @bufbuild/cel syntax tree → validated IR (check.ts) →
 * bytecode (emit.ts). Conditions are data: nothing here or in the VM executes user text.
 */
import { parse } from "@bufbuild/cel";
import { checkParsed, type KeySource } from "./check.ts";
import { ConditionError } from "./condition-error.ts";
import { type EmitContext, emitProgram } from "./emit.ts";
import type { IrNode } from "./ir.ts";

export type { KeySource } from "./check.ts";
export { ConditionError } from "./condition-error.ts";
export type { EmitContext } from "./emit.ts";

/** Longest condition source accepted, in characters. */
export const MAX_CONDITION_LENGTH = 16 * 1024;

/**
 * Parses and checks `source` for a policy whose key is `key`.
 * @returns the typed IR (bool).
 * @throws ConditionError with the character offset and reason: syntax errors, anything outside
 *   the subset in docs/conditions.md, type errors.
 */
export function lowerCondition(source: string, key: KeySource = { passway: "query", name: "key" }): IrNode {
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
  return checkParsed(parsed, key);
}

/**
 * Validates a condition at admission without compiling it into a snapshot.
 * @throws ConditionError (see lowerCondition).
 */
export function checkCondition(source: string, key?: KeySource): void {
  const ir = lowerCondition(source, key);
  // Emit into a throw-away context so limits that only emission sees (stack depth) are checked too.
  emitProgram(ir, { attributeSlot: () => 0, internString: (v) => ({ offset: 0, length: v.length }) });
}

/**
 * Compiles `source` to a bytecode program (docs/bytecode.md) for the snapshot being written.
 * @throws ConditionError as lowerCondition, or when the program is too deep for the VM.
 */
export function compileCondition(source: string, key: KeySource, ctx: EmitContext): Uint8Array {
  return emitProgram(lowerCondition(source, key), ctx);
}
