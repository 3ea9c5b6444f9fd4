/**
 * Admission's bound on how deeply a condition nests. The compiler's passes (check, fold, emit)
 * recurse over the syntax tree, so a tree deeper than the JavaScript stack allows would end a
 * request with a stack overflow instead of a 400; this walk is iterative and refuses such a tree
 * first. The bound is cel-go's default parser recursion limit (250), so every condition cel-go
 * accepts nests shallowly enough. Pure.
 */
import type { parse } from "@bufbuild/cel";
import { ConditionError } from "./condition-error.ts";

/** Deepest syntax tree accepted, in nodes from the root (cel-go's default max recursion depth). */
export const MAX_CONDITION_DEPTH = 250;

type ParsedExpr = ReturnType<typeof parse>;
type Expr = NonNullable<ParsedExpr["expr"]>;

/** The direct subexpressions of `expr`, whatever its kind. */
function children(expr: Expr): Expr[] {
  const kind = expr.exprKind;
  switch (kind.case) {
    case "callExpr":
      return kind.value.target ? [kind.value.target, ...kind.value.args] : kind.value.args;
    case "selectExpr":
      return kind.value.operand ? [kind.value.operand] : [];
    case "listExpr":
      return kind.value.elements;
    case "structExpr":
      return kind.value.entries.flatMap((entry) => {
        const key = entry.keyKind.case === "mapKey" ? [entry.keyKind.value] : [];
        return entry.value ? [...key, entry.value] : key;
      });
    case "comprehensionExpr": {
      const c = kind.value;
      return [c.iterRange, c.accuInit, c.loopCondition, c.loopStep, c.result].filter((e): e is Expr => e !== undefined);
    }
    default:
      return [];
  }
}

/**
 * Refuses a parse tree deeper than `maxDepth` nodes.
 * @throws ConditionError at the source offset (characters) of the first node past the bound.
 * @example checkNesting(parse("1 + ".repeat(2000) + "1 == 2")) // throws: nests deeper than 250 levels
 */
export function checkNesting(parsed: ParsedExpr, maxDepth: number = MAX_CONDITION_DEPTH): void {
  if (!parsed.expr) return;
  const stack: [Expr, number][] = [[parsed.expr, 1]];
  while (stack.length > 0) {
    const [expr, depth] = stack.pop() as [Expr, number];
    if (depth > maxDepth) {
      const offset = parsed.sourceInfo?.positions[expr.id.toString()] ?? 0;
      throw new ConditionError(`condition nests deeper than ${maxDepth} levels`, offset);
    }
    for (const child of children(expr)) stack.push([child, depth + 1]);
  }
}
