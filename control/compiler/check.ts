/**
 * Validates a CEL syntax tree (from @bufbuild/cel's parser, which exports no type checker) and
 * lowers it to the typed IR in ir.ts. Everything outside the supported subset
 * (docs/conditions.md) is refused here with a ConditionError at the offending node's offset.
 *
 * Static types follow CEL's checker: `==` across different types, ordering on bools, and string
 * `+` are refused at admission rather than left to fail at run time.
 */
import type { parse } from "@bufbuild/cel";
import type { Passway } from "../snapshot/model.ts";
import { ConditionError } from "./condition-error.ts";
import { type ArithOp, type AttributeRef, type CompareOp, type IrNode, type IrType, REQUEST_FIELDS, type StringOp } from "./ir.ts";

type ParsedExpr = ReturnType<typeof parse>;
type Expr = NonNullable<ParsedExpr["expr"]>;

/** The policy whose condition is being checked: `key` reads `name` from `passway`. */
export interface KeySource {
  passway: Passway;
  name: string;
}

const ARITH: Record<string, ArithOp> = {
  "_+_": "add",
  "_-_": "sub",
  "_*_": "mul",
  "_/_": "div",
  "_%_": "mod",
};
const COMPARE: Record<string, CompareOp> = {
  "_==_": "eq",
  "_!=_": "ne",
  "_<_": "lt",
  "_<=_": "le",
  "_>_": "gt",
  "_>=_": "ge",
};
const STRING_METHODS: Record<string, StringOp> = {
  startsWith: "startsWith",
  endsWith: "endsWith",
  contains: "contains",
};
const MAP_PASSWAYS: Record<string, Passway> = { query: "query", header: "header", cookie: "cookie" };
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Lowers `parsed` to IR whose result type is bool.
 * @throws ConditionError naming the offset and the reason for anything unsupported or ill-typed.
 */
export function checkParsed(parsed: ParsedExpr, key: KeySource): IrNode {
  const positions = parsed.sourceInfo?.positions ?? {};
  const offsetOf = (e: Expr): number => Number(positions[e.id.toString()] ?? 0);
  const refuse = (e: Expr, message: string): never => {
    throw new ConditionError(message, offsetOf(e));
  };
  const expect = (e: Expr, node: IrNode, type: IrType, what: string): IrNode =>
    node.type === type ? node : refuse(e, `${what} must be ${type}, found ${node.type}`);

  const lower = (e: Expr): IrNode => {
    const k = e.exprKind;
    switch (k.case) {
      case "constExpr": {
        const c = k.value.constantKind;
        if (c.case === "boolValue") return { kind: "const", type: "bool", value: c.value };
        if (c.case === "int64Value") {
          // The parser keeps out-of-range literals as big ints; cel-go refuses them at parse time,
          // and emit.ts would otherwise wrap them silently (2^63 → -2^63).
          if (c.value < INT64_MIN || c.value > INT64_MAX) return refuse(e, `integer literal ${c.value} is outside the int64 range`);
          return { kind: "const", type: "int", value: c.value };
        }
        if (c.case === "stringValue") return { kind: "const", type: "string", value: c.value };
        return refuse(e, `${c.case ?? "this"} literals are not supported; use int, string or bool`);
      }
      case "identExpr":
        if (k.value.name === "key") return { kind: "attr", type: "string", attr: { ...key } };
        return refuse(e, `unknown identifier '${k.value.name}'; use key or request.*`);
      case "selectExpr": {
        // The parser expands has(x.f) into a test-only selection.
        if (k.value.testOnly) return { kind: "has", type: "bool", attr: attributeOf(e) };
        const field = requestField(e);
        if (field !== undefined) return { kind: "request", type: "string", field };
        return { kind: "attr", type: "string", attr: attributeOf(e) };
      }
      case "callExpr":
        return lowerCall(e, k.value.function, k.value.target, k.value.args);
      case "listExpr":
        return refuse(e, "a list may appear only on the right of 'in'");
      default:
        return refuse(e, `${k.case ?? "empty expression"} is not supported in conditions`);
    }
  };

  /** `request.method` / `.host` / `.path`, or undefined when `e` is not one of them. */
  const requestField = (e: Expr): number | undefined => {
    if (e.exprKind.case !== "selectExpr") return undefined;
    const { operand, field } = e.exprKind.value;
    if (operand?.exprKind.case !== "identExpr" || operand.exprKind.value.name !== "request") return undefined;
    return Object.hasOwn(REQUEST_FIELDS, field) ? REQUEST_FIELDS[field as keyof typeof REQUEST_FIELDS] : undefined;
  };

  /** `request.query.uid`, `request.header["x-id"]` (header names are case-insensitive). */
  const attributeOf = (e: Expr): AttributeRef => {
    let mapExpr: Expr | undefined;
    let name: string | undefined;
    if (e.exprKind.case === "selectExpr") {
      mapExpr = e.exprKind.value.operand;
      name = e.exprKind.value.field;
    } else if (e.exprKind.case === "callExpr" && e.exprKind.value.function === "_[_]") {
      const [m, index] = e.exprKind.value.args;
      mapExpr = m;
      const c = index?.exprKind.case === "constExpr" ? index.exprKind.value.constantKind : undefined;
      if (c?.case !== "stringValue") return refuse(e, "a request map is indexed by a string literal");
      name = c.value;
    }
    if (mapExpr?.exprKind.case === "selectExpr") {
      const { operand, field } = mapExpr.exprKind.value;
      const passway = Object.hasOwn(MAP_PASSWAYS, field) ? MAP_PASSWAYS[field] : undefined;
      if (operand?.exprKind.case === "identExpr" && operand.exprKind.value.name === "request" && passway && name !== undefined) {
        return { passway, name: passway === "header" ? name.toLowerCase() : name };
      }
    }
    return refuse(e, "unknown field; use request.query, request.header, request.cookie, request.method, request.host or request.path");
  };

  const lowerCall = (e: Expr, fn: string, target: Expr | undefined, args: Expr[]): IrNode => {
    const arg = (i: number) => lower(args[i] as Expr);
    if (fn in ARITH) {
      if (args.length !== 2) return refuse(e, `${fn} takes two operands`);
      const [l, r] = [arg(0), arg(1)];
      if (l.type === "string" && fn === "_+_") return refuse(e, "string concatenation is not supported in conditions");
      return {
        kind: "arith",
        type: "int",
        op: ARITH[fn] as ArithOp,
        left: expect(args[0] as Expr, l, "int", "arithmetic operand"),
        right: expect(args[1] as Expr, r, "int", "arithmetic operand"),
      };
    }
    if (fn in COMPARE) {
      const [l, r] = [arg(0), arg(1)];
      if (l.type !== r.type) return refuse(e, `cannot compare ${l.type} with ${r.type}`);
      const op = COMPARE[fn] as CompareOp;
      if (l.type === "bool" && op !== "eq" && op !== "ne") return refuse(e, "bools support only == and !=");
      return { kind: "compare", type: "bool", op, left: l, right: r };
    }
    switch (fn) {
      case "_&&_":
      case "_||_": {
        const operands = args.map((a) => expect(a, lower(a), "bool", "logical operand"));
        // The parser may flatten a chain of && into one n-ary call; fold it left to right.
        let node = operands[0] as IrNode;
        for (const next of operands.slice(1)) {
          node = { kind: fn === "_&&_" ? "and" : "or", type: "bool", left: node, right: next };
        }
        return node;
      }
      case "!_":
        return { kind: "not", type: "bool", arg: expect(args[0] as Expr, arg(0), "bool", "operand of !") };
      case "-_":
        return { kind: "neg", type: "int", arg: expect(args[0] as Expr, arg(0), "int", "operand of -") };
      case "_?_:_": {
        const cond = expect(args[0] as Expr, arg(0), "bool", "condition of ?:");
        const [a, b] = [arg(1), arg(2)];
        if (a.type !== b.type) return refuse(e, `both branches of ?: must have one type, found ${a.type} and ${b.type}`);
        return { kind: "select", type: a.type, cond, whenTrue: a, whenFalse: b };
      }
      case "@in":
        return lowerIn(e, args);
      case "_[_]":
        return { kind: "attr", type: "string", attr: attributeOf(e) };
      case "int": {
        if (target || args.length !== 1) return refuse(e, "int() takes one argument");
        const a = arg(0);
        if (a.type === "int") return a;
        return { kind: "toInt", type: "int", arg: expect(args[0] as Expr, a, "string", "int() argument") };
      }
      case "size": {
        const subject = target ?? args[0];
        if (!subject || args.length !== (target ? 0 : 1)) return refuse(e, "size() takes one string");
        return { kind: "size", type: "int", arg: expect(subject, lower(subject), "string", "size() argument") };
      }
    }
    if (fn in STRING_METHODS && target && args.length === 1) {
      return {
        kind: "string",
        type: "bool",
        op: STRING_METHODS[fn] as StringOp,
        receiver: expect(target, lower(target), "string", `receiver of ${fn}`),
        arg: expect(args[0] as Expr, arg(0), "string", `argument of ${fn}`),
      };
    }
    return refuse(e, `function '${fn}' is not supported in conditions`);
  };

  /** `x in [c1, c2, …]` with constant elements of x's type. */
  const lowerIn = (e: Expr, args: Expr[]): IrNode => {
    const [subjectExpr, listExpr] = args as [Expr, Expr];
    const subject = lower(subjectExpr);
    if (listExpr.exprKind.case !== "listExpr") return refuse(listExpr, "'in' takes a list literal");
    const values: (string | bigint)[] = [];
    for (const el of listExpr.exprKind.value.elements) {
      const c = lower(el);
      if (c.kind !== "const") return refuse(el, "list elements must be literals");
      if (c.type !== subject.type || c.type === "bool") {
        return refuse(el, `list elements must be ${subject.type === "bool" ? "int or string" : subject.type}`);
      }
      values.push(c.value as string | bigint);
    }
    if (subject.type === "bool") return refuse(e, "'in' needs an int or string on its left");
    return { kind: "inList", type: "bool", arg: subject, values };
  };

  if (!parsed.expr) throw new ConditionError("empty condition", 0);
  const root = lower(parsed.expr);
  if (root.type !== "bool") throw new ConditionError(`a condition must be bool, found ${root.type}`, 0);
  return root;
}
