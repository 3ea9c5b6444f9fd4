/**
 * The validated, typed intermediate form of a condition: what check.ts makes of the CEL syntax
 * tree and emit.ts turns into bytecode. Every node's static type is known, so the VM needs no
 * type checks beyond the ones CEL makes dynamic (absent attributes, failed int() parses).
 */
import type { Passway } from "../snapshot/model.ts";

export type IrType = "bool" | "int" | "string";

/** A request attribute a condition reads: `key`, `request.query.uid`, `request.header["x-a"]`. */
export interface AttributeRef {
  passway: Passway;
  /** Query/cookie names as written; header names lowercase. */
  name: string;
}

/** Request fields every request has (LOAD_REQ operand). */
export const REQUEST_FIELDS = { method: 0, host: 1, path: 2 } as const;

export type ArithOp = "add" | "sub" | "mul" | "div" | "mod";
export type CompareOp = "eq" | "ne" | "lt" | "le" | "gt" | "ge";
export type StringOp = "startsWith" | "endsWith" | "contains";

export type IrNode =
  | { kind: "const"; type: "bool"; value: boolean }
  | { kind: "const"; type: "int"; value: bigint }
  | { kind: "const"; type: "string"; value: string }
  | { kind: "attr"; type: "string"; attr: AttributeRef }
  | { kind: "has"; type: "bool"; attr: AttributeRef }
  | { kind: "request"; type: "string"; field: number }
  | { kind: "toInt"; type: "int"; arg: IrNode }
  | { kind: "arith"; type: "int"; op: ArithOp; left: IrNode; right: IrNode }
  | { kind: "neg"; type: "int"; arg: IrNode }
  | { kind: "compare"; type: "bool"; op: CompareOp; left: IrNode; right: IrNode }
  | { kind: "not"; type: "bool"; arg: IrNode }
  | { kind: "and" | "or"; type: "bool"; left: IrNode; right: IrNode }
  | { kind: "select"; type: IrType; cond: IrNode; whenTrue: IrNode; whenFalse: IrNode }
  | { kind: "inList"; type: "bool"; arg: IrNode; values: (string | bigint)[] }
  | { kind: "string"; type: "bool"; op: StringOp; receiver: IrNode; arg: IrNode }
  | { kind: "size"; type: "int"; arg: IrNode };
