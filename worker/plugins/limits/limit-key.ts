/**
 * The key a limit counts by (APISIX `key_type` + `key`): the client address, a header, a query
 * parameter, a cookie, the consumer, or a CEL expression over the request attributes. An absent
 * or empty value — or an expression that errors — falls back to the client address, as APISIX
 * does ("if the value of the key is empty, remote_addr is used").
 */
import { compileEvaluator, type EvalRequest } from "../../../wasm/cel/evaluate.ts";
import type { AttributeSource } from "../../../wasm/cel/ir.ts";
import { decodeIr } from "../../../wasm/cel/ir-codec.ts";
import { ERROR } from "../../../wasm/cel/values.ts";
import { Source } from "../../../wasm/host.ts";
import type { LimitKey } from "../../../wasm/plugins-section.ts";
import { consumerAttribute } from "../../request-attributes.ts";
import type { PluginContext } from "../context.ts";

/** The request's counter key, as limitKeyReader builds it for one plugin. */
export type LimitKeyReader = (c: PluginContext) => string;

/** The IR's attribute sources as RequestAttributes numbers them (wasm/snapshot-info.ts Source). */
const SOURCE_CODES: Record<AttributeSource, number> = {
  query: Source.QUERY,
  header: Source.HEADER,
  cookie: Source.COOKIE,
  body: Source.BODY,
  client: Source.CLIENT,
  cf: Source.CF,
  consumer: Source.CONSUMER,
};

/** The client address as a key (`""` when unknown). */
const clientKey = (c: PluginContext): string => c.attributes.clientIp() ?? "";

/**
 * A read value as a key: the value after `=`, or the client address when it is absent or empty.
 * The mark keeps a value that looks like an address from sharing that address's counter (APISIX
 * would share it: one client could spend another's quota).
 */
const valueKey = (c: PluginContext, value: string | undefined): string =>
  value === undefined || value === "" ? clientKey(c) : `=${value}`;

/**
 * What a CEL key sees of the request (wasm/cel/evaluate.ts EvalRequest): the routing attributes,
 * with the consumer the auth plugins recognised (the limits run after them; RequestAttributes
 * gets it only once the plugins are done).
 */
function evalRequest(c: PluginContext): EvalRequest {
  const { attributes } = c;
  return {
    method: attributes.method,
    host: attributes.host,
    path: attributes.path,
    attribute: (source, name) =>
      source === "consumer" ? consumerAttribute(c.consumer, name) : attributes.attribute(SOURCE_CODES[source], name),
  };
}

/**
 * The key reader of one limit plugin, built once per snapshot: for `cel` the program is decoded
 * and compiled to closures here (decodePluginsSection already checked it), so a request costs
 * one evaluation. A string result is the key, an int or uint its decimal text, both marked as
 * read values; an error (an absent attribute, a failed conversion) or an empty string falls back
 * to the client address and calls `onFallback` (LimitStats.keyFallbacks).
 * @throws IrShapeError when the program is not one decodePluginsSection accepts.
 */
export function limitKeyReader(key: LimitKey, onFallback: () => void = () => {}): LimitKeyReader {
  switch (key.from) {
    case "ip":
      return clientKey;
    case "header":
    case "query":
    case "cookie": {
      const source = SOURCE_CODES[key.from];
      const name = key.name;
      return (c) => valueKey(c, c.attributes.attribute(source, name));
    }
    case "consumer":
      return (c) => valueKey(c, c.consumer?.name);
    case "cel": {
      const run = compileEvaluator(decodeIr(key.program, "program"));
      return (c) => {
        const value = run(evalRequest(c));
        if (value === ERROR || value === "") {
          onFallback();
          return clientKey(c);
        }
        return `=${typeof value === "string" ? value : String(value)}`;
      };
    }
  }
}
