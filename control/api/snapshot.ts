/**
 * GET /v1/snapshot: the current compiled snapshot for gateways, as opaque bytes with a strong
 * ETag, so a poll that finds nothing new costs a 304 and no body.
 *
 * Long poll (a Consul-style blocking query on the version): `?index=<version served>&wait=25s`
 * answers 200 with the snapshot as soon as one newer than `index` exists — at once if it already
 * does — or 304 when `wait` (plus up to 1/16 jitter) ends first. A gateway that sends
 * `Sluice-Gateway: <isolate id>` with `index` reports the version it serves and whether it holds
 * a poll (control/propagation/tracker.ts); that is how control knows a change reached it.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { GATEWAY_ID_PATTERN, type GatewayTracker } from "../propagation/tracker.ts";
import type { SnapshotView } from "../snapshot/builder.ts";
import { indexField, waitField } from "./fields.ts";
import { type ApiApp, BEARER, errors } from "./openapi.ts";

/** Returns the snapshot currently served, or null before the first build. */
export type GetSnapshot = () => SnapshotView | null | Promise<SnapshotView | null>;

/** Resolves with a snapshot newer than `index` as soon as one exists, or null after `waitMs`. */
export type WaitForSnapshot = (index: bigint, waitMs: number, signal: AbortSignal) => Promise<SnapshotView | null>;

/** Header in which a gateway isolate names itself. */
export const GATEWAY_ID_HEADER = "sluice-gateway";

/** Media type of the binary snapshot file. */
export const SNAPSHOT_MEDIA_TYPE = "application/vnd.sluice.snapshot";

const getSnapshotRoute = createRoute({
  method: "get",
  path: "/v1/snapshot",
  tags: ["snapshot"],
  security: BEARER,
  description:
    "Accepts the gateway token or the admin token. Send If-None-Match to poll cheaply, or index + wait to long-poll " +
    "(Sluice-Gateway: <isolate id> reports what the gateway serves).",
  request: {
    headers: z.object({ "if-none-match": z.string().optional(), [GATEWAY_ID_HEADER]: z.string().optional() }),
    query: z.strictObject({
      index: indexField.optional().openapi({ description: "The version the caller serves" }),
      wait: waitField.optional().openapi({ description: "Hold up to this long for a newer version (needs index)" }),
    }),
  },
  responses: {
    200: {
      description: "The snapshot file",
      content: { [SNAPSHOT_MEDIA_TYPE]: { schema: z.string().openapi({ format: "binary" }) } },
    },
    304: { description: "Unchanged since the ETag sent in If-None-Match, or nothing newer than index within wait" },
    ...errors(503),
  },
});

/** `abc` → `"abc"`; an already quoted tag is kept. */
export function strongEtag(tag: string): string {
  return tag.startsWith('"') ? tag : `"${tag}"`;
}

/**
 * True when an If-None-Match value lists `etag` (or is `*`). RFC 9110 §13.1.2: If-None-Match
 * uses the weak comparison, so a `W/` prefix is ignored.
 */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((candidate) => {
    const tag = candidate.trim();
    return tag === "*" || tag.replace(/^W\//, "") === etag;
  });
}

/** Registers GET /v1/snapshot on `app`; without `waitForSnapshot` a `wait` does not block. */
export function addSnapshotRoute(
  app: ApiApp,
  getSnapshot: GetSnapshot,
  options: {
    waitForSnapshot?: WaitForSnapshot;
    tracker?: GatewayTracker;
    /** Called when a gateway isolate reports (Sluice-Gateway + index) that it serves `version` (0: none yet). */
    onServedReport?: (gatewayId: string, version: number) => void;
  } = {},
): void {
  app.openapi(getSnapshotRoute, async (c) => {
    const { index, wait } = c.req.valid("query");
    const idHeader = c.req.header(GATEWAY_ID_HEADER);
    const gatewayId = idHeader && GATEWAY_ID_PATTERN.test(idHeader) ? idHeader : null;
    let snapshot: SnapshotView | null = null;
    if (index !== undefined && gatewayId) options.onServedReport?.(gatewayId, index);
    if (index !== undefined && wait !== undefined && wait > 0 && options.waitForSnapshot) {
      const waitMs = wait + Math.floor(Math.random() * (wait / 16));
      if (gatewayId) options.tracker?.pollStarted(gatewayId, index, waitMs);
      try {
        snapshot = await options.waitForSnapshot(BigInt(index), waitMs, c.req.raw.signal);
      } finally {
        if (gatewayId) options.tracker?.pollEnded(gatewayId, index);
      }
    } else if (index !== undefined && gatewayId) {
      options.tracker?.pollEnded(gatewayId, index);
    }
    snapshot ??= await getSnapshot();
    if (!snapshot) {
      c.header("Retry-After", "1");
      return c.json({ error: "snapshot_unavailable", message: "no snapshot has been built yet" }, 503);
    }
    const etag = strongEtag(snapshot.etag);
    const headers = {
      ETag: etag,
      "Cache-Control": "no-cache",
      "Sluice-Snapshot-Version": snapshot.version.toString(),
    };
    const unchanged = index !== undefined ? snapshot.version <= BigInt(index) : ifNoneMatchHits(c.req.header("if-none-match"), etag);
    if (unchanged) return new Response(null, { status: 304, headers });
    // The builder hands over ArrayBuffer-backed bytes; the DOM types also allow shared memory.
    return new Response(snapshot.body as Uint8Array<ArrayBuffer>, {
      status: 200,
      headers: { ...headers, "Content-Type": SNAPSHOT_MEDIA_TYPE },
    });
  });
}
