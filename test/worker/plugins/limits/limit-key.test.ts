/**
 * A limit's key on real requests (worker/plugins/limits/limit-key.ts over RequestAttributes): each
 * kind of LimitKey, and CEL keys lowered by control (lowerLimitKey) and carried as the PLUGINS
 * section carries them (encodeIr, through JSON) — headers, query, cookies, the client address,
 * the consumer's name and labels, concatenation, integer keys in decimal — with the fallback to
 * the client address (counted) when the expression errors or is empty.
 */
import { describe, expect, it } from "vitest";
import { lowerLimitKey } from "../../../../control/compiler/index.ts";
import { encodeIr } from "../../../../wasm/cel/ir-codec.ts";
import type { LimitKey } from "../../../../wasm/plugins-section.ts";
import { limitKeyReader } from "../../../../worker/plugins/limits/limit-key.ts";
import { pluginContext, type TestRequest } from "../plugin-context.ts";

/** A `cel` key as the section carries it. */
const cel = (expression: string): LimitKey => ({ from: "cel", program: JSON.parse(JSON.stringify(encodeIr(lowerLimitKey(expression)))) });

describe("limitKeyReader", () => {
  it.each<[string, LimitKey, TestRequest, string, boolean]>([
    // [case, key, request, counter key, fell back]
    ["ip", { from: "ip" }, { ip: "192.0.2.7" }, "192.0.2.7", false],
    ["header", { from: "header", name: "x-user" }, { headers: { "x-user": "u1" } }, "=u1", false],
    ["header absent", { from: "header", name: "x-user" }, {}, "192.0.2.1", false],
    ["consumer", { from: "consumer" }, { consumer: "alice" }, "=alice", false],
    ["cel: header", cel('request.header["X-Tenant"]'), { headers: { "x-tenant": "acme" } }, "=acme", false],
    ["cel: query", cel("request.query.tenant"), { path: "/orders?tenant=acme&x=1" }, "=acme", false],
    ["cel: cookie", cel("request.cookie.sid"), { headers: { cookie: "a=b; sid=s-9" } }, "=s-9", false],
    ["cel: ip", cel("request.ip"), { ip: "192.0.2.44" }, "=192.0.2.44", false],
    [
      "cel: tenant and address",
      cel('request.header["x-tenant"] + ":" + request.ip'),
      { headers: { "x-tenant": "acme" }, ip: "192.0.2.9" },
      "=acme:192.0.2.9",
      false,
    ],
    [
      "cel: consumer name and label",
      cel('request.consumer.labels.tier + "/" + request.consumer.name'),
      { consumer: "alice", labels: { tier: "gold" } },
      "=gold/alice",
      false,
    ],
    ["cel: request fields", cel('request.method + " " + request.host + request.path'), { path: "/a/b?c=d" }, "=GET gw.test/a/b", false],
    ["cel: int key in decimal", cel("int(request.query.page) * 2"), { path: "/?page=-21" }, "=-42", false],
    ["cel: uint key in decimal", cel("uint(request.query.n) + 18446744073709551614u"), { path: "/?n=1" }, "=18446744073709551615", false],
    ["cel: has() picks a default", cel('has(request.cookie.sid) ? request.cookie.sid : "anonymous"'), {}, "=anonymous", false],
    // Fallbacks: the client address, as APISIX's remote_addr.
    ["cel: header absent", cel('request.header["x-tenant"] + ":" + request.ip'), { ip: "192.0.2.5" }, "192.0.2.5", true],
    ["cel: no consumer", cel("request.consumer.name"), { ip: "192.0.2.6" }, "192.0.2.6", true],
    ["cel: label absent", cel("request.consumer.labels.tier"), { consumer: "bob" }, "192.0.2.1", true],
    ["cel: failed conversion", cel("int(request.query.page)"), { path: "/?page=x" }, "192.0.2.1", true],
    ["cel: overflow", cel("int(request.query.page) * 9223372036854775807"), { path: "/?page=2" }, "192.0.2.1", true],
    ["cel: empty string", cel("request.query.tenant"), { path: "/?tenant=" }, "192.0.2.1", true],
  ])("%s", (_, key, spec, expected, fellBack) => {
    let fallbacks = 0;
    const read = limitKeyReader(key, () => fallbacks++);
    expect(read(pluginContext(spec))).toBe(expected);
    expect(fallbacks).toBe(fellBack ? 1 : 0);
  });

  it("a CEL key never shares a counter with the address equal to its value", () => {
    const read = limitKeyReader(cel("request.header.who"));
    const byHeader = read(pluginContext({ ip: "192.0.2.2", headers: { who: "192.0.2.1" } }));
    const byAddress = read(pluginContext({ ip: "192.0.2.1" }));
    expect(byAddress).toBe("192.0.2.1");
    expect(byHeader).not.toBe(byAddress);
  });
});
