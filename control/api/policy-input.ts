/**
 * What a client may send for a routing policy, and the rules it must follow before the database
 * is consulted: field formats, the private/public ↔ appkey pairing, header/cookie key syntax, and
 * the CEL condition, which the compiler checks at admission (conditions are never executed as
 * code: the compiler turns them into bytecode).
 */
import { z } from "@hono/zod-openapi";
import { ConditionError, checkCondition, keyAttribute } from "../compiler/index.ts";
import { appkeyField, MAX_CONDITION_BYTES, MAX_GRAYLIST_ENTRIES, MAX_GRAYLIST_ENTRY_LENGTH, nameField } from "./fields.ts";

/** RFC 9110 token: what a header or cookie name may contain. */
const TOKEN_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** CEL source, 1 byte – 16 KiB of UTF-8; `checkCondition` runs on the whole policy (it needs the key). */
export const conditionField = z
  .string()
  .min(1)
  .refine((source) => Buffer.byteLength(source, "utf8") <= MAX_CONDITION_BYTES, `must be at most ${MAX_CONDITION_BYTES} bytes of UTF-8`)
  .openapi({ example: "key == 'vip'", description: "CEL expression (docs/conditions.md)" });

const graylistField = z
  .array(z.string().min(1).max(MAX_GRAYLIST_ENTRY_LENGTH))
  .max(MAX_GRAYLIST_ENTRIES)
  .openapi({ description: "When non-empty, the policy applies only to requests whose key value is listed" });

/** The policy fields besides its name, none defaulted (PATCH must not reset what it omits). */
const policyFields = {
  category: z.enum(["private", "public"]),
  /** Required for private policies; absent or null for public ones. */
  appkey: appkeyField.nullable().optional(),
  key: z
    .string()
    .regex(/^[\x21-\x7e]{1,256}$/, "must be 1–256 printable ASCII characters without spaces")
    .openapi({ example: "uid" }),
  passway: z.enum(["query", "header", "cookie", "body"]),
  condition: conditionField,
  group: nameField,
  enabled: z.boolean(),
  graylist: graylistField,
};

/** The cross-field part of a policy the shape rules look at. */
export interface PolicyShape {
  category: "private" | "public";
  appkey?: string | null;
  key: string;
  passway: "query" | "header" | "cookie" | "body";
  condition: string;
}

/** A rule violation: `position` is the 0-based offset in `condition` for CEL errors. */
export interface PolicyIssue {
  path: string;
  message: string;
  position?: number;
}

/**
 * Runs the CEL compiler's admission check on `policy.condition` for its key and passway. The
 * lowered IR stays in the compiler's memo, where storePolicy (control/config/policy-store.ts)
 * takes the row's stored IR from without parsing again.
 * @returns the issue on `condition` (reason and position), or null when accepted.
 */
export function conditionIssue(policy: PolicyShape): PolicyIssue | null {
  try {
    checkCondition(policy.condition, keyAttribute(policy.passway, policy.key));
    return null;
  } catch (error) {
    if (!(error instanceof ConditionError)) throw error;
    return {
      path: "condition",
      message: `${error.message} (at position ${error.position})`,
      position: error.position,
    };
  }
}

/**
 * Cross-field rules, condition included unless `checkConditionToo` is false; returns one issue
 * per violation (empty when fine).
 */
export function policyShapeIssues(policy: PolicyShape, checkConditionToo = true): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  if (policy.category === "private" && !policy.appkey) {
    issues.push({ path: "appkey", message: "required for a private policy" });
  }
  if (policy.category === "public" && policy.appkey) {
    issues.push({ path: "appkey", message: "must be null or absent for a public policy" });
  }
  if ((policy.passway === "header" || policy.passway === "cookie") && !TOKEN_PATTERN.test(policy.key)) {
    issues.push({ path: "key", message: `must be a valid ${policy.passway} name (RFC 9110 token)` });
  }
  const keyValid = !issues.some((issue) => issue.path === "key");
  const condition = checkConditionToo && keyValid ? conditionIssue(policy) : null;
  if (condition) issues.push(condition);
  return issues;
}

/**
 * zod runs object refinements even when a field already failed (its issues do not abort), so
 * the cross-field rules run only on fields that are themselves valid.
 */
function refineShape(policy: PolicyShape, ctx: z.RefinementCtx): void {
  const wellFormed =
    policyFields.category.safeParse(policy.category).success &&
    policyFields.passway.safeParse(policy.passway).success &&
    policyFields.key.safeParse(policy.key).success &&
    conditionField.safeParse(policy.condition).success;
  if (!wellFormed) return;
  for (const issue of policyShapeIssues(policy)) {
    const params = issue.position === undefined ? undefined : { position: issue.position };
    ctx.addIssue({ code: "custom", path: [issue.path], message: issue.message, params });
  }
}

const defaulted = {
  ...policyFields,
  enabled: policyFields.enabled.default(true),
  graylist: policyFields.graylist.default([]),
};

/** POST /v1/policies body. */
export const PolicyCreate = z
  .strictObject({ name: nameField, ...defaulted })
  .superRefine(refineShape)
  .openapi("PolicyCreate");

/** PUT /v1/policies/{name} body: every field but the name; omitted optional ones reset. */
export const PolicyReplace = z.strictObject(defaulted).superRefine(refineShape).openapi("PolicyReplace");

/** PATCH /v1/policies/{name} body: any subset of the fields; the result is checked as a whole. */
export const PolicyPatch = z.strictObject(policyFields).partial().openapi("PolicyPatch");

export type PolicyReplaceInput = z.infer<typeof PolicyReplace>;
