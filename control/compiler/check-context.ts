/**
 * What the checker's parts share: the parsed expression's types, the offset lookup for error
 * positions, and `lower` for recursion. check.ts creates it; check-vars.ts and check-call.ts use it.
 */
import type { parse } from "@bufbuild/cel";
import type { AttributeRef, IrConst, IrNode, IrType } from "../../wasm/cel/ir.ts";
import { ConditionError } from "./condition-error.ts";

export type ParsedExpr = ReturnType<typeof parse>;
export type Expr = NonNullable<ParsedExpr["expr"]>;

export interface CheckContext {
  /**
   * The policy's key attribute (`key`); null when checking a limit key expression
   * (docs/edge-protection.md), which has no `key` variable, may concatenate strings and may not
   * read `request.body`.
   */
  key: AttributeRef | null;
  /** Extra identifiers bound to constants (the conformance runner's bindings). */
  variables: Readonly<Record<string, IrConst>>;
  lower(e: Expr): IrNode;
  /** @throws ConditionError at `e`'s offset. */
  refuse(e: Expr, message: string): never;
  /** `node` if its type is `type`, else refuses naming `what`. */
  expect(e: Expr, node: IrNode, type: IrType, what: string): IrNode;
}

/** Builds the context over `parsed`; `lower` is supplied by check.ts. */
export function makeContext(
  parsed: ParsedExpr,
  key: AttributeRef | null,
  variables: Readonly<Record<string, IrConst>>,
  lower: (ctx: CheckContext, e: Expr) => IrNode,
): CheckContext {
  const positions = parsed.sourceInfo?.positions ?? {};
  const offsetOf = (e: Expr): number => Number(positions[e.id.toString()] ?? 0);
  const ctx: CheckContext = {
    key,
    variables,
    lower: (e) => lower(ctx, e),
    refuse: (e, message) => {
      throw new ConditionError(message, offsetOf(e));
    },
    expect: (e, node, type, what) => (node.type === type ? node : ctx.refuse(e, `${what} must be ${type}, found ${node.type}`)),
  };
  return ctx;
}

/** The string literal `e` is, or undefined. */
export function stringLiteral(e: Expr | undefined): string | undefined {
  const c = e?.exprKind.case === "constExpr" ? e.exprKind.value.constantKind : undefined;
  return c?.case === "stringValue" ? c.value : undefined;
}
