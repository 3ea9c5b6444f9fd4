/**
 * APISIX key-auth (apisix/plugins/key-auth.lua): the API key is read from header `header`, else
 * from query parameter `query`; the consumer whose key it is becomes the request's consumer.
 * Answers 401 `{"error":"unauthorized","message":"Missing API key in request"}` without a key
 * (unless `anonymous`: then the request goes on without a consumer) and "Invalid API key in
 * request" for a key no consumer has, with APISIX's `WWW-Authenticate: apikey realm="key"`.
 * An empty header value is a key (as in APISIX, where "" is a value) and is invalid.
 * Synchronous once the presented key has been hashed in this isolate (ConsumerDirectory).
 */

import type { ConsumerEntry, KeyAuthPlugin } from "../../../wasm/plugins-section.ts";
import { Source } from "../../../wasm/snapshot-info.ts";
import { type AccessPlugin, type PluginContext, pluginResponse } from "../context.ts";
import type { ConsumerDirectory } from "./consumer-directory.ts";
import { forwardConsumerName, headerRemover, hideQueryParameter, upstreamEdit } from "./upstream-credentials.ts";

/** APISIX's 401 messages. */
export const KEY_AUTH_MISSING = "Missing API key in request";
export const KEY_AUTH_INVALID = "Invalid API key in request";

const CHALLENGE = { "www-authenticate": 'apikey realm="key"' };

/**
 * Builds a route's key-auth from its PLUGINS entry and the snapshot's consumers.
 * `access` sets `c.consumer`, registers X-Consumer-Username (and removes a client-sent one) and,
 * with hideCredentials, removes the header or query parameter the key came from upstream.
 */
export function createKeyAuth(config: KeyAuthPlugin, consumers: ConsumerDirectory): AccessPlugin {
  const header = config.header.toLowerCase();
  const removeHeader = headerRemover(header);

  const accept = (c: PluginContext, consumer: ConsumerEntry | null, fromHeader: boolean): Response | null => {
    if (!consumer) return pluginResponse(401, "unauthorized", KEY_AUTH_INVALID, CHALLENGE);
    c.consumer = consumer;
    if (config.hideCredentials) {
      if (fromHeader) upstreamEdit(c).headers.push(removeHeader);
      else hideQueryParameter(c, config.query);
    }
    return null;
  };

  return {
    access(c) {
      forwardConsumerName(c);
      const fromHeader = c.request.headers.get(header);
      const key = fromHeader ?? c.attributes.attribute(Source.QUERY, config.query);
      if (key === undefined) return config.anonymous ? null : pluginResponse(401, "unauthorized", KEY_AUTH_MISSING, CHALLENGE);
      const found = consumers.findByApiKey(key);
      if (found instanceof Promise) return found.then((consumer) => accept(c, consumer, fromHeader !== null));
      return accept(c, found, fromHeader !== null);
    },
  };
}
