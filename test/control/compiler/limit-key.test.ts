/**
 * Limit key expressions (control/compiler lowerLimitKey; docs/edge-protection.md "How the limits
 * count"): the condition language's variables but `key` and `request.body`, string `+`, a result
 * of type string, int or uint — lowered, folded, and run by the reference evaluator the gateway
 * uses (wasm/cel/evaluate.ts). Everything else is refused with the reason and its offset.
 * Conditions keep refusing concatenation (the VM has none).
 */
import { describe, expect, it } from "vitest";
import { ConditionError, checkCondition, keyAttribute, lowerLimitKey } from "../../../control/compiler/index.ts";
import { compileEvaluator, type EvalRequest } from "../../../wasm/cel/evaluate.ts";
import { ERROR, type Value } from "../../../wasm/cel/values.ts";

/** A request whose attributes are `source:name` → value. */
const req = (attrs: Record<string, string>, fields: Partial<Pick<EvalRequest, "method" | "host" | "path">> = {}): EvalRequest => ({
  method: fields.method ?? "GET",
  host: fields.host ?? "api.test",
  path: fields.path ?? "/orders",
  attribute: (source, name) => attrs[`${source}:${name}`],
});

describe("lowerLimitKey", () => {
  it.each<[string, string, Record<string, string>, Value]>([
    // [expression, result type, attributes, value]
    ['request.header["x-tenant"]', "string", { "header:x-tenant": "acme" }, "acme"],
    ['request.header["X-Tenant"]', "string", { "header:x-tenant": "acme" }, "acme"],
    ['request.header["x-tenant"] + ":" + request.ip', "string", { "header:x-tenant": "acme", "client:ip": "192.0.2.1" }, "acme:192.0.2.1"],
    ['request.header["x-tenant"] + ":" + request.ip', "string", { "client:ip": "192.0.2.1" }, ERROR],
    [
      "request.consumer.labels.tier + '/' + request.consumer.name",
      "string",
      { "consumer:labels.tier": "gold", "consumer:name": "al" },
      "gold/al",
    ],
    ["int(request.query.page)", "int", { "query:page": "42" }, 42],
    ["int(request.query.page)", "int", { "query:page": "x" }, ERROR],
    ["uint(request.cookie.shard) % 4u", "uint", { "cookie:shard": "10" }, 2],
    ["bucket(request.ip, 16)", "int", { "client:ip": "192.0.2.1" }, expect.any(Number)],
    ['request.method + " " + request.host + request.path', "string", {}, "GET api.test/orders"],
    ['has(request.cookie.tenant) ? request.cookie.tenant : "anonymous"', "string", {}, "anonymous"],
    ['has(request.cookie.tenant) ? request.cookie.tenant : "anonymous"', "string", { "cookie:tenant": "acme" }, "acme"],
    ["string(request.cf.asn)", "string", { "cf:asn": "13335" }, "13335"],
    ['"a" + "b"', "string", {}, "ab"],
  ])("%s → %s", (source, type, attrs, value) => {
    const ir = lowerLimitKey(source);
    expect(ir.type).toBe(type);
    expect(compileEvaluator(ir)(req(attrs))).toEqual(value);
  });

  it("folds what reads nothing from the request, as conditions are folded", () => {
    expect(lowerLimitKey('"tenant-" + string(6 * 7)')).toEqual({ kind: "const", type: "string", value: "tenant-42" });
  });

  it.each<[string, RegExp, number]>([
    // [expression, message, offset]
    ['request.header["x-a"] == "b"', /must be string, int or uint, found bool/, 0],
    ['request.header["x-a"].startsWith("b")', /found bool/, 0],
    ["double(request.query.x)", /found double/, 0],
    ["[1, 2]", /a list may appear only on the right of 'in'/, 0],
    ['{"a": 1}', /maps and messages are not supported/, 0],
    ['request.header["x-a"] +', /^syntax error/, 22],
    ["request.tenant", /unknown field; use request\.query/, 7],
    ["tenant", /unknown identifier 'tenant'/, 0],
    ["key", /a limit key has no 'key' variable/, 0],
    ["request.body.user", /a limit key cannot read request\.body/, 12],
    ['request.header["x-a"] + 1', /arithmetic needs operands of one type, found string and int/, 21],
  ])("refuses %s: %s at %d", (source, message, position) => {
    let error: unknown;
    try {
      lowerLimitKey(source);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConditionError);
    expect((error as ConditionError).message).toMatch(message);
    expect((error as ConditionError).position).toBe(position);
  });

  it("leaves conditions as they were: no concatenation, `key` and the body readable", () => {
    expect(() => checkCondition('key + "x" == "ax"', keyAttribute("header", "x-a"))).toThrow(/string concatenation is not supported/);
    expect(() => checkCondition('key == "a" && request.body.user == "b"', keyAttribute("header", "x-a"))).not.toThrow();
  });
});
