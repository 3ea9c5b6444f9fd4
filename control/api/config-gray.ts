/**
 * The gray release of a config namespace (docs/config-center.md "Gray rules"): at most one
 * active per namespace; created with rules and a content (default: main's), changed, published
 * as gray releases (only the matching instances get them), then merged (its latest gray release
 * published as main, kind `merge`; the namespace's draft becomes that content) or abandoned (its
 * instances get main again). Rules changes, merges and abandons notify watchers like releases:
 * what an instance gets may change.
 */
import { createRoute } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { conflict, notFound } from "../config/errors.ts";
import { runWrite } from "../config/write.ts";
import type { ConfigFormat } from "../config-center/formats.ts";
import {
  activeGray,
  contentHash,
  type GrayRow,
  insertRelease,
  type NamespaceKey,
  namespaceId,
  notifyConfig,
  requireNamespace,
  requireRelease,
  toGrayDto,
  toReleaseDto,
} from "../config-center/store.ts";
import type { Transaction } from "../db/connect.ts";
import { configGrays, configNamespaces } from "../db/schema.ts";
import { admitContent, admitSchema } from "./config-admission.ts";
import { type ConfigCenterDeps, wakeWatches } from "./config-deps.ts";
import { GrayCreate, GrayPublish, GraySchema, GrayUpdate, NamespaceParams, ReleaseSchema } from "./config-fields.ts";
import { publishMain, refused } from "./config-releases.ts";
import { type ApiApp, BEARER, errors, json, jsonBody } from "./openapi.ts";

const tags = ["config"];
const GRAY_PATH = "/v1/config/namespaces/{appkey}/{env}/{name}/gray";

const createGray = createRoute({
  method: "post",
  path: GRAY_PATH,
  tags,
  security: BEARER,
  request: { params: NamespaceParams, ...jsonBody(GrayCreate) },
  responses: { 201: json(GraySchema, "The active gray (not yet published)"), ...errors(400, 404, 409) },
});
const updateGray = createRoute({
  method: "put",
  path: GRAY_PATH,
  tags,
  security: BEARER,
  request: { params: NamespaceParams, ...jsonBody(GrayUpdate) },
  responses: { 200: json(GraySchema, "The gray; new rules apply at once to its published release"), ...errors(400, 404) },
});
const publishGray = createRoute({
  method: "post",
  path: `${GRAY_PATH}/releases`,
  tags,
  security: BEARER,
  request: { params: NamespaceParams, ...jsonBody(GrayPublish) },
  responses: { 201: json(ReleaseSchema, "A gray release, for the matching instances only"), ...errors(400, 404, 409) },
});
const mergeGray = createRoute({
  method: "post",
  path: `${GRAY_PATH}/merge`,
  tags,
  security: BEARER,
  request: { params: NamespaceParams, ...jsonBody(GrayPublish) },
  responses: { 201: json(ReleaseSchema, "The main release (kind merge); the gray ends merged"), ...errors(400, 404, 409) },
});
const abandonGray = createRoute({
  method: "post",
  path: `${GRAY_PATH}/abandon`,
  tags,
  security: BEARER,
  request: { params: NamespaceParams },
  responses: { 200: json(GraySchema, "The gray, abandoned; its instances get main again"), ...errors(400, 404) },
});

/** The namespace's active gray. @throws ConfigError not_found */
async function requireGray(tx: Transaction, namespaceIdValue: number): Promise<GrayRow> {
  const gray = await activeGray(tx, namespaceIdValue);
  if (!gray) throw notFound("this namespace has no active gray");
  return gray;
}

/** Ends `gray` with `status`; notifies its namespace's watchers. */
async function endGray(tx: Transaction, deps: ConfigCenterDeps, key: NamespaceKey, gray: GrayRow, status: "merged" | "abandoned") {
  const [row] = await tx.update(configGrays).set({ status, updatedAt: new Date() }).where(eq(configGrays.id, gray.id)).returning();
  await notifyConfig(tx, key, 0, deps.origin);
  return row;
}

/** Registers the gray routes on `app`. */
export function addConfigGrayRoutes(app: ApiApp, deps: ConfigCenterDeps): void {
  app.openapi(createGray, async (c) => {
    const key = c.req.valid("param");
    const input = c.req.valid("json");
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      const namespace = await requireNamespace(tx, key);
      const existing = await activeGray(tx, namespace.id);
      if (existing) throw conflict(`gray ${existing.id} is already active on this namespace`);
      const main = namespace.currentReleaseId === null ? null : await requireRelease(tx, namespace.id, namespace.currentReleaseId);
      const content = input.content ?? main?.content ?? namespace.draft;
      const format = namespace.format as ConfigFormat;
      admitContent(format, content, admitSchema(format, namespace.schema));
      const [row] = await tx
        .insert(configGrays)
        .values({ namespaceId: namespace.id, rules: input.rules, draft: content, baseReleaseId: main?.id ?? null })
        .returning();
      const after = toGrayDto(row);
      return { result: after, revision: { action: "create", resource: "config_gray", resourceId: namespaceId(key), before: null, after } };
    });
    return c.json(result, 201);
  });

  app.openapi(updateGray, async (c) => {
    const key = c.req.valid("param");
    const input = c.req.valid("json");
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      const namespace = await requireNamespace(tx, key);
      const gray = await requireGray(tx, namespace.id);
      if (input.content !== undefined) {
        const format = namespace.format as ConfigFormat;
        admitContent(format, input.content, admitSchema(format, namespace.schema));
      }
      const [row] = await tx
        .update(configGrays)
        .set({ rules: input.rules ?? gray.rules, draft: input.content ?? gray.draft, updatedAt: new Date() })
        .where(eq(configGrays.id, gray.id))
        .returning();
      // New rules move instances in or out of a published gray.
      if (input.rules && gray.latestReleaseId !== null) await notifyConfig(tx, key, gray.latestReleaseId, deps.origin);
      const after = toGrayDto(row);
      return {
        result: after,
        revision: { action: "update", resource: "config_gray", resourceId: namespaceId(key), before: toGrayDto(gray), after },
      };
    });
    if (input.rules) wakeWatches(deps, key);
    return c.json(result, 200);
  });

  app.openapi(publishGray, async (c) => {
    const key = c.req.valid("param");
    const input = c.req.valid("json");
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      const namespace = await requireNamespace(tx, key);
      const gray = await requireGray(tx, namespace.id);
      if (gray.latestReleaseId !== null) {
        const latest = await requireRelease(tx, namespace.id, gray.latestReleaseId);
        if (latest.hash === contentHash(gray.draft))
          throw refused("nothing_to_release", `gray release ${latest.id} already serves this content`);
      }
      const format = namespace.format as ConfigFormat;
      admitContent(format, gray.draft, admitSchema(format, namespace.schema), "gray.content");
      const release = await insertRelease(
        tx,
        key,
        {
          namespaceId: namespace.id,
          kind: "gray",
          content: gray.draft,
          author: input.author ?? c.var.role,
          comment: input.comment ?? "",
          grayId: gray.id,
        },
        deps.origin,
      );
      await tx.update(configGrays).set({ latestReleaseId: release.id, updatedAt: new Date() }).where(eq(configGrays.id, gray.id));
      const after = toReleaseDto(key, release, true);
      return {
        result: after,
        revision: { action: "create", resource: "config_release", resourceId: namespaceId(key), before: null, after },
      };
    });
    wakeWatches(deps, key);
    return c.json(result, 201);
  });

  app.openapi(mergeGray, async (c) => {
    const key = c.req.valid("param");
    const input = c.req.valid("json");
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      const namespace = await requireNamespace(tx, key);
      const gray = await requireGray(tx, namespace.id);
      if (gray.latestReleaseId === null) throw refused("gray_not_released", "publish the gray before merging it (POST …/gray/releases)");
      const latest = await requireRelease(tx, namespace.id, gray.latestReleaseId);
      const done = await publishMain(
        tx,
        deps,
        key,
        namespace,
        {
          kind: "merge",
          content: latest.content,
          author: input.author ?? c.var.role,
          comment: input.comment ?? `merge gray ${gray.id}`,
          grayId: gray.id,
        },
        undefined,
        gray.id,
      );
      // The merged content is main's now: the draft follows, so the next publish does not undo the merge.
      await tx.update(configNamespaces).set({ draft: latest.content }).where(eq(configNamespaces.id, namespace.id));
      const ended = await endGray(tx, deps, key, gray, "merged");
      const revisions = [
        ...done.revisions,
        {
          action: "update" as const,
          resource: "config_gray" as const,
          resourceId: namespaceId(key),
          before: toGrayDto(gray),
          after: toGrayDto(ended),
        },
      ];
      return { result: toReleaseDto(key, done.release, true), revision: revisions };
    });
    wakeWatches(deps, key);
    return c.json(result, 201);
  });

  app.openapi(abandonGray, async (c) => {
    const key = c.req.valid("param");
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      const namespace = await requireNamespace(tx, key);
      const gray = await requireGray(tx, namespace.id);
      const ended = await endGray(tx, deps, key, gray, "abandoned");
      const after = toGrayDto(ended);
      return {
        result: after,
        revision: { action: "update", resource: "config_gray", resourceId: namespaceId(key), before: toGrayDto(gray), after },
      };
    });
    wakeWatches(deps, key);
    return c.json(result, 200);
  });
}
