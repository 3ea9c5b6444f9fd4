/**
 * The TypeScript reference evaluator: runs checked IR with the same semantics as the VM
 * (docs/conditions.md), for the differential tests, constant folding (control/compiler/fold.ts),
 * the benchmark, and the gateway's limit key expressions (worker/plugins/limits/limit-key.ts).
 * It turns the tree into nested closures once (never JS source: nothing is `eval`ed), then each
 * call walks no tree. Pure.
 *
 * @example
 *   const run = compileEvaluator(lowerCondition('int(key) % 100 < 10', {source: "query", name: "uid"}));
 *   run({ method: "GET", host: "a", path: "/", attribute: (s, n) => (n === "uid" ? "7" : undefined) }); // true
 */
import { parseIpText } from "../ip-text.ts";
import { bucketOf } from "../reference/bucket.ts";
import { runDfa } from "../reference/search-dfa.ts";
import { cidrContainsAddress } from "./cidr.ts";
import type { AttributeSource, IrNode } from "./ir.ts";
import { codePointCount, compareValues, constValue, convert, ERROR, integerArith, intNegate, type Num, type Value } from "./values.ts";

/** A request as the reference sees it: absent attributes are undefined. */
export interface EvalRequest {
  method: string;
  host: string;
  path: string;
  attribute(source: AttributeSource, name: string): string | undefined;
}

export type Evaluator = (req: EvalRequest) => Value;

/** ES2024 String methods (Node 24, workerd); the repo's lib setting is ES2023. */
type WellFormed = { isWellFormed(): boolean; toWellFormed(): string };
/** Lone surrogates become U+FFFD, as TextEncoder encodes them for the VM. */
const wellFormed = (s: string): string => ((s as unknown as WellFormed).isWellFormed() ? s : (s as unknown as WellFormed).toWellFormed());

/** CEL equality of two values of one type: numbers IEEE (NaN ≠ NaN, −0 = 0), the rest by value. */
const equal = (a: Value, b: Value): boolean => a === b;

/** Compiles `node` to a closure computing its CEL value (or ERROR) for a request. */
export function compileEvaluator(node: IrNode): Evaluator {
  switch (node.kind) {
    case "const": {
      const v = constValue(node);
      return () => v;
    }
    case "error":
      return () => ERROR;
    case "attr": {
      const { source, name } = node.attr;
      return (req) => {
        const v = req.attribute(source, name);
        return v === undefined ? ERROR : wellFormed(v);
      };
    }
    case "has": {
      const { source, name } = node.attr;
      return (req) => req.attribute(source, name) !== undefined;
    }
    case "request": {
      const field = node.field;
      return (req) => wellFormed(req[field]);
    }
    case "convert": {
      const arg = compileEvaluator(node.arg);
      const from = node.arg.type;
      const to = node.type;
      return (req) => convert(from, to, arg(req));
    }
    case "arith": {
      const [l, r] = [compileEvaluator(node.left), compileEvaluator(node.right)];
      const { op, type } = node;
      if (type === "double") {
        return (req) => {
          const a = l(req);
          const b = r(req);
          if (a === ERROR || b === ERROR) return ERROR;
          const x = a as number;
          const y = b as number;
          return op === "add" ? x + y : op === "sub" ? x - y : op === "mul" ? x * y : x / y;
        };
      }
      const unsigned = type === "uint";
      return (req) => {
        const a = l(req);
        const b = r(req);
        if (a === ERROR || b === ERROR) return ERROR;
        return integerArith(op, a as Num, b as Num, unsigned);
      };
    }
    case "neg": {
      const arg = compileEvaluator(node.arg);
      const double = node.type === "double";
      return (req) => {
        const v = arg(req);
        if (v === ERROR) return ERROR;
        return double ? -(v as number) : intNegate(v as Num);
      };
    }
    case "compare": {
      const [l, r] = [compileEvaluator(node.left), compileEvaluator(node.right)];
      const type = node.left.type;
      const op = node.op;
      return (req) => {
        const a = l(req);
        const b = r(req);
        if (a === ERROR || b === ERROR) return ERROR;
        if (op === "eq") return equal(a, b);
        if (op === "ne") return !equal(a, b);
        const c = compareValues(type, a, b);
        return op === "lt" ? c < 0 : op === "le" ? c <= 0 : op === "gt" ? c > 0 : c >= 0;
      };
    }
    case "not": {
      const arg = compileEvaluator(node.arg);
      return (req) => {
        const v = arg(req);
        return v === ERROR ? ERROR : !v;
      };
    }
    case "and":
    case "or": {
      // CEL's commutative logic: the absorbing value wins over an error on either side.
      const [l, r] = [compileEvaluator(node.left), compileEvaluator(node.right)];
      const absorbing = node.kind === "or";
      return (req) => {
        const a = l(req);
        if (a === absorbing) return absorbing;
        const b = r(req);
        if (b === absorbing) return absorbing;
        return a === ERROR || b === ERROR ? ERROR : !absorbing;
      };
    }
    case "select": {
      const [c, t, f] = [compileEvaluator(node.cond), compileEvaluator(node.whenTrue), compileEvaluator(node.whenFalse)];
      return (req) => {
        const v = c(req);
        return v === ERROR ? ERROR : v ? t(req) : f(req);
      };
    }
    case "inList": {
      const arg = compileEvaluator(node.arg);
      const values = node.values.map(constValue);
      if (node.arg.type === "double" || node.arg.type === "bool") {
        return (req) => {
          const v = arg(req);
          return v === ERROR ? ERROR : values.some((x) => x === v);
        };
      }
      const set = new Set(values);
      return (req) => {
        const v = arg(req);
        return v === ERROR ? ERROR : set.has(v);
      };
    }
    case "concat": {
      const [l, r] = [compileEvaluator(node.left), compileEvaluator(node.right)];
      return (req) => {
        const a = l(req);
        if (a === ERROR) return ERROR;
        const b = r(req);
        return b === ERROR ? ERROR : (a as string) + (b as string);
      };
    }
    case "string": {
      const [s, t] = [compileEvaluator(node.receiver), compileEvaluator(node.arg)];
      const op = node.op;
      return (req) => {
        const a = s(req);
        const b = t(req);
        if (a === ERROR || b === ERROR) return ERROR;
        const x = a as string;
        const y = b as string;
        return op === "startsWith" ? x.startsWith(y) : op === "endsWith" ? x.endsWith(y) : x.includes(y);
      };
    }
    case "size": {
      const arg = compileEvaluator(node.arg);
      return (req) => {
        const v = arg(req);
        return v === ERROR ? ERROR : codePointCount(v as string);
      };
    }
    case "matches": {
      const arg = compileEvaluator(node.arg);
      const dfa = node.dfa;
      return (req) => {
        const v = arg(req);
        return v === ERROR ? ERROR : runDfa(dfa, v as string);
      };
    }
    case "cidr": {
      const arg = compileEvaluator(node.arg);
      const cidr = node.cidr;
      return (req) => {
        const v = arg(req);
        if (v === ERROR) return ERROR;
        const address = parseIpText(v as string);
        return address ? cidrContainsAddress(cidr, address) : ERROR;
      };
    }
    case "bucket": {
      const [x, n] = [compileEvaluator(node.arg), compileEvaluator(node.n)];
      return (req) => {
        const s = x(req);
        const m = n(req);
        if (s === ERROR || m === ERROR) return ERROR;
        return bucketOf(s as string, m as Num) ?? ERROR;
      };
    }
  }
}
