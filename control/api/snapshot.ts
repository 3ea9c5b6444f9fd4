/**
 * GET /v1/snapshot: the current compiled snapshot for gateways, as opaque bytes with a strong
 * ETag, so a poll that finds nothing new costs a 304 and no body.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { type ApiApp, BEARER, errors } from "./openapi.ts";

/** The snapshot as the builder hands it over. */
export interface SnapshotView {
  /** snapshotVersion from the header (docs/snapshot-format.md); monotonic. */
  version: bigint;
  /** Entity tag, quoted or not (`"sha256-…"` / `sha256-…`); sent as a strong ETag. */
  etag: string;
  /** The signed snapshot file. */
  body: Uint8Array;
}

/** Returns the snapshot currently served, or null before the first build. */
export type GetSnapshot = () => SnapshotView | null | Promise<SnapshotView | null>;

/** Media type of the binary snapshot file. */
export const SNAPSHOT_MEDIA_TYPE = "application/vnd.sluice.snapshot";

const getSnapshotRoute = createRoute({
  method: "get",
  path: "/v1/snapshot",
  tags: ["snapshot"],
  security: BEARER,
  description: "Accepts the gateway token or the admin token. Send If-None-Match to poll cheaply.",
  request: { headers: z.object({ "if-none-match": z.string().optional() }) },
  responses: {
    200: {
      description: "The snapshot file",
      content: { [SNAPSHOT_MEDIA_TYPE]: { schema: z.string().openapi({ format: "binary" }) } },
    },
    304: { description: "Unchanged since the ETag sent in If-None-Match" },
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

/** Registers GET /v1/snapshot on `app`. */
export function addSnapshotRoute(app: ApiApp, getSnapshot: GetSnapshot): void {
  app.openapi(getSnapshotRoute, async (c) => {
    const snapshot = await getSnapshot();
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
    if (ifNoneMatchHits(c.req.header("if-none-match"), etag)) {
      return new Response(null, { status: 304, headers });
    }
    // The builder hands over ArrayBuffer-backed bytes; the DOM types also allow shared memory.
    return new Response(snapshot.body as Uint8Array<ArrayBuffer>, {
      status: 200,
      headers: { ...headers, "Content-Type": SNAPSHOT_MEDIA_TYPE },
    });
  });
}
