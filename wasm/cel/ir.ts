/**
 * The validated, typed intermediate form of a CEL expression: what control/compiler/check.ts
 * makes of the CEL syntax tree, control/compiler/fold.ts simplifies, evaluate.ts runs (the
 * TypeScript reference, and the gateway's evaluator of limit key expressions) and
 * control/compiler/emit/ turns into bytecode for policy conditions. Every node's static type is
 * known, so the VM needs no type checks beyond the ones CEL makes dynamic (absent attributes,
 * failed conversions, overflow). Pure types and tree walks.
 */
import type { Dfa } from "../reference/search-dfa.ts";
import type { Cidr } from "./cidr.ts";

/** CEL's scalar types that conditions use (docs/conditions.md, "Types"). */
export type IrType = "bool" | "int" | "uint" | "double" | "string";

/**
 * Where a request attribute comes from. `query`, `header`, `cookie`, `body` are Oceanus'
 * passways; `client` is the client address (`request.ip`); `cf` the Cloudflare request fields;
 * `consumer` the consumer an auth plugin recognised (APISIX consumer: `request.consumer.*`,
 * absent when the request is not authenticated).
 */
export type AttributeSource = "query" | "header" | "cookie" | "body" | "client" | "cf" | "consumer";

/** A request attribute a condition reads: `key`, `request.query.uid`, `request.header["x-a"]`. */
export interface AttributeRef {
  source: AttributeSource;
  /**
   * Query/cookie names as written; header names lowercase; body a dotted path; client `ip`; cf
   * `country`/`colo`/`asn`; consumer `name` or `labels.LABEL`.
   */
  name: string;
}

/** Request fields every request has. */
export type RequestField = "method" | "host" | "path";

/**
 * A constant. ints and uints are bigint (exact to 64 bits), doubles JS numbers, so constants
 * survive serialisation into the snapshot unchanged.
 */
export type IrConst =
  | { type: "bool"; value: boolean }
  | { type: "int"; value: bigint }
  | { type: "uint"; value: bigint }
  | { type: "double"; value: number }
  | { type: "string"; value: string };

export type ArithOp = "add" | "sub" | "mul" | "div" | "mod";
export type CompareOp = "eq" | "ne" | "lt" | "le" | "gt" | "ge";
export type StringOp = "startsWith" | "endsWith" | "contains";

export type IrNode =
  | ({ kind: "const" } & IrConst)
  /** A constant error (folded `1 / 0`) of static type `type`. */
  | { kind: "error"; type: IrType }
  | { kind: "attr"; type: "string"; attr: AttributeRef }
  | { kind: "has"; type: "bool"; attr: AttributeRef }
  | { kind: "request"; type: "string"; field: RequestField }
  | { kind: "convert"; type: IrType; arg: IrNode }
  | { kind: "arith"; type: "int" | "uint" | "double"; op: ArithOp; left: IrNode; right: IrNode }
  | { kind: "neg"; type: "int" | "double"; arg: IrNode }
  | { kind: "compare"; type: "bool"; op: CompareOp; left: IrNode; right: IrNode }
  | { kind: "not"; type: "bool"; arg: IrNode }
  | { kind: "and" | "or"; type: "bool"; left: IrNode; right: IrNode }
  | { kind: "select"; type: IrType; cond: IrNode; whenTrue: IrNode; whenFalse: IrNode }
  | { kind: "inList"; type: "bool"; arg: IrNode; values: IrConst[] }
  | { kind: "string"; type: "bool"; op: StringOp; receiver: IrNode; arg: IrNode }
  | { kind: "size"; type: "int"; arg: IrNode }
  | { kind: "matches"; type: "bool"; arg: IrNode; pattern: string; dfa: Dfa }
  | { kind: "cidr"; type: "bool"; arg: IrNode; cidr: Cidr }
  | { kind: "bucket"; type: "int"; arg: IrNode; n: IrNode }
  /**
   * String `+` (CEL's concatenation). Only limit key expressions may use it: the VM has no
   * concatenation, so the checker refuses it in conditions and emit/ never sees it.
   */
  | { kind: "concat"; type: "string"; left: IrNode; right: IrNode };

/**
 * The fields of each node kind that hold child nodes, in evaluation order: the one description of
 * the tree's shape that walking (forEachChild) and rebuilding (mapChildren) share. The mapped
 * type makes the compiler insist on an entry for every kind.
 */
const CHILD_FIELDS: { readonly [K in IrNode["kind"]]: readonly string[] } = {
  const: [],
  error: [],
  attr: [],
  has: [],
  request: [],
  convert: ["arg"],
  neg: ["arg"],
  not: ["arg"],
  size: ["arg"],
  matches: ["arg"],
  cidr: ["arg"],
  inList: ["arg"],
  bucket: ["arg", "n"],
  arith: ["left", "right"],
  concat: ["left", "right"],
  compare: ["left", "right"],
  and: ["left", "right"],
  or: ["left", "right"],
  string: ["receiver", "arg"],
  select: ["cond", "whenTrue", "whenFalse"],
};

/** Calls `visit` on every direct child of `node`, in evaluation order. */
export function forEachChild(node: IrNode, visit: (child: IrNode) => void): void {
  const fields = node as unknown as Record<string, IrNode>;
  for (const field of CHILD_FIELDS[node.kind]) visit(fields[field] as IrNode);
}

/** A copy of `node` whose direct children are replaced by `map(child)`; leaves come back as they are. */
export function mapChildren(node: IrNode, map: (child: IrNode) => IrNode): IrNode {
  const fields = CHILD_FIELDS[node.kind];
  if (fields.length === 0) return node;
  const copy = { ...node } as unknown as Record<string, IrNode>;
  for (const field of fields) copy[field] = map(copy[field] as IrNode);
  return copy as unknown as IrNode;
}

/** Every attribute `node` reads (for `has()` too), in first-use order, without duplicates. */
export function attributesOf(node: IrNode, out: AttributeRef[] = []): AttributeRef[] {
  if (node.kind === "attr" || node.kind === "has") {
    if (!out.some((a) => a.source === node.attr.source && a.name === node.attr.name)) out.push(node.attr);
    return out;
  }
  forEachChild(node, (child) => attributesOf(child, out));
  return out;
}

/** `source\0name`: a map key for attributes. */
export const attributeKey = (a: AttributeRef): string => `${a.source}\u0000${a.name}`;
