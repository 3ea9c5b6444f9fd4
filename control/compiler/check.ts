/**
 * Validates a CEL syntax tree (from @bufbuild/cel's parser, which exports no type checker) and
 * lowers it to the typed IR in ir.ts. Everything outside the supported subset
 * (docs/conditions.md) is refused here with a ConditionError at the offending node's offset.
 * Variables are in check-vars.ts, operators and functions in check-call.ts.
 */

import type { AttributeRef, IrConst, IrNode, IrType } from "../../wasm/cel/ir.ts";
import { INT64_MAX, INT64_MIN, UINT64_MAX } from "../../wasm/cel/values.ts";
import { LIMIT_KEY_PROGRAM_TYPES } from "../../wasm/plugins-section.ts";
import { lowerCall } from "./check-call.ts";
import { type CheckContext, type Expr, makeContext, type ParsedExpr } from "./check-context.ts";
import { lowerIdent, lowerSelect } from "./check-vars.ts";
import { ConditionError } from "./condition-error.ts";

export interface CheckOptions {
  /** Identifiers bound to constants (the conformance runner binds test variables this way). */
  variables?: Readonly<Record<string, IrConst>>;
}

function lower(ctx: CheckContext, e: Expr): IrNode {
  const k = e.exprKind;
  switch (k.case) {
    case "constExpr": {
      const c = k.value.constantKind;
      switch (c.case) {
        case "boolValue":
          return { kind: "const", type: "bool", value: c.value };
        case "int64Value":
          // The parser keeps out-of-range literals as big ints; cel-go refuses them at parse time.
          if (c.value < INT64_MIN || c.value > INT64_MAX) return ctx.refuse(e, `integer literal ${c.value} is outside the int64 range`);
          return { kind: "const", type: "int", value: c.value };
        case "uint64Value":
          if (c.value < 0n || c.value > UINT64_MAX) return ctx.refuse(e, `uint literal ${c.value} is outside the uint64 range`);
          return { kind: "const", type: "uint", value: c.value };
        case "doubleValue":
          return { kind: "const", type: "double", value: c.value };
        case "stringValue":
          return { kind: "const", type: "string", value: c.value };
        default:
          return ctx.refuse(
            e,
            `${c.case === "nullValue" ? "null" : c.case === "bytesValue" ? "bytes" : (c.case ?? "this")} literals are not supported`,
          );
      }
    }
    case "identExpr":
      return lowerIdent(ctx, e, k.value.name);
    case "selectExpr":
      return lowerSelect(ctx, e, k.value.testOnly);
    case "callExpr":
      return lowerCall(ctx, e, k.value.function, k.value.target, k.value.args);
    case "listExpr":
      return ctx.refuse(e, "a list may appear only on the right of 'in'");
    case "structExpr":
      return ctx.refuse(e, "maps and messages are not supported in conditions");
    case "comprehensionExpr":
      return ctx.refuse(e, "macros other than has() are not supported in conditions");
    default:
      return ctx.refuse(e, `${k.case ?? "empty expression"} is not supported in conditions`);
  }
}

/**
 * Lowers `parsed` to IR whose result type is bool.
 * @param key the policy's key attribute, what `key` reads.
 * @throws ConditionError naming the offset and the reason for anything unsupported or ill-typed.
 */
export function checkParsed(parsed: ParsedExpr, key: AttributeRef, options: CheckOptions = {}): IrNode {
  if (!parsed.expr) throw new ConditionError("empty condition", 0);
  const ctx = makeContext(parsed, key, options.variables ?? {}, lower);
  const root = ctx.lower(parsed.expr);
  if (root.type !== "bool") throw new ConditionError(`a condition must be bool, found ${root.type}`, 0);
  return root;
}

/**
 * Lowers `parsed` as a limit key expression: the variables of conditions but `key` and
 * `request.body`, string `+` allowed, result string, int or uint (LIMIT_KEY_PROGRAM_TYPES: a string
 * is the key as it is, an integer its decimal text).
 * @throws ConditionError naming the offset and the reason (a result of another type: offset 0).
 */
export function checkLimitKeyParsed(parsed: ParsedExpr): IrNode {
  if (!parsed.expr) throw new ConditionError("empty expression", 0);
  const root = makeContext(parsed, null, {}, lower).lower(parsed.expr);
  if (!(LIMIT_KEY_PROGRAM_TYPES as readonly IrType[]).includes(root.type))
    throw new ConditionError(`a limit key must be string, int or uint, found ${root.type}`, 0);
  return root;
}

/** As checkParsed, without the bool requirement (the conformance runner checks any expression). */
export function checkExpression(parsed: ParsedExpr, key: AttributeRef, options: CheckOptions = {}): IrNode {
  if (!parsed.expr) throw new ConditionError("empty expression", 0);
  return makeContext(parsed, key, options.variables ?? {}, lower).lower(parsed.expr);
}
