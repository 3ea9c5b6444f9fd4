/**
 * Recognises the condition shapes the VM runs as one fused instruction (docs/bytecode.md,
 * "Fused tests"): an attribute tested against constants. The slot analysis (slots.ts) and the
 * emitter (expr.ts) both use this, so the mode a slot gets always fits the instruction that reads it.
 * Request fields (method, host, path) compared with constants fuse too; they need no slot.
 */
import type { Cidr } from "../../../wasm/cel/cidr.ts";
import type { ArithOp, AttributeRef, CompareOp, IrNode, RequestField, StringOp } from "../../../wasm/cel/ir.ts";
import type { Dfa } from "../regex/dfa.ts";

export type Fused =
  | { k: "eqStr"; attr: AttributeRef; value: string; negate: boolean }
  | { k: "inStrs"; attr: AttributeRef; values: string[] }
  | { k: "strOp"; attr: AttributeRef; op: StringOp; value: string }
  | { k: "intCmp"; attr: AttributeRef; cmp: CompareOp; c: bigint }
  | { k: "intArithCmp"; attr: AttributeRef; op: ArithOp; m: bigint; cmp: CompareOp; c: bigint }
  | { k: "intArithIn"; attr: AttributeRef; op: ArithOp; m: bigint; values: bigint[] }
  | { k: "reqEq"; field: RequestField; value: string; negate: boolean }
  | { k: "reqStarts"; field: RequestField; value: string }
  | { k: "intIn"; attr: AttributeRef; values: bigint[] }
  | { k: "bucketCmp"; attr: AttributeRef; cmp: CompareOp; n: bigint; c: bigint }
  | { k: "cidr"; attr: AttributeRef; cidr: Cidr }
  | { k: "matches"; attr: AttributeRef; pattern: string; dfa: Dfa }
  | { k: "has"; attr: AttributeRef };

/** `c OP x` is `x SWAPPED[OP] c`. */
const SWAPPED: Record<CompareOp, CompareOp> = { eq: "eq", ne: "ne", lt: "gt", le: "ge", gt: "lt", ge: "le" };

const attrOf = (n: IrNode): AttributeRef | undefined => (n.kind === "attr" ? n.attr : undefined);
/** `int(attr)` (also what request.cf.asn lowers to). */
const intAttr = (n: IrNode): AttributeRef | undefined =>
  n.kind === "convert" && n.type === "int" && n.arg.kind === "attr" ? n.arg.attr : undefined;
const intConst = (n: IrNode): bigint | undefined => (n.kind === "const" && n.type === "int" ? n.value : undefined);
const strConst = (n: IrNode): string | undefined => (n.kind === "const" && n.type === "string" ? n.value : undefined);

/** The fused form of `n`, or undefined when it has none. */
export function matchFused(n: IrNode): Fused | undefined {
  switch (n.kind) {
    case "has":
      return { k: "has", attr: n.attr };
    case "compare": {
      const sides: [IrNode, IrNode, CompareOp][] = [
        [n.left, n.right, n.op],
        [n.right, n.left, SWAPPED[n.op]],
      ];
      for (const [x, c, op] of sides) {
        const attr = attrOf(x);
        const s = strConst(c);
        if (attr && s !== undefined && (op === "eq" || op === "ne")) return { k: "eqStr", attr, value: s, negate: op === "ne" };
        if (x.kind === "request" && s !== undefined && (op === "eq" || op === "ne")) {
          return { k: "reqEq", field: x.field, value: s, negate: op === "ne" };
        }
        const k = intConst(c);
        if (k === undefined) continue;
        const ia = intAttr(x);
        if (ia) return { k: "intCmp", attr: ia, cmp: op, c: k };
        if (x.kind === "arith" && x.type === "int") {
          const m = intConst(x.right);
          const ma = intAttr(x.left);
          if (ma && m !== undefined) return { k: "intArithCmp", attr: ma, op: x.op, m, cmp: op, c: k };
        }
        if (x.kind === "bucket") {
          const ba = attrOf(x.arg);
          const m = intConst(x.n);
          if (ba && m !== undefined && m > 0n) return { k: "bucketCmp", attr: ba, cmp: op, n: m, c: k };
        }
      }
      return undefined;
    }
    case "inList": {
      const attr = attrOf(n.arg);
      if (attr && n.arg.type === "string") return { k: "inStrs", attr, values: n.values.map((v) => v.value as string) };
      const ia = intAttr(n.arg);
      if (ia) return { k: "intIn", attr: ia, values: n.values.map((v) => v.value as bigint) };
      if (n.arg.kind === "arith" && n.arg.type === "int") {
        const m = intConst(n.arg.right);
        const ma = intAttr(n.arg.left);
        if (ma && m !== undefined) return { k: "intArithIn", attr: ma, op: n.arg.op, m, values: n.values.map((v) => v.value as bigint) };
      }
      return undefined;
    }
    case "string": {
      const attr = attrOf(n.receiver);
      const s = strConst(n.arg);
      if (s !== undefined && n.receiver.kind === "request" && n.op === "startsWith")
        return { k: "reqStarts", field: n.receiver.field, value: s };
      return attr && s !== undefined ? { k: "strOp", attr, op: n.op, value: s } : undefined;
    }
    case "cidr": {
      const attr = attrOf(n.arg);
      return attr ? { k: "cidr", attr, cidr: n.cidr } : undefined;
    }
    case "matches": {
      const attr = attrOf(n.arg);
      return attr ? { k: "matches", attr, pattern: n.pattern, dfa: n.dfa } : undefined;
    }
    default:
      return undefined;
  }
}
