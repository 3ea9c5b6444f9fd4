/**
 * The key a limit counts by (APISIX `key_type` + `key`): the client address, a header, a query
 * parameter, a cookie or the consumer. An absent or empty value falls back to the client address,
 * as APISIX does ("if the value of the key is empty, remote_addr is used").
 */
import { Source } from "../../../wasm/host.ts";
import type { LimitKey } from "../../../wasm/plugins-section.ts";
import type { PluginContext } from "../context.ts";

/**
 * The request's counter key for `key`: the client address as it is (`""` when unknown), or the
 * read value after `=`. The mark keeps a header whose value looks like an address from sharing
 * that address's counter (APISIX would share it: one client could spend another's quota).
 */
export function limitKey(c: PluginContext, key: LimitKey): string {
  let value: string | undefined;
  switch (key.from) {
    case "ip":
      return c.attributes.clientIp() ?? "";
    case "header":
      value = c.attributes.attribute(Source.HEADER, key.name);
      break;
    case "query":
      value = c.attributes.attribute(Source.QUERY, key.name);
      break;
    case "cookie":
      value = c.attributes.attribute(Source.COOKIE, key.name);
      break;
    case "consumer":
      value = c.consumer?.name;
      break;
  }
  return value === undefined || value === "" ? (c.attributes.clientIp() ?? "") : `=${value}`;
}
