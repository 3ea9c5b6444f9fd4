/**
 * Operators and functions of the condition subset (docs/conditions.md), with CEL's static
 * typing: both sides of an operator have one type (no mixed int/uint/double arithmetic or
 * comparison), `%` only on integers, unary `-` not on uint.
 */

import type { ArithOp, CompareOp, IrConst, IrNode, IrType } from "../../wasm/cel/ir.ts";
import { ERROR, parseDoubleGo } from "../../wasm/cel/values.ts";
import { type CheckContext, type Expr, stringLiteral } from "./check-context.ts";
import { lowerIndex } from "./check-vars.ts";
import { parseCidrConstant } from "./cidr.ts";
import { foldNode } from "./fold.ts";
import { compileRegex, RegexError } from "./regex/index.ts";

const ARITH: Record<string, ArithOp> = { "_+_": "add", "_-_": "sub", "_*_": "mul", "_/_": "div", "_%_": "mod" };
const COMPARE: Record<string, CompareOp> = { "_==_": "eq", "_!=_": "ne", "_<_": "lt", "_<=_": "le", "_>_": "gt", "_>=_": "ge" };
const STRING_METHODS = ["startsWith", "endsWith", "contains"] as const;
const CONVERSIONS: Record<string, IrType> = { int: "int", uint: "uint", double: "double", string: "string" };
const NUMERIC: IrType[] = ["int", "uint", "double"];

/** Lowers a call of `fn` (an operator like `_+_`, a function, or a method when `target` is set). */
export function lowerCall(ctx: CheckContext, e: Expr, fn: string, target: Expr | undefined, args: Expr[]): IrNode {
  const arg = (i: number) => ctx.lower(args[i] as Expr);
  const arity = (n: number, method = false) => {
    if (args.length !== n || (target !== undefined) !== method) ctx.refuse(e, `${fn}() takes ${n} argument${n === 1 ? "" : "s"}`);
  };
  if (Object.hasOwn(ARITH, fn)) {
    const [l, r] = [arg(0), arg(1)];
    const op = ARITH[fn] as ArithOp;
    if (l.type === "string" && r.type === "string" && op === "add") {
      // The VM has no concatenation; the gateway's evaluator of limit keys (wasm/cel/evaluate.ts) has.
      if (ctx.key === null) return { kind: "concat", type: "string", left: l, right: r };
      return ctx.refuse(e, "string concatenation is not supported in conditions");
    }
    if (l.type !== r.type) return ctx.refuse(e, `arithmetic needs operands of one type, found ${l.type} and ${r.type}`);
    if (!NUMERIC.includes(l.type)) return ctx.refuse(e, `arithmetic operand must be int, uint or double, found ${l.type}`);
    if (l.type === "double" && op === "mod") return ctx.refuse(e, "% is defined on int and uint only");
    return { kind: "arith", type: l.type as "int", op, left: l, right: r };
  }
  if (Object.hasOwn(COMPARE, fn)) {
    const [l, r] = [arg(0), arg(1)];
    if (l.type !== r.type) return ctx.refuse(e, `cannot compare ${l.type} with ${r.type}`);
    return { kind: "compare", type: "bool", op: COMPARE[fn] as CompareOp, left: l, right: r };
  }
  switch (fn) {
    case "_&&_":
    case "_||_": {
      const operands = args.map((a) => ctx.expect(a, ctx.lower(a), "bool", "logical operand"));
      // The parser may flatten a chain of && into one n-ary call; fold it left to right.
      let node = operands[0] as IrNode;
      for (const next of operands.slice(1)) node = { kind: fn === "_&&_" ? "and" : "or", type: "bool", left: node, right: next };
      return node;
    }
    case "!_":
      return { kind: "not", type: "bool", arg: ctx.expect(args[0] as Expr, arg(0), "bool", "operand of !") };
    case "-_": {
      const a = arg(0);
      if (a.type !== "int" && a.type !== "double")
        return ctx.refuse(args[0] as Expr, `operand of - must be int or double, found ${a.type}`);
      return { kind: "neg", type: a.type, arg: a };
    }
    case "_?_:_": {
      const cond = ctx.expect(args[0] as Expr, arg(0), "bool", "condition of ?:");
      const [a, b] = [arg(1), arg(2)];
      if (a.type !== b.type) return ctx.refuse(e, `both branches of ?: must have one type, found ${a.type} and ${b.type}`);
      return { kind: "select", type: a.type, cond, whenTrue: a, whenFalse: b };
    }
    case "@in":
      return lowerIn(ctx, args);
    case "_[_]":
      return lowerIndex(ctx, e, args[0] as Expr, args[1] as Expr);
    case "size": {
      const subject = target ?? args[0];
      if (!subject || args.length !== (target ? 0 : 1)) return ctx.refuse(e, "size() takes one string");
      return { kind: "size", type: "int", arg: ctx.expect(subject, ctx.lower(subject), "string", "size() argument") };
    }
    case "matches":
      return lowerMatches(ctx, e, target ?? args[0], target ? args[0] : args[1], args.length === (target ? 1 : 2));
    case "bucket": {
      arity(2);
      let x = arg(0);
      if (x.type === "int" || x.type === "uint") x = { kind: "convert", type: "string", arg: x };
      x = ctx.expect(args[0] as Expr, x, "string", "bucket() key");
      return { kind: "bucket", type: "int", arg: x, n: ctx.expect(args[1] as Expr, arg(1), "int", "bucket() count") };
    }
    case "cidr":
      return ctx.refuse(e, 'cidr() is used as cidr("10.0.0.0/8").contains(ip)');
  }
  if (Object.hasOwn(CONVERSIONS, fn)) {
    arity(1);
    return lowerConversion(ctx, args[0] as Expr, CONVERSIONS[fn] as IrType, arg(0));
  }
  if ((STRING_METHODS as readonly string[]).includes(fn) && target && args.length === 1) {
    if (fn === "contains" && target.exprKind.case === "callExpr" && target.exprKind.value.function === "cidr") {
      return lowerCidr(ctx, target, args[0] as Expr);
    }
    return {
      kind: "string",
      type: "bool",
      op: fn as (typeof STRING_METHODS)[number],
      receiver: ctx.expect(target, ctx.lower(target), "string", `receiver of ${fn}`),
      arg: ctx.expect(args[0] as Expr, arg(0), "string", `argument of ${fn}`),
    };
  }
  return ctx.refuse(e, `function '${fn}' is not supported in conditions`);
}

/** int(), uint(), double(), string() of a value of any scalar type CEL converts from. */
function lowerConversion(ctx: CheckContext, e: Expr, to: IrType, a: IrNode): IrNode {
  if (a.type === to) return a;
  const from = a.type;
  const ok =
    (to === "int" && from !== "bool") ||
    (to === "uint" && from !== "bool") ||
    (to === "double" && from !== "bool") ||
    (to === "string" && from !== "double");
  if (!ok) return ctx.refuse(e, `${to}() of a ${from} is not supported in conditions`);
  if (to === "double" && from === "string") {
    // Correctly rounded decimal parsing is done once per request by the host for attributes
    // (wasm/go-float.ts); a literal is folded here. Other string expressions are refused.
    const folded = foldNode(a);
    if (folded.kind === "const") {
      // Parsed here, always: the VM has no decimal-to-double conversion.
      const d = parseDoubleGo(folded.value as string);
      return d === ERROR ? { kind: "error", type: "double" } : { kind: "const", type: "double", value: d };
    }
    if (folded.kind !== "attr") return ctx.refuse(e, "double() of a string takes a literal or a request attribute");
    return { kind: "convert", type: "double", arg: folded };
  }
  return { kind: "convert", type: to, arg: a };
}

/** `x in [c1, c2, …]`: elements constant (after folding) and of x's type. */
function lowerIn(ctx: CheckContext, args: Expr[]): IrNode {
  const [subjectExpr, listExpr] = args as [Expr, Expr];
  const subject = ctx.lower(subjectExpr);
  if (listExpr.exprKind.case !== "listExpr") return ctx.refuse(listExpr, "'in' takes a list literal");
  const values: IrConst[] = [];
  for (const el of listExpr.exprKind.value.elements) {
    const c = foldNode(ctx.lower(el));
    if (c.kind !== "const") return ctx.refuse(el, "list elements must be literals");
    if (c.type !== subject.type) return ctx.refuse(el, `list elements must be ${subject.type}, found ${c.type}`);
    values.push({ type: c.type, value: c.value } as IrConst);
  }
  if (listExpr.exprKind.value.optionalIndices.length > 0) return ctx.refuse(listExpr, "optional list elements are not supported");
  return { kind: "inList", type: "bool", arg: subject, values };
}

function lowerMatches(ctx: CheckContext, e: Expr, subject: Expr | undefined, patternExpr: Expr | undefined, arity: boolean): IrNode {
  if (!subject || !patternExpr || !arity) return ctx.refuse(e, "matches() takes a string and a pattern");
  const pattern = stringLiteral(patternExpr);
  if (pattern === undefined)
    return ctx.refuse(patternExpr, "the pattern of matches() must be a string literal (it is compiled in control)");
  const arg = ctx.expect(subject, ctx.lower(subject), "string", "matches() subject");
  try {
    return { kind: "matches", type: "bool", arg, pattern, dfa: compileRegex(pattern) };
  } catch (err) {
    if (err instanceof RegexError) return ctx.refuse(patternExpr, `regular expression ${JSON.stringify(pattern)}: ${err.message}`);
    throw err;
  }
}

function lowerCidr(ctx: CheckContext, call: Expr, ipExpr: Expr): IrNode {
  const args = call.exprKind.case === "callExpr" ? call.exprKind.value.args : [];
  const text = args.length === 1 ? stringLiteral(args[0]) : undefined;
  if (text === undefined || call.exprKind.case !== "callExpr" || call.exprKind.value.target) {
    return ctx.refuse(call, 'cidr() takes one string literal, e.g. cidr("10.0.0.0/8")');
  }
  const cidr = parseCidrConstant(text);
  if (typeof cidr === "string") return ctx.refuse(args[0] as Expr, cidr);
  return { kind: "cidr", type: "bool", cidr, arg: ctx.expect(ipExpr, ctx.lower(ipExpr), "string", "cidr().contains() argument") };
}
