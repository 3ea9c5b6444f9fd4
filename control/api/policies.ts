/**
 * /v1/policies: Oceanus routing policies, globally named. PUT replaces a policy whole; PATCH
 * changes some fields (e.g. flip `enabled`, swap the graylist). Every write re-checks the policy
 * against its own service and against every route that lists it.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { asc, eq } from "drizzle-orm";
import { conflict } from "../config/errors.ts";
import { findPolicy, requirePolicy, storePolicy } from "../config/policy-store.ts";
import { findPolicyReferrers } from "../config/references.ts";
import { type PolicyDto, toPolicyDto } from "../config/representations.ts";
import { type ConfigDeps, runWrite } from "../config/write.ts";
import { policies, services } from "../db/schema.ts";
import { badRequest } from "./errors.ts";
import { nameField } from "./fields.ts";
import { type ApiApp, BEARER, errors, json, jsonBody, listOf } from "./openapi.ts";
import { PolicyCreate, PolicyPatch, PolicyReplace, type PolicyReplaceInput, policyShapeIssues } from "./policy-input.ts";
import { PolicySchema } from "./resource-schemas.ts";

const NameParams = z.object({ name: nameField });
const tags = ["policies"];
const item = "/v1/policies/{name}";

const createPolicy = createRoute({
  method: "post",
  path: "/v1/policies",
  tags,
  security: BEARER,
  request: jsonBody(PolicyCreate),
  responses: { 201: json(PolicySchema, "Created"), ...errors(400, 409, 422) },
});
const listPolicies = createRoute({
  method: "get",
  path: "/v1/policies",
  tags,
  security: BEARER,
  responses: { 200: json(listOf(PolicySchema), "All policies, by name"), ...errors() },
});
const getPolicy = createRoute({
  method: "get",
  path: item,
  tags,
  security: BEARER,
  request: { params: NameParams },
  responses: { 200: json(PolicySchema, "The policy"), ...errors(400, 404) },
});
const replacePolicy = createRoute({
  method: "put",
  path: item,
  tags,
  security: BEARER,
  request: { params: NameParams, ...jsonBody(PolicyReplace) },
  responses: { 200: json(PolicySchema, "Replaced"), ...errors(400, 404, 422) },
});
const patchPolicy = createRoute({
  method: "patch",
  path: item,
  tags,
  security: BEARER,
  request: { params: NameParams, ...jsonBody(PolicyPatch) },
  responses: { 200: json(PolicySchema, "Updated"), ...errors(400, 404, 422) },
});
const deletePolicy = createRoute({
  method: "delete",
  path: item,
  tags,
  security: BEARER,
  request: { params: NameParams },
  responses: { 204: { description: "Deleted" }, ...errors(400, 404, 409) },
});

/** Registers the policy routes on `app`. */
export function addPolicyRoutes(app: ApiApp, deps: ConfigDeps): void {
  const replace = (role: string, name: string, patch: (current: PolicyDto) => PolicyReplaceInput) =>
    runWrite(deps, role, async (tx) => {
      const current = await requirePolicy(tx, name);
      const after = await storePolicy(tx, name, patch(current.dto), current.row);
      return {
        result: after,
        revision: { action: "update", resource: "policy", resourceId: name, before: current.dto, after },
      };
    });

  app.openapi(createPolicy, async (c) => {
    const { name, ...input } = c.req.valid("json");
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      if (await findPolicy(tx, name)) throw conflict(`policy "${name}" already exists`);
      const after = await storePolicy(tx, name, input, null);
      return {
        result: after,
        revision: { action: "create", resource: "policy", resourceId: name, before: null, after },
      };
    });
    return c.json(result, 201);
  });

  app.openapi(listPolicies, async (c) => {
    const rows = await deps.db
      .select({ row: policies, appkey: services.appkey })
      .from(policies)
      .leftJoin(services, eq(policies.serviceId, services.id))
      .orderBy(asc(policies.name));
    return c.json({ items: rows.map(({ row, appkey }) => toPolicyDto(row, appkey)) }, 200);
  });

  app.openapi(getPolicy, async (c) => {
    const { dto } = await requirePolicy(deps.db, c.req.valid("param").name);
    return c.json(dto, 200);
  });

  app.openapi(replacePolicy, async (c) => {
    const { name } = c.req.valid("param");
    const input = c.req.valid("json");
    const { result } = await replace(c.var.role, name, () => input);
    return c.json(result, 200);
  });

  app.openapi(patchPolicy, async (c) => {
    const { name } = c.req.valid("param");
    const patch = c.req.valid("json");
    const { result } = await replace(c.var.role, name, (current) => {
      const merged = {
        category: patch.category ?? current.category,
        appkey: patch.appkey !== undefined ? patch.appkey : current.appkey,
        key: patch.key ?? current.key,
        passway: patch.passway ?? current.passway,
        condition: patch.condition ?? current.condition,
        group: patch.group ?? current.group,
        enabled: patch.enabled ?? current.enabled,
        graylist: patch.graylist ?? current.graylist,
      };
      // The patched fields passed their own checks; the combination must too. The condition is
      // re-checked only when it or its key changes, so a compiler that grew stricter cannot block
      // an emergency `enabled: false`.
      const conditionTouched = patch.condition !== undefined || patch.key !== undefined || patch.passway !== undefined;
      const issues = policyShapeIssues(merged, conditionTouched);
      if (issues.length > 0) {
        throw badRequest(
          `invalid policy after patch: ${issues.map((i) => i.path).join(", ")}`,
          issues.map((i) => ({ ...i, in: "json" })),
        );
      }
      return merged;
    });
    return c.json(result, 200);
  });

  app.openapi(deletePolicy, async (c) => {
    const { name } = c.req.valid("param");
    await runWrite(deps, c.var.role, async (tx) => {
      const current = await requirePolicy(tx, name);
      const referrers = await findPolicyReferrers(tx, name);
      if (referrers.length > 0) {
        const ids = referrers.map((r) => r.id).join(", ");
        throw conflict(`policy "${name}" is still listed by route(s) ${ids}`, referrers);
      }
      await tx.delete(policies).where(eq(policies.id, current.row.id));
      return {
        result: null,
        revision: {
          action: "delete",
          resource: "policy",
          resourceId: name,
          before: current.dto,
          after: null,
        },
      };
    });
    return c.body(null, 204);
  });
}
