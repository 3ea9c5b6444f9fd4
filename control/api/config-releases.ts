/**
 * Releases of a config namespace (docs/config-center.md "REST API"): publish the draft, list and
 * read releases, roll back to an older one. Publishing main while a gray is active is refused
 * (409 `gray_active`) unless the request says `gray: "rebase"` (Apollo #1677: a full release
 * never silently drops a gray): the gray's base becomes the new release, a `properties` gray's own
 * changes are re-applied on it (control/config-center/properties-rebase.ts) and, when the gray
 * was published, its rebased content is published as a new gray release in the same transaction.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, lt } from "drizzle-orm";
import type { RevisionRecord } from "../config/write.ts";
import { runWrite } from "../config/write.ts";
import type { ConfigFormat } from "../config-center/formats.ts";
import { rebaseProperties } from "../config-center/properties-rebase.ts";
import {
  activeGray,
  contentHash,
  insertRelease,
  type NamespaceKey,
  type NamespaceRow,
  namespaceId,
  type ReleaseKind,
  type ReleaseRow,
  requireNamespace,
  requireRelease,
  toGrayDto,
  toReleaseDto,
} from "../config-center/store.ts";
import type { Transaction } from "../db/connect.ts";
import { configGrays, configNamespaces, configReleases } from "../db/schema.ts";
import { admitContent, admitSchema } from "./config-admission.ts";
import { type ConfigCenterDeps, wakeWatches } from "./config-deps.ts";
import { NamespaceParams, PublishBody, ReleaseParams, ReleaseSchema, RollbackBody } from "./config-fields.ts";
import { ApiError } from "./errors.ts";
import { type ApiApp, BEARER, errors, json, jsonBody, listOf } from "./openapi.ts";

const tags = ["config"];
const NAMESPACE_PATH = "/v1/config/namespaces/{appkey}/{env}/{name}";
/** Most releases one list answers. */
export const MAX_RELEASE_LIST = 200;

const publish = createRoute({
  method: "post",
  path: `${NAMESPACE_PATH}/releases`,
  tags,
  security: BEARER,
  request: { params: NamespaceParams, ...jsonBody(PublishBody) },
  responses: {
    201: json(ReleaseSchema, "The new main release (kind main)"),
    ...errors(400, 404, 409),
  },
});
const listReleases = createRoute({
  method: "get",
  path: `${NAMESPACE_PATH}/releases`,
  tags,
  security: BEARER,
  request: {
    params: NamespaceParams,
    query: z.strictObject({
      limit: z.coerce.number().int().min(1).max(MAX_RELEASE_LIST).default(50),
      before: z.coerce.number().int().positive().optional().openapi({ description: "Only releases with a smaller id (paging)" }),
    }),
  },
  responses: { 200: json(listOf(ReleaseSchema), "Releases newest first, without content"), ...errors(400, 404) },
});
const getRelease = createRoute({
  method: "get",
  path: `${NAMESPACE_PATH}/releases/{id}`,
  tags,
  security: BEARER,
  request: { params: ReleaseParams },
  responses: { 200: json(ReleaseSchema, "The release with its content"), ...errors(400, 404) },
});
const rollback = createRoute({
  method: "post",
  path: `${NAMESPACE_PATH}/rollback`,
  tags,
  security: BEARER,
  request: { params: NamespaceParams, ...jsonBody(RollbackBody) },
  responses: { 201: json(ReleaseSchema, "A new main release (kind rollback) with the older release's content"), ...errors(400, 404, 409) },
});

/** 409 with a stable `error` code (`gray_active`, `nothing_to_release`, `gray_not_released`). */
export function refused(error: string, message: string): ApiError {
  return new ApiError(409, { error, message });
}

/**
 * Publishes `content` as the namespace's main release, in `tx`, applying the #1677 rule to an
 * active gray other than `exceptGray` (the one being merged).
 * @returns the release and the revisions to record (the release; the gray's rebase).
 * @throws ApiError 409 gray_active when a gray is active and `grayPolicy` is not `rebase`.
 */
export async function publishMain(
  tx: Transaction,
  deps: ConfigCenterDeps,
  key: NamespaceKey,
  namespace: NamespaceRow,
  release: { kind: ReleaseKind; content: string; author: string; comment: string; grayId?: number | null },
  grayPolicy: "refuse" | "rebase" | undefined,
  exceptGray?: number,
): Promise<{ release: ReleaseRow; revisions: RevisionRecord[] }> {
  const gray = await activeGray(tx, namespace.id);
  const revisions: RevisionRecord[] = [];
  const rebasing = gray && gray.id !== exceptGray;
  if (rebasing && grayPolicy !== "rebase") {
    throw refused(
      "gray_active",
      `gray ${gray.id} is active on this namespace: merge or abandon it first, or publish with "gray": "rebase" to rebase it onto the new release`,
    );
  }
  const row = await insertRelease(tx, key, { namespaceId: namespace.id, ...release }, deps.origin);
  await tx.update(configNamespaces).set({ currentReleaseId: row.id, updatedAt: new Date() }).where(eq(configNamespaces.id, namespace.id));
  const rebase: Record<string, unknown> = {};
  if (rebasing) {
    const oldBase = gray.baseReleaseId === null ? "" : (await requireRelease(tx, namespace.id, gray.baseReleaseId)).content;
    const format = namespace.format as ConfigFormat;
    // Other formats have no keys to re-apply: the gray keeps its content (documented).
    const content = format === "properties" ? rebaseProperties(oldBase, gray.draft, row.content) : gray.draft;
    admitContent(format, content, admitSchema(format, namespace.schema), "gray.content");
    let latest = gray.latestReleaseId;
    if (latest !== null) {
      const published = await tx.select({ hash: configReleases.hash }).from(configReleases).where(eq(configReleases.id, latest));
      if (published[0]?.hash !== contentHash(content)) {
        const grayRelease = await insertRelease(
          tx,
          key,
          {
            namespaceId: namespace.id,
            kind: "gray",
            content,
            author: release.author,
            comment: `rebase onto release ${row.id}`,
            grayId: gray.id,
          },
          deps.origin,
        );
        latest = grayRelease.id;
        revisions.push({
          action: "create",
          resource: "config_release",
          resourceId: namespaceId(key),
          before: null,
          after: toReleaseDto(key, grayRelease, true),
        });
      }
    }
    const [updated] = await tx
      .update(configGrays)
      .set({ draft: content, baseReleaseId: row.id, latestReleaseId: latest, updatedAt: new Date() })
      .where(eq(configGrays.id, gray.id))
      .returning();
    Object.assign(rebase, { gray: gray.id, fromRelease: gray.baseReleaseId, toRelease: row.id });
    revisions.push({
      action: "update",
      resource: "config_gray",
      resourceId: namespaceId(key),
      before: toGrayDto(gray),
      after: { ...toGrayDto(updated), rebase },
    });
  }
  revisions.unshift({
    action: "create",
    resource: "config_release",
    resourceId: namespaceId(key),
    before: null,
    after: { ...toReleaseDto(key, row, true), ...(rebasing ? { rebase } : {}) },
  });
  return { release: row, revisions };
}

/** Registers the release and rollback routes on `app`. */
export function addConfigReleaseRoutes(app: ApiApp, deps: ConfigCenterDeps): void {
  app.openapi(publish, async (c) => {
    const key = c.req.valid("param");
    const input = c.req.valid("json");
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      const namespace = await requireNamespace(tx, key);
      if (namespace.currentReleaseId !== null) {
        const current = await requireRelease(tx, namespace.id, namespace.currentReleaseId);
        if (current.hash === contentHash(namespace.draft)) {
          throw refused("nothing_to_release", `the draft is what release ${current.id} already serves`);
        }
      }
      // The draft was admitted when written; the schema may have changed since (PUT admits it again too).
      admitContent(
        namespace.format as ConfigFormat,
        namespace.draft,
        admitSchema(namespace.format as ConfigFormat, namespace.schema),
        "draft",
      );
      const done = await publishMain(
        tx,
        deps,
        key,
        namespace,
        { kind: "main", content: namespace.draft, author: input.author ?? c.var.role, comment: input.comment ?? "" },
        input.gray,
      );
      return { result: toReleaseDto(key, done.release, true), revision: done.revisions };
    });
    wakeWatches(deps, key);
    return c.json(result, 201);
  });

  app.openapi(listReleases, async (c) => {
    const key = c.req.valid("param");
    const { limit, before } = c.req.valid("query");
    const namespace = await requireNamespace(deps.db, key);
    const rows = await deps.db
      .select()
      .from(configReleases)
      .where(and(eq(configReleases.namespaceId, namespace.id), before === undefined ? undefined : lt(configReleases.id, before)))
      .orderBy(desc(configReleases.id))
      .limit(limit);
    return c.json({ items: rows.map((row) => toReleaseDto(key, row, false)) }, 200);
  });

  app.openapi(getRelease, async (c) => {
    const { id, ...key } = c.req.valid("param");
    const namespace = await requireNamespace(deps.db, key);
    return c.json(toReleaseDto(key, await requireRelease(deps.db, namespace.id, id), true), 200);
  });

  app.openapi(rollback, async (c) => {
    const key = c.req.valid("param");
    const input = c.req.valid("json");
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      const namespace = await requireNamespace(tx, key);
      const target = await requireRelease(tx, namespace.id, input.release);
      if (target.kind === "gray") {
        throw new ApiError(400, {
          error: "bad_request",
          message: "invalid request body: release",
          fields: [{ path: "release", message: "a gray release cannot become main; merge its gray instead", in: "json" }],
        });
      }
      if (target.id === namespace.currentReleaseId) throw refused("nothing_to_release", `release ${target.id} is already the main release`);
      const done = await publishMain(
        tx,
        deps,
        key,
        namespace,
        {
          kind: "rollback",
          content: target.content,
          author: input.author ?? c.var.role,
          comment: input.comment ?? `rollback to release ${target.id}`,
        },
        input.gray,
      );
      return { result: toReleaseDto(key, done.release, true), revision: done.revisions };
    });
    wakeWatches(deps, key);
    return c.json(result, 201);
  });
}
