/**
 * /v1/config/namespaces (docs/config-center.md "REST API"): create, list, read, change and
 * delete namespaces, and write their drafts. Every content and schema is admitted first
 * (config-admission.ts); every write is one runWrite transaction with its revision. Deleting a
 * namespace deletes its releases and grays; each release's content stays in its revision.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq } from "drizzle-orm";
import { conflict } from "../config/errors.ts";
import { requireService } from "../config/lookup.ts";
import { runWrite } from "../config/write.ts";
import type { ConfigFormat } from "../config-center/formats.ts";
import { activeGray, findNamespace, namespaceId, notifyConfig, requireNamespace, toNamespaceDto } from "../config-center/store.ts";
import { configGrays, configNamespaces, ENVIRONMENTS, services } from "../db/schema.ts";
import { admitContent, admitSchema } from "./config-admission.ts";
import { type ConfigCenterDeps, wakeWatches } from "./config-deps.ts";
import { DraftBody, NamespaceCreate, NamespaceParams, NamespaceSchema, NamespaceUpdate } from "./config-fields.ts";
import { appkeyField } from "./fields.ts";
import { type ApiApp, BEARER, errors, json, jsonBody, listOf } from "./openapi.ts";

const tags = ["config"];
const NAMESPACE_PATH = "/v1/config/namespaces/{appkey}/{env}/{name}";

const createNamespace = createRoute({
  method: "post",
  path: "/v1/config/namespaces",
  tags,
  security: BEARER,
  request: jsonBody(NamespaceCreate),
  responses: { 201: json(NamespaceSchema, "Created; the draft is `content` or empty"), ...errors(400, 404, 409) },
});
const listNamespaces = createRoute({
  method: "get",
  path: "/v1/config/namespaces",
  tags,
  security: BEARER,
  request: { query: z.strictObject({ appkey: appkeyField.optional(), env: z.enum(ENVIRONMENTS).optional() }) },
  responses: { 200: json(listOf(NamespaceSchema), "Namespaces by appkey, env, name"), ...errors(400) },
});
const getNamespace = createRoute({
  method: "get",
  path: NAMESPACE_PATH,
  tags,
  security: BEARER,
  request: { params: NamespaceParams },
  responses: { 200: json(NamespaceSchema, "The namespace: draft, currentRelease, active gray"), ...errors(400, 404) },
});
const updateNamespace = createRoute({
  method: "put",
  path: NAMESPACE_PATH,
  tags,
  security: BEARER,
  request: { params: NamespaceParams, ...jsonBody(NamespaceUpdate) },
  responses: { 200: json(NamespaceSchema, "Changed; the draft was admitted again"), ...errors(400, 404) },
});
const deleteNamespace = createRoute({
  method: "delete",
  path: NAMESPACE_PATH,
  tags,
  security: BEARER,
  request: { params: NamespaceParams },
  responses: { 204: { description: "Deleted with its releases and grays (their contents stay in revisions)" }, ...errors(400, 404) },
});
const writeDraft = createRoute({
  method: "put",
  path: `${NAMESPACE_PATH}/draft`,
  tags,
  security: BEARER,
  request: { params: NamespaceParams, ...jsonBody(DraftBody) },
  responses: { 200: json(NamespaceSchema, "The namespace with its new draft"), ...errors(400, 404) },
});

/** Registers the namespace and draft routes on `app`. */
export function addConfigNamespaceRoutes(app: ApiApp, deps: ConfigCenterDeps): void {
  app.openapi(createNamespace, async (c) => {
    const input = c.req.valid("json");
    const check = admitSchema(input.format, input.schema);
    const content = input.content ?? "";
    // No content: an empty draft, admitted when it is published (empty is not JSON).
    if (input.content !== undefined) admitContent(input.format, content, check);
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      const service = await requireService(tx, input.appkey);
      if (await findNamespace(tx, input)) throw conflict(`namespace "${input.name}" of "${input.appkey}" in ${input.env} already exists`);
      const [row] = await tx
        .insert(configNamespaces)
        .values({
          serviceId: service.id,
          env: input.env,
          name: input.name,
          format: input.format,
          schema: input.schema ?? null,
          draft: content,
        })
        .returning();
      const after = toNamespaceDto(input, row, null);
      return {
        result: after,
        revision: { action: "create", resource: "config_namespace", resourceId: namespaceId(input), before: null, after },
      };
    });
    return c.json(result, 201);
  });

  app.openapi(listNamespaces, async (c) => {
    const query = c.req.valid("query");
    const conditions = [];
    if (query.appkey) conditions.push(eq(services.appkey, query.appkey));
    if (query.env) conditions.push(eq(configNamespaces.env, query.env));
    const rows = await deps.db
      .select({ ns: configNamespaces, appkey: services.appkey, gray: configGrays })
      .from(configNamespaces)
      .innerJoin(services, eq(configNamespaces.serviceId, services.id))
      .leftJoin(configGrays, and(eq(configGrays.namespaceId, configNamespaces.id), eq(configGrays.status, "active")))
      .where(and(...conditions))
      .orderBy(asc(services.appkey), asc(configNamespaces.env), asc(configNamespaces.name));
    return c.json({ items: rows.map((r) => toNamespaceDto(r, r.ns, r.gray)) }, 200);
  });

  app.openapi(getNamespace, async (c) => {
    const key = c.req.valid("param");
    const row = await requireNamespace(deps.db, key);
    return c.json(toNamespaceDto(key, row, await activeGray(deps.db, row.id)), 200);
  });

  app.openapi(updateNamespace, async (c) => {
    const key = c.req.valid("param");
    const input = c.req.valid("json");
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      const current = await requireNamespace(tx, key);
      const format = (input.format ?? current.format) as ConfigFormat;
      const schema = input.schema === undefined ? current.schema : input.schema;
      // A text namespace has no schema: changing the format to text drops it unless one is given.
      const effectiveSchema = format === "text" && input.schema === undefined ? null : schema;
      const check = admitSchema(format, effectiveSchema);
      if (current.draft !== "") admitContent(format, current.draft, check, "draft");
      const gray = await activeGray(tx, current.id);
      if (gray) admitContent(format, gray.draft, check, "gray.content");
      const [row] = await tx
        .update(configNamespaces)
        .set({ format, schema: effectiveSchema ?? null, updatedAt: new Date() })
        .where(eq(configNamespaces.id, current.id))
        .returning();
      const before = toNamespaceDto(key, current, gray);
      const after = toNamespaceDto(key, row, gray);
      return { result: after, revision: { action: "update", resource: "config_namespace", resourceId: namespaceId(key), before, after } };
    });
    return c.json(result, 200);
  });

  app.openapi(deleteNamespace, async (c) => {
    const key = c.req.valid("param");
    await runWrite(deps, c.var.role, async (tx) => {
      const current = await requireNamespace(tx, key);
      const gray = await activeGray(tx, current.id);
      // One statement: its releases and grays (which refer to each other) cascade with it.
      await tx.delete(configNamespaces).where(eq(configNamespaces.id, current.id));
      // Its watchers now get release 0 (nothing): wake them.
      await notifyConfig(tx, key, 0, deps.origin);
      const before = toNamespaceDto(key, current, gray);
      return {
        result: null,
        revision: { action: "delete", resource: "config_namespace", resourceId: namespaceId(key), before, after: null },
      };
    });
    wakeWatches(deps, key);
    return c.body(null, 204);
  });

  app.openapi(writeDraft, async (c) => {
    const key = c.req.valid("param");
    const { content } = c.req.valid("json");
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      const current = await requireNamespace(tx, key);
      admitContent(current.format as ConfigFormat, content, admitSchema(current.format as ConfigFormat, current.schema));
      const [row] = await tx
        .update(configNamespaces)
        .set({ draft: content, updatedAt: new Date() })
        .where(eq(configNamespaces.id, current.id))
        .returning();
      const gray = await activeGray(tx, current.id);
      const before = toNamespaceDto(key, current, gray);
      const after = toNamespaceDto(key, row, gray);
      return { result: after, revision: { action: "update", resource: "config_namespace", resourceId: namespaceId(key), before, after } };
    });
    return c.json(result, 200);
  });
}
