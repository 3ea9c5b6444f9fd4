/**
 * /v1/services/{appkey}/groups/{name}/instances: backend instances (host:port) of a group, with
 * OCTO's node fields. (group, host, port) is unique. Instances created here are `static` unless
 * the body says otherwise; `healthy` belongs to the registry and is never set through this API.
 * A maglev group takes at most 65,535 instances (422 too_many_instances; checkMaglevRoom in
 * control/config/lookup.ts).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { asc, eq, sql } from "drizzle-orm";
import { checkMaglevRoom, checkUniqueAddress, requireGroup, requireInstance } from "../config/lookup.ts";
import { toInstanceDto } from "../config/representations.ts";
import { withCascadedCuts } from "../config/traffic-cuts.ts";
import { type ConfigDeps, runWrite } from "../config/write.ts";
import { INSTANCE_STATUSES, instances, REGISTRATIONS } from "../db/schema.ts";
import { aliveSinceOnUpdate } from "../registry/alive-since.ts";
import { appkeyField, idParam, instanceHostField, nameField, portField, weightField } from "./fields.ts";
import { instanceAttributeFields } from "./instance-fields.ts";
import { type ApiApp, BEARER, errors, json, jsonBody, listOf } from "./openapi.ts";
import { InstanceSchema } from "./resource-schemas.ts";

/** Create and full replacement share one shape; omitted optional fields take their defaults. */
const InstanceInput = z
  .strictObject({
    host: instanceHostField,
    port: portField,
    weight: weightField.default(10),
    status: z.enum(INSTANCE_STATUSES).default("alive"),
    registration: z.enum(REGISTRATIONS).default("static"),
    ...instanceAttributeFields,
  })
  .openapi("InstanceInput");
const GroupParams = z.object({ appkey: appkeyField, name: nameField });
const InstanceParams = z.object({
  appkey: appkeyField,
  name: nameField,
  id: idParam.openapi({ type: "integer" }),
});

const tags = ["instances"];
const base = "/v1/services/{appkey}/groups/{name}/instances";

const createInstance = createRoute({
  method: "post",
  path: base,
  tags,
  security: BEARER,
  request: { params: GroupParams, ...jsonBody(InstanceInput) },
  responses: { 201: json(InstanceSchema, "Created"), ...errors(400, 404, 409, 422) },
});
const listInstances = createRoute({
  method: "get",
  path: base,
  tags,
  security: BEARER,
  request: { params: GroupParams },
  responses: { 200: json(listOf(InstanceSchema), "The group's instances, by id"), ...errors(400, 404) },
});
const getInstance = createRoute({
  method: "get",
  path: `${base}/{id}`,
  tags,
  security: BEARER,
  request: { params: InstanceParams },
  responses: { 200: json(InstanceSchema, "The instance"), ...errors(400, 404) },
});
const replaceInstance = createRoute({
  method: "put",
  path: `${base}/{id}`,
  tags,
  security: BEARER,
  request: { params: InstanceParams, ...jsonBody(InstanceInput) },
  responses: { 200: json(InstanceSchema, "Replaced"), ...errors(400, 404, 409) },
});
const deleteInstance = createRoute({
  method: "delete",
  path: `${base}/{id}`,
  tags,
  security: BEARER,
  request: { params: InstanceParams },
  responses: { 204: { description: "Deleted" }, ...errors(400, 404) },
});

/** Registers the instance routes on `app`. */
export function addInstanceRoutes(app: ApiApp, deps: ConfigDeps): void {
  app.openapi(createInstance, async (c) => {
    const { appkey, name } = c.req.valid("param");
    const input = c.req.valid("json");
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      const { group } = await requireGroup(tx, appkey, name);
      await checkUniqueAddress(tx, group.id, input.host, input.port);
      await checkMaglevRoom(tx, group.id, group.balancer, 1, "name");
      const [row] = await tx
        .insert(instances)
        .values({ ...input, groupId: group.id })
        .returning();
      const after = toInstanceDto(row, appkey, name);
      return {
        result: after,
        revision: {
          action: "create",
          resource: "instance",
          resourceId: `${appkey}/${name}/${row.id}`,
          before: null,
          after,
        },
      };
    });
    return c.json(result, 201);
  });

  app.openapi(listInstances, async (c) => {
    const { appkey, name } = c.req.valid("param");
    const { group } = await requireGroup(deps.db, appkey, name);
    const rows = await deps.db.select().from(instances).where(eq(instances.groupId, group.id)).orderBy(asc(instances.id));
    return c.json({ items: rows.map((row) => toInstanceDto(row, appkey, name)) }, 200);
  });

  app.openapi(getInstance, async (c) => {
    const { appkey, name, id } = c.req.valid("param");
    const { group } = await requireGroup(deps.db, appkey, name);
    const row = await requireInstance(deps.db, group.id, id, `group "${name}" of service "${appkey}"`);
    return c.json(toInstanceDto(row, appkey, name), 200);
  });

  app.openapi(replaceInstance, async (c) => {
    const { appkey, name, id } = c.req.valid("param");
    const input = c.req.valid("json");
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      const { group } = await requireGroup(tx, appkey, name);
      const current = await requireInstance(tx, group.id, id, `group "${name}" of service "${appkey}"`);
      await checkUniqueAddress(tx, group.id, input.host, input.port, id);
      const [row] = await tx
        .update(instances)
        .set({ ...input, aliveSince: aliveSinceOnUpdate({ status: input.status }), updatedAt: sql`now()` })
        .where(eq(instances.id, id))
        .returning();
      const before = toInstanceDto(current, appkey, name);
      const after = toInstanceDto(row, appkey, name);
      return {
        result: after,
        revision: {
          action: "update",
          resource: "instance",
          resourceId: `${appkey}/${name}/${id}`,
          before,
          after,
        },
      };
    });
    return c.json(result, 200);
  });

  app.openapi(deleteInstance, async (c) => {
    const { appkey, name, id } = c.req.valid("param");
    await runWrite(deps, c.var.role, async (tx) => {
      const { group } = await requireGroup(tx, appkey, name);
      const current = await requireInstance(tx, group.id, id, `group "${name}" of service "${appkey}"`);
      const { cuts } = await withCascadedCuts(tx, () => tx.delete(instances).where(eq(instances.id, id)));
      const before = toInstanceDto(current, appkey, name);
      return {
        result: null,
        revision: [...cuts, { action: "delete", resource: "instance", resourceId: `${appkey}/${name}/${id}`, before, after: null }],
      };
    });
    return c.body(null, 204);
  });
}
