/**
 * The config center's delivery API (docs/config-center.md "Delivery API"), for agent tokens
 * (scoped to their appkeys) and the admin token:
 * - GET /v1/config/fetch: the effective release of each namespace for the calling instance,
 *   with contents; `ETag` is a hash of the releases, `If-None-Match` answers 304;
 * - GET /v1/config/watch: a long poll on `known` (namespace → release id), answered 200 with
 *   what changed as soon as the effective release of one differs, else 304 after `wait` seconds
 *   (± 10 % jitter, so clients do not come back together: Apollo #3592). Held by this replica's
 *   ConfigWatchHub (control/config-center/watch-hub.ts).
 */
import { createHash } from "node:crypto";
import { createRoute, z } from "@hono/zod-openapi";
import { effectiveRelease } from "../config-center/effective.ts";
import type { InstanceIdentity } from "../config-center/gray-rules.ts";
import { loadDelivery, releaseContents } from "../config-center/store.ts";
import { CONFIG_FORMATS, ENVIRONMENTS } from "../db/schema.ts";
import type { ConfigCenterDeps } from "./config-deps.ts";
import { appkeyField, NAME_PATTERN } from "./fields.ts";
import { type ApiApp, BEARER, errors, json } from "./openapi.ts";
import { requireScope } from "./scope.ts";

/** Most namespaces one fetch or watch names. */
export const MAX_DELIVERY_NAMESPACES = 100;
/** Watch hold bounds and default, seconds. */
export const WATCH_WAIT_MIN_S = 1;
export const WATCH_WAIT_MAX_S = 90;
export const WATCH_WAIT_DEFAULT_S = 60;
/** The hold varies by ± this fraction of `wait`. */
export const WATCH_JITTER = 0.1;

const labelValue = z.string().min(1).max(256);
const identityFields = {
  appkey: appkeyField,
  env: z.enum(ENVIRONMENTS),
  instanceId: labelValue.optional(),
  address: labelValue.optional().openapi({ description: "`ip:port` (`[v6]:port`) or a bare IP" }),
  zone: labelValue.optional(),
  cell: labelValue.optional(),
  lane: labelValue.optional(),
  version: labelValue.optional(),
};

/** `a,b` → `["a", "b"]`, each a namespace name. */
const namespaceList = z
  .string()
  .max(8192)
  .transform((text, ctx) => {
    const names = text.split(",").filter((name) => name !== "");
    const bad = names.find((name) => !NAME_PATTERN.test(name));
    if (bad !== undefined) ctx.addIssue({ code: "custom", message: `"${bad}" is not a namespace name` });
    if (names.length > MAX_DELIVERY_NAMESPACES) ctx.addIssue({ code: "custom", message: `at most ${MAX_DELIVERY_NAMESPACES} namespaces` });
    return [...new Set(names)];
  });

/** `a:12,b:0` → namespace → release id. */
const knownList = z
  .string()
  .min(1)
  .max(8192)
  .transform((text, ctx) => {
    const known = new Map<string, number>();
    for (const entry of text.split(",")) {
      const match = /^([^:]+):([0-9]{1,15})$/.exec(entry);
      if (!match || !NAME_PATTERN.test(match[1])) {
        ctx.addIssue({ code: "custom", message: `"${entry}" is not namespace:release` });
        return z.NEVER;
      }
      known.set(match[1], Number(match[2]));
    }
    if (known.size > MAX_DELIVERY_NAMESPACES) ctx.addIssue({ code: "custom", message: `at most ${MAX_DELIVERY_NAMESPACES} namespaces` });
    return known;
  })
  .openapi({ type: "string", example: "application:12,db:0" });

const FetchQuery = z.strictObject({
  ...identityFields,
  namespaces: namespaceList
    .optional()
    .openapi({ type: "string", description: "Comma-separated; default: every namespace", example: "application,db" }),
});
const WatchQuery = z.strictObject({
  ...identityFields,
  known: knownList,
  wait: z.coerce.number().int().min(WATCH_WAIT_MIN_S).max(WATCH_WAIT_MAX_S).default(WATCH_WAIT_DEFAULT_S),
});

const FetchItem = z
  .object({
    namespace: z.string(),
    format: z.enum(CONFIG_FORMATS),
    release: z.number().int(),
    hash: z.string(),
    gray: z.number().int().nullable().openapi({ description: "The gray's id when this instance gets its gray release" }),
    content: z.string(),
  })
  .openapi("ConfigFetchItem");
const FetchAnswer = z.object({ items: z.array(FetchItem) }).openapi("ConfigFetch");
const WatchAnswer = z
  .object({ changed: z.array(z.object({ namespace: z.string(), release: z.number().int().openapi({ description: "0: none" }) })) })
  .openapi("ConfigWatch");

const tags = ["config"];
const fetchRoute = createRoute({
  method: "get",
  path: "/v1/config/fetch",
  tags,
  security: BEARER,
  request: { query: FetchQuery },
  responses: {
    200: json(FetchAnswer, "Each namespace's effective release for this instance (namespaces without a release are left out); ETag"),
    304: { description: "If-None-Match matches the ETag" },
    ...errors(400, 403),
  },
});
const watchRoute = createRoute({
  method: "get",
  path: "/v1/config/watch",
  tags,
  security: BEARER,
  request: { query: WatchQuery },
  responses: {
    200: json(WatchAnswer, "The namespaces of `known` whose effective release differs, with it"),
    304: { description: "Nothing changed within `wait` seconds" },
    ...errors(400, 403),
  },
});

function identityOf(query: InstanceIdentity): InstanceIdentity {
  const { instanceId, address, zone, cell, lane, version } = query;
  return { instanceId, address, zone, cell, lane, version };
}

/** Registers GET /v1/config/fetch and GET /v1/config/watch on `app`. */
export function addConfigDeliveryRoutes(app: ApiApp, deps: ConfigCenterDeps): void {
  app.openapi(fetchRoute, async (c) => {
    const query = c.req.valid("query");
    requireScope(c, query.appkey);
    const who = identityOf(query);
    const state = await loadDelivery(deps.db, query.appkey, query.env, query.namespaces);
    const chosen = [...state.values()]
      .map((ns) => ({ ns, effective: effectiveRelease(ns, who) }))
      .filter((x) => x.effective !== null)
      .sort((x, y) => (x.ns.name < y.ns.name ? -1 : x.ns.name > y.ns.name ? 1 : 0));
    const etag = `"${createHash("sha256")
      .update(chosen.map((x) => `${x.ns.name}:${x.effective?.release}`).join(","))
      .digest("hex")
      .slice(0, 32)}"`;
    c.header("ETag", etag);
    c.header("Cache-Control", "no-cache");
    const ifNoneMatch = c.req.header("if-none-match");
    if (ifNoneMatch?.split(",").some((tag) => tag.trim() === etag)) return c.body(null, 304);
    const contents = await releaseContents(
      deps.db,
      chosen.map((x) => x.effective?.release ?? 0),
    );
    const items = chosen.flatMap(({ ns, effective }) => {
      const release = effective?.release ?? 0;
      const content = contents.get(release);
      // Absent only when the namespace was deleted between the two reads: then it has no release.
      if (content === undefined) return [];
      return [{ namespace: ns.name, format: ns.format, release, hash: effective?.hash ?? "", gray: effective?.gray ?? null, content }];
    });
    return c.json({ items }, 200);
  });

  app.openapi(watchRoute, async (c) => {
    const query = c.req.valid("query");
    requireScope(c, query.appkey);
    const jitter = 1 + (Math.random() * 2 - 1) * WATCH_JITTER;
    const changed = await deps.configWatch.wait({
      appkey: query.appkey,
      env: query.env,
      identity: identityOf(query),
      known: query.known,
      waitMs: Math.round(query.wait * 1000 * jitter),
      signal: c.req.raw.signal,
    });
    if (changed === null) return c.body(null, 304);
    return c.json({ changed }, 200);
  });
}
