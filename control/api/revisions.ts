/**
 * GET /v1/revisions: the audit log, newest first, paged by id: pass the `next` of one page as
 * `before` to get the following one.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { desc, lt } from "drizzle-orm";
import type { ConfigDeps } from "../config/write.ts";
import { revisions } from "../db/schema.ts";
import { idParam, timestampField } from "./fields.ts";
import { type ApiApp, BEARER, errors, json } from "./openapi.ts";

/** Page size when `limit` is not given, and the largest allowed. */
export const DEFAULT_REVISION_PAGE = 50;
export const MAX_REVISION_PAGE = 500;

const RevisionSchema = z
  .object({
    id: z.number().int(),
    createdAt: timestampField,
    actor: z.string(),
    action: z.enum(["create", "update", "delete"]),
    resource: z.enum([
      "service",
      "group",
      "instance",
      "policy",
      "route",
      "agent_token",
      "traffic_cut",
      "function",
      "function_version",
      "function_traffic",
      "function_instance",
      "consumer",
    ]),
    resourceId: z.string(),
    body: z.object({ before: z.unknown(), after: z.unknown() }),
  })
  .openapi("Revision");

const RevisionPage = z
  .object({
    items: z.array(RevisionSchema),
    /** Pass as `before` for the next (older) page; null on the last page. */
    next: z.number().int().nullable(),
  })
  .openapi("RevisionPage");

const PageQuery = z.strictObject({
  limit: z
    .string()
    .regex(/^[0-9]{1,4}$/, "must be an integer")
    .transform(Number)
    .refine((n) => n >= 1 && n <= MAX_REVISION_PAGE, `must be 1–${MAX_REVISION_PAGE}`)
    .optional()
    .openapi({ type: "integer", example: DEFAULT_REVISION_PAGE }),
  before: idParam.optional().openapi({ type: "integer", description: "Only revisions with a smaller id" }),
});

const listRevisions = createRoute({
  method: "get",
  path: "/v1/revisions",
  tags: ["revisions"],
  security: BEARER,
  request: { query: PageQuery },
  responses: { 200: json(RevisionPage, "Revisions, newest first"), ...errors(400) },
});

type RevisionDto = z.infer<typeof RevisionSchema>;

/** Registers GET /v1/revisions on `app`. */
export function addRevisionRoutes(app: ApiApp, deps: ConfigDeps): void {
  app.openapi(listRevisions, async (c) => {
    const { limit = DEFAULT_REVISION_PAGE, before } = c.req.valid("query");
    // One extra row tells whether an older page exists.
    const rows = await deps.db
      .select()
      .from(revisions)
      .where(before === undefined ? undefined : lt(revisions.id, before))
      .orderBy(desc(revisions.id))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    const items = page.map(
      (row): RevisionDto => ({
        id: row.id,
        createdAt: row.createdAt.toISOString(),
        actor: row.actor,
        action: row.action as RevisionDto["action"],
        resource: row.resource as RevisionDto["resource"],
        resourceId: row.resourceId,
        body: row.body as RevisionDto["body"],
      }),
    );
    const next = rows.length > limit ? page[page.length - 1].id : null;
    return c.json({ items, next }, 200);
  });
}
