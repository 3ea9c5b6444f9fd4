/**
 * Constant folding: every subtree that reads nothing from the request is evaluated once, here,
 * by the reference evaluator (so folding has exactly the run-time semantics), and replaced by
 * its value — or by a constant error node when it fails (`1 / 0`). `&&`, `||` and `?:` fold
 * when one side decides the result: `x && false` is false even when x errors (CEL's
 * commutative logic), `true && x` is x.
 */
import { compileEvaluator, type EvalRequest } from "../../wasm/cel/evaluate.ts";
import { forEachChild, type IrNode, mapChildren } from "../../wasm/cel/ir.ts";
import { ERROR, valueConst } from "../../wasm/cel/values.ts";

const NO_REQUEST: EvalRequest = {
  method: "",
  host: "",
  path: "",
  attribute: () => {
    throw new Error("a folded subtree read the request");
  },
};

const isConst = (n: IrNode, value: boolean) => n.kind === "const" && n.type === "bool" && n.value === value;

/** Whether `n` is a value known at compile time (a constant or a constant error). */
const known = (n: IrNode) => n.kind === "const" || n.kind === "error";

/** Folds `node` bottom-up; returns a new tree (the input is not modified). */
export function foldNode(node: IrNode): IrNode {
  const n = mapChildren(node, foldNode);
  if (n.kind === "and" || n.kind === "or") {
    const absorbing = n.kind === "or";
    if (isConst(n.left, absorbing) || isConst(n.right, absorbing)) return { kind: "const", type: "bool", value: absorbing };
    if (isConst(n.left, !absorbing)) return n.right;
    if (isConst(n.right, !absorbing)) return n.left;
  }
  if (n.kind === "select" && known(n.cond)) {
    if (n.cond.kind === "error") return { kind: "error", type: n.type };
    return n.cond.kind === "const" && n.cond.value ? n.whenTrue : n.whenFalse;
  }
  if (n.kind === "const" || n.kind === "error" || n.kind === "attr" || n.kind === "has" || n.kind === "request") return n;
  let allKnown = true;
  forEachChild(n, (c) => {
    if (!known(c)) allKnown = false;
  });
  if (!allKnown) return n;
  const v = compileEvaluator(n)(NO_REQUEST);
  return v === ERROR ? { kind: "error", type: n.type } : { kind: "const", ...valueConst(n.type, v) };
}
