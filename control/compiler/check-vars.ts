/**
 * The variables a condition may read (docs/conditions.md, "Variables"): `key`,
 * `request.query|header|cookie.NAME` (or `["NAME"]`), `request.body.a.b` (or `["a.b"]`, a
 * dotted path into a JSON or form body), `request.ip`, `request.cf.country|colo|asn`,
 * `request.consumer.name` and `request.consumer.labels.NAME` (or `labels["NAME"]`; the APISIX
 * consumer an auth plugin recognised, absent when none did), and `request.method|host|path`.
 * Header names are case-insensitive and stored lowercase.
 */

import type { AttributeRef, AttributeSource, IrNode, RequestField } from "../../wasm/cel/ir.ts";
import { type CheckContext, type Expr, stringLiteral } from "./check-context.ts";

const MAPS: Record<string, AttributeSource> = {
  query: "query",
  header: "header",
  cookie: "cookie",
  body: "body",
  cf: "cf",
  consumer: "consumer",
};
const FIELDS: Record<string, RequestField> = { method: "method", host: "host", path: "path" };
const CF_FIELDS = ["country", "colo", "asn"];
const VARIABLES =
  "request.query, request.header, request.cookie, request.body, request.ip, request.cf, request.consumer, request.method, request.host or request.path";
/** The variables the expression may read: a limit key (ctx.key null) has no `key` and no `request.body`. */
const hint = (ctx: CheckContext): string => (ctx.key === null ? `use ${VARIABLES.replace("request.body, ", "")}` : `use key, ${VARIABLES}`);
const CONSUMER_FIELDS = 'request.consumer has the fields name and labels.NAME (labels["NAME"])';

/** The consumer attribute `rest` names (["name"] → `name`, ["labels", "tier"] → `labels.tier`), or undefined. */
function consumerName(rest: string[]): string | undefined {
  if (rest.length === 1 && rest[0] === "name") return "name";
  if (rest.length === 2 && rest[0] === "labels") return `labels.${rest[1]}`;
  return undefined;
}

/** The path of selections under `request` (`request.body.user.id` → ["body", "user", "id"]), or undefined. */
function requestPath(e: Expr): string[] | undefined {
  const path: string[] = [];
  let at: Expr | undefined = e;
  while (at?.exprKind.case === "selectExpr") {
    path.unshift(at.exprKind.value.field);
    at = at.exprKind.value.operand;
  }
  return at?.exprKind.case === "identExpr" && at.exprKind.value.name === "request" ? path : undefined;
}

/** The attribute a select or index expression names, with its value type. */
function attribute(ctx: CheckContext, e: Expr, path: string[]): { attr: AttributeRef; asn: boolean } {
  const [map, ...rest] = path;
  const source = map !== undefined && Object.hasOwn(MAPS, map) ? MAPS[map] : undefined;
  if (source === "consumer") {
    const name = consumerName(rest);
    return name === undefined ? ctx.refuse(e, CONSUMER_FIELDS) : { attr: { source, name }, asn: false };
  }
  if (source === undefined || rest.length === 0) return ctx.refuse(e, `unknown field; ${hint(ctx)}`);
  // The gateway reads a body only for the policies that need it, and the limits run before them.
  if (source === "body" && ctx.key === null) return ctx.refuse(e, "a limit key cannot read request.body");
  if (source !== "body" && rest.length > 1) return ctx.refuse(e, `request.${source} has no nested fields`);
  const name = rest.join(".");
  if (source === "cf" && !CF_FIELDS.includes(name)) return ctx.refuse(e, "request.cf has the fields country, colo and asn");
  return { attr: { source, name: source === "header" ? name.toLowerCase() : name }, asn: source === "cf" && name === "asn" };
}

/** The node reading attribute `a` (request.cf.asn is an int). */
function read(a: { attr: AttributeRef; asn: boolean }): IrNode {
  const node: IrNode = { kind: "attr", type: "string", attr: a.attr };
  return a.asn ? { kind: "convert", type: "int", arg: node } : node;
}

/** Lowers an identifier: `key` or a bound variable. */
export function lowerIdent(ctx: CheckContext, e: Expr, name: string): IrNode {
  if (name === "key") {
    if (ctx.key === null)
      return ctx.refuse(e, `a limit key has no 'key' variable; read the attribute itself, e.g. request.header["x-tenant"]`);
    return { kind: "attr", type: "string", attr: { ...ctx.key } };
  }
  if (Object.hasOwn(ctx.variables, name)) return { kind: "const", ...(ctx.variables[name] as NonNullable<(typeof ctx.variables)[string]>) };
  if (name === "request") return ctx.refuse(e, `request is not a value; ${hint(ctx)}`);
  return ctx.refuse(e, `unknown identifier '${name}'; ${hint(ctx)}`);
}

/** Lowers `a.b` and `has(a.b)`. */
export function lowerSelect(ctx: CheckContext, e: Expr, testOnly: boolean): IrNode {
  const path = requestPath(e);
  if (!path) return ctx.refuse(e, `unknown field; ${hint(ctx)}`);
  const [first] = path;
  if (path.length === 1 && first !== undefined && Object.hasOwn(FIELDS, first)) {
    if (testOnly) return { kind: "const", type: "bool", value: true }; // always present
    return { kind: "request", type: "string", field: FIELDS[first] as RequestField };
  }
  if (path.length === 1 && first === "ip") {
    const attr: AttributeRef = { source: "client", name: "ip" };
    return testOnly ? { kind: "has", type: "bool", attr } : { kind: "attr", type: "string", attr };
  }
  const a = attribute(ctx, e, path);
  return testOnly ? { kind: "has", type: "bool", attr: a.attr } : read(a);
}

/** Lowers `request.MAP["NAME"]` (and `request.consumer.labels["NAME"]`). */
export function lowerIndex(ctx: CheckContext, e: Expr, map: Expr, index: Expr): IrNode {
  const path = requestPath(map);
  const name = stringLiteral(index);
  const labels = path?.length === 2 && path[0] === "consumer" && path[1] === "labels";
  if (path?.length !== 1 && !labels) return ctx.refuse(e, `unknown field; ${hint(ctx)}`);
  if (name === undefined) return ctx.refuse(index, "a request map is indexed by a string literal");
  return read(attribute(ctx, e, [...(path as string[]), name]));
}
