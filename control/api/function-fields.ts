/**
 * The request and response bodies of the function endpoints (issue 15), as zod schemas: HTTP shapes only; the
 * rules come from control/functions/ (bundle.ts, traffic.ts) and autoscaler/settings.ts, whose
 * ScalingSettingsSchema is reused as is (Knative's names, defaults and ranges).
 */
import { z } from "@hono/zod-openapi";
import { ScalingSettingsSchema } from "../functions/autoscaler/settings.ts";
import { type BundleModule, bundleProblems, MAX_MODULES, MODULE_TYPES } from "../functions/bundle.ts";
import { MAX_TRAFFIC_TARGETS, TAG_PATTERN } from "../functions/traffic.ts";
import { labelField, nameField, timestampField } from "./fields.ts";

/** Scaling settings: every field optional, defaults from SCALING_DEFAULTS; unknown fields refused. */
export const scalingField = ScalingSettingsSchema.strict().openapi("ScalingSettings");

export const FunctionCreate = z
  .strictObject({
    name: nameField,
    scaling: scalingField.optional(),
    allowOutbound: z.boolean().default(false).openapi({ description: "May its code fetch beyond the gateway" }),
  })
  .openapi("FunctionCreate");

/** Partial update: `scaling`, when given, replaces the settings whole (omitted fields return to their defaults). */
export const FunctionPatch = z
  .strictObject({ scaling: scalingField.optional(), allowOutbound: z.boolean().optional() })
  .openapi("FunctionPatch");

/** Env var names, as shells and Workers' bindings accept them. */
export const ENV_NAME_PATTERN = /^[A-Z_][A-Z0-9_]*$/;
/** Most env vars per version; longest name (characters) and value (UTF-8 bytes, Cloudflare's 5 KiB). */
export const MAX_ENV_VARS = 64;
export const MAX_ENV_NAME_LENGTH = 128;
export const MAX_ENV_VALUE_BYTES = 5 * 1024;

const envField = z
  .record(
    z.string().regex(ENV_NAME_PATTERN, `must match ${ENV_NAME_PATTERN.source}`).max(MAX_ENV_NAME_LENGTH),
    z.string().refine((v) => Buffer.byteLength(v) <= MAX_ENV_VALUE_BYTES, `must be at most ${MAX_ENV_VALUE_BYTES} bytes`),
  )
  .refine((env) => Object.keys(env).length <= MAX_ENV_VARS, `at most ${MAX_ENV_VARS} env vars`)
  .default({})
  .openapi({ example: { API_BASE: "https://api.example.com" } });

const moduleField = z.strictObject({
  name: z.string().openapi({ example: "worker.js" }),
  type: z.enum(MODULE_TYPES),
  content: z.base64().openapi({ description: "The module's bytes, base64 (standard alphabet, padded)" }),
});

/**
 * An upload: modules (base64), the entry module, env vars and a compatibility date. The decoded
 * bundle is checked by bundleProblems; each problem is a 400 naming its field.
 */
export const VersionUpload = z
  .strictObject({
    modules: z.array(moduleField).min(1).max(MAX_MODULES),
    main: z.string().openapi({ example: "worker.js" }),
    env: envField,
    compatibilityDate: z.iso.date("must be a date YYYY-MM-DD").openapi({ example: "2026-07-01" }),
  })
  .transform((upload, ctx) => {
    const modules: BundleModule[] = upload.modules.map((m) => ({ name: m.name, type: m.type, content: Buffer.from(m.content, "base64") }));
    for (const problem of bundleProblems(modules, upload.main)) {
      ctx.addIssue({
        code: "custom",
        message: problem.message,
        path: problem.field
          .split(/[.[\]]+/)
          .filter(Boolean)
          .map(pathSegment),
      });
    }
    return { ...upload, modules };
  })
  .openapi("FunctionVersionUpload");

/** `modules[1].name` split into zod path segments: numbers stay numbers. */
function pathSegment(segment: string): string | number {
  return /^[0-9]+$/.test(segment) ? Number(segment) : segment;
}

const trafficTargetField = z.strictObject({
  version: z
    .union([z.number().int().min(1), z.literal("latest")])
    .openapi({ description: "A version number, or latest (the newest ready version)" }),
  percent: z.number().int().min(0).max(100),
  tag: z.string().regex(TAG_PATTERN, `must match ${TAG_PATTERN.source}`).optional(),
  lane: labelField
    .min(1)
    .optional()
    .openapi({ description: "OCTO swimlane whose requests go to this target (as an instance's lane); at most one target per lane" }),
});

/** A whole split: targets summing to 100 (checked with the store), optional stickiness. */
export const TrafficPut = z
  .strictObject({
    targets: z.array(trafficTargetField).min(1).max(MAX_TRAFFIC_TARGETS),
    stickiness: z
      .strictObject({
        from: z.enum(["header", "cookie", "query"]),
        name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1–64 of [A-Za-z0-9_-]"),
      })
      .nullable()
      .default(null),
  })
  .openapi("FunctionTrafficPut");

export const FunctionSchema = z
  .object({
    appkey: z.string(),
    name: z.string(),
    scaling: scalingField,
    allowOutbound: z.boolean(),
    createdAt: timestampField,
    updatedAt: timestampField,
  })
  .openapi("Function");

export const FunctionVersionSchema = z
  .object({
    appkey: z.string(),
    function: z.string(),
    version: z.number().int(),
    sha256: z.string().openapi({ description: "Hex SHA-256 of the bundle's canonical encoding" }),
    main: z.string(),
    env: z.record(z.string(), z.string()),
    compatibilityDate: z.string(),
    status: z.enum(["ready", "failed"]),
    error: z.string().nullable(),
    createdAt: timestampField,
  })
  .openapi("FunctionVersion");

export const FunctionBundleSchema = z
  .object({
    sha256: z.string(),
    main: z.string(),
    modules: z.array(z.object({ name: z.string(), type: z.enum(MODULE_TYPES), content: z.string() })),
  })
  .openapi("FunctionBundle");

export const FunctionTrafficSchema = z
  .object({
    appkey: z.string(),
    function: z.string(),
    targets: z.array(trafficTargetField),
    stickiness: z.object({ from: z.enum(["header", "cookie", "query"]), name: z.string() }).nullable(),
  })
  .openapi("FunctionTraffic");
