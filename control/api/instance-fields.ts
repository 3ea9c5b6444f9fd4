/**
 * The OCTO node fields an instance carries besides its address (SGService: env, role, protocol,
 * metadata, warmup; IDC{region, idc}; plus Sluice's zone, lane and cell), shared by the admin
 * instance API and agent registration. Pure: zod rules only.
 */
import { z } from "@hono/zod-openapi";
import { ENVIRONMENTS, INSTANCE_ROLES } from "../db/schema.ts";
import { labelField } from "./fields.ts";

/** Most metadata entries per instance, and their longest key and value, in characters. */
export const MAX_METADATA_ENTRIES = 32;
export const MAX_METADATA_KEY_LENGTH = 64;
export const MAX_METADATA_VALUE_LENGTH = 256;

/** Longest warmup, s (OCTO ramps a new instance's weight over this time). */
export const MAX_WARMUP_SECONDS = 3600;

const metadataField = z
  .record(
    z.string().regex(/^[A-Za-z0-9._/-]{1,64}$/, `keys must be 1–${MAX_METADATA_KEY_LENGTH} of [A-Za-z0-9._/-]`),
    z.string().max(MAX_METADATA_VALUE_LENGTH),
  )
  .refine((m) => Object.keys(m).length <= MAX_METADATA_ENTRIES, `at most ${MAX_METADATA_ENTRIES} entries`)
  .openapi({ example: { commit: "4f2a9c1" } });

/** Optional fields with their defaults (`prod`, `primary`, `http`, empty labels, no metadata). */
export const instanceAttributeFields = {
  env: z.enum(ENVIRONMENTS).default("prod"),
  zone: labelField.default(""),
  region: labelField.default(""),
  idc: labelField.default(""),
  cell: labelField.default(""),
  lane: labelField.default(""),
  version: labelField.default(""),
  role: z.enum(INSTANCE_ROLES).default("primary"),
  protocol: labelField.default("http").openapi({ example: "http" }),
  metadata: metadataField.default({}),
  warmupSeconds: z.number().int().min(0).max(MAX_WARMUP_SECONDS).default(0),
};
