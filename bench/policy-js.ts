/**
 * Approach (d) of `npm run bench:policy` — bench only, never product code: Oceanus rendered each
 * policy's condition with the request's key value into Lua source and ran `load()` per request.
 * This renders the condition's IR to JavaScript source with the key value substituted (quoted,
 * unlike Oceanus' template), for `new Function` per policy per request. JavaScript semantics
 * (doubles, NaN), not CEL's: it simulates the cost, not the answers' exactness.
 */

import type { AttributeRef, IrNode } from "../wasm/cel/ir.ts";
import { parseIpText } from "../wasm/ip-text.ts";
import { murmur3Utf8 } from "../wasm/reference/bucket.ts";
import type { BenchRequest } from "./policy-cases.ts";

const OPS = { eq: "===", ne: "!==", lt: "<", le: "<=", gt: ">", ge: ">=" } as const;

/** JS source for `node`; the key attribute `key` is replaced by the literal `keyValue`. */
export function renderJs(node: IrNode, key: AttributeRef, keyValue: string | undefined): string {
  const r = (n: IrNode) => renderJs(n, key, keyValue);
  switch (node.kind) {
    case "const":
      return node.type === "string" ? JSON.stringify(node.value) : String(node.value);
    case "attr": {
      if (node.attr.source === key.source && node.attr.name === key.name) return JSON.stringify(keyValue ?? null);
      if (node.attr.source === "client") return "req.ip";
      return `req.${node.attr.source}.get(${JSON.stringify(node.attr.name)})`;
    }
    case "has":
      return `req.${node.attr.source}.has(${JSON.stringify(node.attr.name)})`;
    case "request":
      return `req.${node.field}`;
    case "convert":
      return node.type === "string" ? `String(${r(node.arg)})` : `Number(${r(node.arg)})`;
    case "arith": {
      const [a, b] = [r(node.left), r(node.right)];
      if (node.op === "div") return `Math.trunc(${a} / ${b})`;
      return `(${a} ${{ add: "+", sub: "-", mul: "*", mod: "%" }[node.op]} ${b})`;
    }
    case "neg":
      return `(-${r(node.arg)})`;
    case "compare":
      return `(${r(node.left)} ${OPS[node.op]} ${r(node.right)})`;
    case "not":
      return `(!${r(node.arg)})`;
    case "and":
    case "or":
      return `(${r(node.left)} ${node.kind === "and" ? "&&" : "||"} ${r(node.right)})`;
    case "select":
      return `(${r(node.cond)} ? ${r(node.whenTrue)} : ${r(node.whenFalse)})`;
    case "inList":
      return `[${node.values.map((v) => (typeof v.value === "string" ? JSON.stringify(v.value) : String(v.value))).join(", ")}].includes(${r(node.arg)})`;
    case "string":
      return `String(${r(node.receiver)}).${node.op === "contains" ? "includes" : node.op}(${r(node.arg)})`;
    case "size":
      return `[...String(${r(node.arg)})].length`;
    case "matches":
      return `new RegExp(${JSON.stringify(node.pattern)}, "u").test(${r(node.arg)})`;
    case "cidr":
      return `h.cidr(${JSON.stringify(node.cidr.text)}, ${r(node.arg)})`;
    case "bucket":
      return `h.bucket(${r(node.arg)}, ${r(node.n)})`;
    default:
      return "false";
  }
}

/** Helpers the rendered source calls. */
export const JS_HELPERS = {
  bucket: (s: string, n: number) => murmur3Utf8(String(s)) % n,
  cidr: (text: string, ip: string) => {
    const [net, bits] = text.split("/") as [string, string];
    const a = parseIpText(String(ip));
    const b = parseIpText(net);
    if (!a || !b || a.family !== b.family) return false;
    for (let i = 0; i < Number(bits); i++) {
      const m = 0x80 >> (i & 7);
      if (((a.bytes[i >> 3] as number) & m) !== ((b.bytes[i >> 3] as number) & m)) return false;
    }
    return true;
  },
};

/** The request's key value for `key`. */
export function keyValueOf(req: BenchRequest, key: AttributeRef): string | undefined {
  if (key.source === "client") return req.ip;
  if (key.source === "query" || key.source === "header" || key.source === "cookie") return req[key.source].get(key.name);
  return undefined;
}
