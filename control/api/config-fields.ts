/**
 * The config center's API shapes (docs/config-center.md): the namespace, release and gray
 * representations, their request bodies, and the path parameters. zod (@hono/zod-openapi), so
 * admission and the OpenAPI document come from one description.
 */
import { z } from "@hono/zod-openapi";
import { GRAY_LABEL_KEYS } from "../config-center/gray-rules.ts";
import { CONFIG_FORMATS, CONFIG_GRAY_STATUSES, CONFIG_RELEASE_KINDS, ENVIRONMENTS } from "../db/schema.ts";
import { appkeyField, nameField, timestampField } from "./fields.ts";

/** Longest comment or author of a release, characters. */
export const MAX_COMMENT_LENGTH = 1024;
/** Most entries in one gray rule list. */
export const MAX_GRAY_RULE_ENTRIES = 1000;

/** A content: a string (its UTF-8 size is capped at 1 MiB by control/config-center/content-check.ts). */
export const contentField = z.string().openapi({ description: "The content, in the namespace's format; at most 1 MiB" });
export const formatField = z.enum(CONFIG_FORMATS);
export const schemaField = z
  .union([z.record(z.string(), z.unknown()), z.boolean()])
  .nullable()
  .openapi({ description: "A JSON Schema (draft 2020-12) the parsed content must satisfy; null: none. Not for `text`" });

const ruleList = z.array(z.string().min(1).max(256)).max(MAX_GRAY_RULE_ENTRIES);
export const GrayRulesSchema = z
  .strictObject({
    instanceIds: ruleList.optional(),
    addresses: ruleList.optional().openapi({ description: "`ip` (any port) or `ip:port`" }),
    labels: z.strictObject(Object.fromEntries(GRAY_LABEL_KEYS.map((key) => [key, ruleList.min(1).optional()]))).optional(),
  })
  .refine(
    (rules) =>
      (rules.instanceIds?.length ?? 0) > 0 ||
      (rules.addresses?.length ?? 0) > 0 ||
      Object.values(rules.labels ?? {}).some((values) => values !== undefined),
    "at least one of instanceIds, addresses or labels",
  )
  .openapi("ConfigGrayRules");

export const NamespaceParams = z.object({ appkey: appkeyField, env: z.enum(ENVIRONMENTS), name: nameField });
export const ReleaseParams = NamespaceParams.extend({
  id: z
    .string()
    .regex(/^[0-9]{1,15}$/, "must be a release id")
    .transform(Number)
    .openapi({ type: "integer" }),
});

export const NamespaceCreate = z
  .strictObject({
    appkey: appkeyField,
    env: z.enum(ENVIRONMENTS),
    name: nameField,
    format: formatField,
    schema: schemaField.optional(),
    content: contentField.optional(),
  })
  .openapi("ConfigNamespaceCreate");
export const NamespaceUpdate = z
  .strictObject({ format: formatField.optional(), schema: schemaField.optional() })
  .openapi("ConfigNamespaceUpdate");
export const DraftBody = z.strictObject({ content: contentField }).openapi("ConfigDraft");

const commentField = z.string().max(MAX_COMMENT_LENGTH).optional();
const authorField = z.string().min(1).max(256).optional().openapi({ description: "Default: the token's role (`admin`)" });
export const PublishBody = z
  .strictObject({
    comment: commentField,
    author: authorField,
    gray: z
      .enum(["refuse", "rebase"])
      .optional()
      .openapi({ description: "With an active gray: refuse (default, 409 gray_active) or rebase the gray onto the new release" }),
  })
  .openapi("ConfigPublish");
export const RollbackBody = PublishBody.extend({ release: z.number().int().positive() }).openapi("ConfigRollback");
export const GrayCreate = z.strictObject({ rules: GrayRulesSchema, content: contentField.optional() }).openapi("ConfigGrayCreate");
export const GrayUpdate = z
  .strictObject({ rules: GrayRulesSchema.optional(), content: contentField.optional() })
  .openapi("ConfigGrayUpdate");
export const GrayPublish = z.strictObject({ comment: commentField, author: authorField }).openapi("ConfigGrayPublish");

export const GraySchema = z
  .object({
    id: z.number().int(),
    status: z.enum(CONFIG_GRAY_STATUSES),
    rules: z.record(z.string(), z.unknown()),
    content: z.string(),
    baseRelease: z.number().int().nullable(),
    latestRelease: z.number().int().nullable(),
    createdAt: timestampField,
    updatedAt: timestampField,
  })
  .openapi("ConfigGray");

export const NamespaceSchema = z
  .object({
    appkey: z.string(),
    env: z.enum(ENVIRONMENTS),
    name: z.string(),
    format: formatField,
    schema: z.union([z.record(z.string(), z.unknown()), z.boolean()]).nullable(),
    draft: z.string(),
    currentRelease: z.number().int().nullable(),
    gray: GraySchema.nullable(),
    createdAt: timestampField,
    updatedAt: timestampField,
  })
  .openapi("ConfigNamespace");

export const ReleaseSchema = z
  .object({
    id: z.number().int(),
    appkey: z.string(),
    env: z.string(),
    namespace: z.string(),
    kind: z.enum(CONFIG_RELEASE_KINDS),
    hash: z.string().openapi({ description: "SHA-256 hex of the content" }),
    author: z.string(),
    comment: z.string(),
    gray: z.number().int().nullable().openapi({ description: "The gray's id for gray and merge releases" }),
    createdAt: timestampField,
    content: z.string().optional().openapi({ description: "Absent in lists" }),
  })
  .openapi("ConfigRelease");
