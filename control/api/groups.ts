/**
 * /v1/services/{appkey}/groups: upstream groups of a service, with their balancer kind and
 * balancing / fault-tolerance options (balancing-fields.ts). Deleting a group deletes its
 * instances, and is refused (409) while a route, policy or route traffic cut still targets it.
 * Switching a group of more than 65,535 instances to maglev is refused (422 too_many_instances).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { asc, eq, sql } from "drizzle-orm";
import { conflict } from "../config/errors.ts";
import { checkMaglevRoom, findGroup, requireGroup, requireService } from "../config/lookup.ts";
import { findGroupReferrers } from "../config/references.ts";
import { toGroupDto, toInstanceDto } from "../config/representations.ts";
import { withCascadedCuts } from "../config/traffic-cuts.ts";
import { type ConfigDeps, runWrite } from "../config/write.ts";
import { groups, instances } from "../db/schema.ts";
import { balancerField, balancingField } from "./balancing-fields.ts";
import { appkeyField, nameField } from "./fields.ts";
import { type ApiApp, BEARER, errors, json, jsonBody, listOf } from "./openapi.ts";
import { GroupSchema } from "./resource-schemas.ts";

const GroupCreate = z.strictObject({ name: nameField, balancer: balancerField, balancing: balancingField }).openapi("GroupCreate");
/** Full replacement: omitted `balancer` / `balancing` fields return to their defaults. */
const GroupReplace = z.strictObject({ balancer: balancerField, balancing: balancingField }).openapi("GroupReplace");
const ServiceParams = z.object({ appkey: appkeyField });
const GroupParams = z.object({ appkey: appkeyField, name: nameField });

const tags = ["groups"];
const base = "/v1/services/{appkey}/groups";

const createGroup = createRoute({
  method: "post",
  path: base,
  tags,
  security: BEARER,
  request: { params: ServiceParams, ...jsonBody(GroupCreate) },
  responses: { 201: json(GroupSchema, "Created"), ...errors(400, 404, 409) },
});
const listGroups = createRoute({
  method: "get",
  path: base,
  tags,
  security: BEARER,
  request: { params: ServiceParams },
  responses: { 200: json(listOf(GroupSchema), "The service's groups, by name"), ...errors(400, 404) },
});
const getGroup = createRoute({
  method: "get",
  path: `${base}/{name}`,
  tags,
  security: BEARER,
  request: { params: GroupParams },
  responses: { 200: json(GroupSchema, "The group"), ...errors(400, 404) },
});
const replaceGroup = createRoute({
  method: "put",
  path: `${base}/{name}`,
  tags,
  security: BEARER,
  request: { params: GroupParams, ...jsonBody(GroupReplace) },
  responses: { 200: json(GroupSchema, "Replaced"), ...errors(400, 404, 422) },
});
const deleteGroup = createRoute({
  method: "delete",
  path: `${base}/{name}`,
  tags,
  security: BEARER,
  request: { params: GroupParams },
  responses: { 204: { description: "Deleted, with its instances" }, ...errors(400, 404, 409) },
});

/** Registers the group routes on `app`. */
export function addGroupRoutes(app: ApiApp, deps: ConfigDeps): void {
  app.openapi(createGroup, async (c) => {
    const { appkey } = c.req.valid("param");
    const input = c.req.valid("json");
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      const service = await requireService(tx, appkey);
      if (await findGroup(tx, service.id, input.name)) {
        throw conflict(`group "${input.name}" already exists in service "${appkey}"`);
      }
      const [row] = await tx
        .insert(groups)
        .values({ ...input, serviceId: service.id })
        .returning();
      const after = toGroupDto(row, appkey);
      return {
        result: after,
        revision: {
          action: "create",
          resource: "group",
          resourceId: `${appkey}/${row.name}`,
          before: null,
          after,
        },
      };
    });
    return c.json(result, 201);
  });

  app.openapi(listGroups, async (c) => {
    const { appkey } = c.req.valid("param");
    const service = await requireService(deps.db, appkey);
    const rows = await deps.db.select().from(groups).where(eq(groups.serviceId, service.id)).orderBy(asc(groups.name));
    return c.json({ items: rows.map((row) => toGroupDto(row, appkey)) }, 200);
  });

  app.openapi(getGroup, async (c) => {
    const { appkey, name } = c.req.valid("param");
    const { group } = await requireGroup(deps.db, appkey, name);
    return c.json(toGroupDto(group, appkey), 200);
  });

  app.openapi(replaceGroup, async (c) => {
    const { appkey, name } = c.req.valid("param");
    const input = c.req.valid("json");
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      const { group } = await requireGroup(tx, appkey, name);
      await checkMaglevRoom(tx, group.id, input.balancer, 0, "balancer");
      const [row] = await tx
        .update(groups)
        .set({ balancer: input.balancer, balancing: input.balancing, updatedAt: sql`now()` })
        .where(eq(groups.id, group.id))
        .returning();
      const before = toGroupDto(group, appkey);
      const after = toGroupDto(row, appkey);
      return {
        result: after,
        revision: { action: "update", resource: "group", resourceId: `${appkey}/${name}`, before, after },
      };
    });
    return c.json(result, 200);
  });

  app.openapi(deleteGroup, async (c) => {
    const { appkey, name } = c.req.valid("param");
    await runWrite(deps, c.var.role, async (tx) => {
      const { service, group } = await requireGroup(tx, appkey, name);
      const referrers = await findGroupReferrers(tx, service, name);
      if (referrers.length > 0) {
        const list = referrers.map((r) => `${r.resource} ${r.id} (${r.via})`).join(", ");
        throw conflict(`group "${name}" of service "${appkey}" is still referenced by ${list}`, referrers);
      }
      const members = await tx.select().from(instances).where(eq(instances.groupId, group.id)).orderBy(asc(instances.id));
      const before = {
        ...toGroupDto(group, appkey),
        instances: members.map((i) => toInstanceDto(i, appkey, name)),
      };
      const { cuts } = await withCascadedCuts(tx, () => tx.delete(groups).where(eq(groups.id, group.id)));
      return {
        result: null,
        revision: [...cuts, { action: "delete", resource: "group", resourceId: `${appkey}/${name}`, before, after: null }],
      };
    });
    return c.body(null, 204);
  });
}
