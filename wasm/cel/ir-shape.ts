/**
 * Checks that a value read from outside (a snapshot's PLUGINS section, through ir-codec.ts
 * decodeIr) is an IR tree as control/compiler/check.ts builds it: every node of a known kind
 * with the static type the checker gives it, children of the types their parent needs,
 * constants of their type and range, attributes of a known source, automata with consistent
 * tables, prefixes of a family's length. evaluate.ts then runs it without surprises: it trusts
 * the types (a `%` on doubles, a string where a number belongs would compute nonsense, not fail).
 * Pure; O(nodes + automaton tables).
 */
import type { Dfa } from "../reference/search-dfa.ts";
import type { Cidr } from "./cidr.ts";
import type { AttributeRef, AttributeSource, IrConst, IrNode, IrType } from "./ir.ts";

/** A value that is not a well-formed IR tree; the message names where (`program.left.attr.source`). */
export class IrShapeError extends Error {
  override name = "IrShapeError";
}

const TYPES: readonly IrType[] = ["bool", "int", "uint", "double", "string"];
const SOURCES: readonly AttributeSource[] = ["query", "header", "cookie", "body", "client", "cf", "consumer"];
const FIELDS = ["method", "host", "path"] as const;
const ARITH_OPS = ["add", "sub", "mul", "div", "mod"] as const;
const COMPARE_OPS = ["eq", "ne", "lt", "le", "gt", "ge"] as const;
const STRING_OPS = ["startsWith", "endsWith", "contains"] as const;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
/** Largest automaton accepted (control/compiler/regex/dfa.ts refuses more than 4,096 states). */
const MAX_DFA_STATES = 65536;

function fail(at: string, why: string): never {
  throw new IrShapeError(`${at}: ${why}`);
}

function record(v: unknown, at: string): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(at, "not an object");
}

function oneOf<T extends string>(v: unknown, at: string, values: readonly T[]): T {
  return values.includes(v as T) ? (v as T) : fail(at, `${JSON.stringify(v)} is not one of ${values.join(", ")}`);
}

/** Whether `v` is a valid value of constant type `type`. */
function constFits(type: IrType, v: unknown): boolean {
  switch (type) {
    case "bool":
      return typeof v === "boolean";
    case "int":
      return typeof v === "bigint" && v >= INT64_MIN && v <= INT64_MAX;
    case "uint":
      return typeof v === "bigint" && v >= 0n && v <= UINT64_MAX;
    case "double":
      return typeof v === "number";
    case "string":
      return typeof v === "string";
  }
}

function constant(v: unknown, at: string): IrConst {
  const c = record(v, at);
  const type = oneOf(c.type, `${at}.type`, TYPES);
  if (!constFits(type, c.value)) fail(`${at}.value`, `not a ${type} constant`);
  return c as unknown as IrConst;
}

function attribute(v: unknown, at: string): AttributeRef {
  const a = record(v, at);
  oneOf(a.source, `${at}.source`, SOURCES);
  if (typeof a.name !== "string") fail(`${at}.name`, "not a string");
  return a as unknown as AttributeRef;
}

function dfa(v: unknown, at: string): Dfa {
  const d = record(v, at);
  const { stateCount, classCount, classMap, flags, next } = d;
  if (!Number.isInteger(stateCount) || (stateCount as number) < 1 || (stateCount as number) > MAX_DFA_STATES) {
    fail(`${at}.stateCount`, "not an integer in [1, 65536]");
  }
  if (!Number.isInteger(classCount) || (classCount as number) < 1 || (classCount as number) > 256) {
    fail(`${at}.classCount`, "not an integer in [1, 256]");
  }
  const states = stateCount as number;
  const classes = classCount as number;
  if (!(classMap instanceof Uint8Array) || classMap.length !== 256) fail(`${at}.classMap`, "not 256 bytes");
  if (classMap.some((c) => c >= classes)) fail(`${at}.classMap`, "a class beyond classCount");
  if (!(flags instanceof Uint8Array) || flags.length !== states) fail(`${at}.flags`, "not one byte per state");
  if (!(next instanceof Uint16Array) || next.length !== states * classes) fail(`${at}.next`, "not stateCount × classCount entries");
  if (next.some((s) => s >= states)) fail(`${at}.next`, "a target beyond stateCount");
  return d as unknown as Dfa;
}

function cidr(v: unknown, at: string): Cidr {
  const c = record(v, at);
  const family = c.family === 4 || c.family === 6 ? c.family : fail(`${at}.family`, "not 4 or 6");
  if (!Number.isInteger(c.prefix) || (c.prefix as number) < 0 || (c.prefix as number) > (family === 4 ? 32 : 128)) {
    fail(`${at}.prefix`, `not a prefix length of IPv${family}`);
  }
  if (!(c.bytes instanceof Uint8Array) || c.bytes.length !== 16) fail(`${at}.bytes`, "not 16 bytes");
  if (typeof c.text !== "string") fail(`${at}.text`, "not a string");
  return c as unknown as Cidr;
}

/**
 * `value` as an IR tree, after checking it as the module comment says.
 * @param at the name of the value in error messages (e.g. `routes[0].plugins.limit-count.key.program`).
 * @throws IrShapeError naming the first bad field.
 */
export function checkIrShape(value: unknown, at = "ir"): IrNode {
  const n = record(value, at);
  const kind = n.kind;
  const type = oneOf(n.type, `${at}.type`, TYPES);
  /** Child `field`, checked, of static type `want` (any type when omitted). */
  const child = (field: string, want?: IrType): IrNode => {
    const c = checkIrShape(n[field], `${at}.${field}`);
    if (want !== undefined && c.type !== want) fail(`${at}.${field}`, `has type ${c.type}, not ${want}`);
    return c;
  };
  const typed = (...allowed: IrType[]) => {
    if (!allowed.includes(type)) fail(`${at}.type`, `${type} is not a type of ${String(kind)}`);
  };
  switch (kind) {
    case "const":
      if (!constFits(type, n.value)) fail(`${at}.value`, `not a ${type} constant`);
      break;
    case "error":
      break;
    case "attr":
      typed("string");
      attribute(n.attr, `${at}.attr`);
      break;
    case "has":
      typed("bool");
      attribute(n.attr, `${at}.attr`);
      break;
    case "request":
      typed("string");
      oneOf(n.field, `${at}.field`, FIELDS);
      break;
    case "convert":
      child("arg");
      break;
    case "arith": {
      typed("int", "uint", "double");
      const op = oneOf(n.op, `${at}.op`, ARITH_OPS);
      if (op === "mod" && type === "double") fail(`${at}.op`, "% is defined on int and uint only");
      child("left", type);
      child("right", type);
      break;
    }
    case "neg":
      typed("int", "double");
      child("arg", type);
      break;
    case "compare": {
      typed("bool");
      oneOf(n.op, `${at}.op`, COMPARE_OPS);
      const left = child("left");
      child("right", left.type);
      break;
    }
    case "not":
      typed("bool");
      child("arg", "bool");
      break;
    case "and":
    case "or":
      typed("bool");
      child("left", "bool");
      child("right", "bool");
      break;
    case "select":
      child("cond", "bool");
      child("whenTrue", type);
      child("whenFalse", type);
      break;
    case "inList": {
      typed("bool");
      const arg = child("arg");
      if (!Array.isArray(n.values)) fail(`${at}.values`, "not an array");
      n.values.forEach((v, i) => {
        if (constant(v, `${at}.values[${i}]`).type !== arg.type) fail(`${at}.values[${i}]`, `not a ${arg.type}`);
      });
      break;
    }
    case "string":
      typed("bool");
      oneOf(n.op, `${at}.op`, STRING_OPS);
      child("receiver", "string");
      child("arg", "string");
      break;
    case "size":
      typed("int");
      child("arg", "string");
      break;
    case "matches":
      typed("bool");
      child("arg", "string");
      if (typeof n.pattern !== "string") fail(`${at}.pattern`, "not a string");
      dfa(n.dfa, `${at}.dfa`);
      break;
    case "cidr":
      typed("bool");
      child("arg", "string");
      cidr(n.cidr, `${at}.cidr`);
      break;
    case "bucket":
      typed("int");
      child("arg", "string");
      child("n", "int");
      break;
    case "concat":
      typed("string");
      child("left", "string");
      child("right", "string");
      break;
    default:
      fail(`${at}.kind`, `${JSON.stringify(kind)} is not an IR node kind`);
  }
  return n as unknown as IrNode;
}
