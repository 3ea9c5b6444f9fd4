/**
 * The agent's side of the registry (agent token or admin token):
 * - POST /v1/registry/instances registers an instance (idempotent on appkey + group + host + port:
 *   an agent restarting re-registers the same row) and counts as a heartbeat; a new instance of a
 *   maglev group already holding 65,535 is refused (422 too_many_instances);
 * - PUT /v1/registry/instances/{id}/status sets its lifecycle status (`stopping` before a drain);
 * - DELETE /v1/registry/instances/{id} deregisters it.
 * Writes go through runWrite (one transaction, a revision, a snapshot rebuild); the answer names
 * the revision, so the agent can ask GET /v1/propagation whether every gateway has it.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { and, eq, sql } from "drizzle-orm";
import type { Context } from "hono";
import { conflict, notFound } from "../config/errors.ts";
import { checkMaglevRoom, requireGroup } from "../config/lookup.ts";
import { toInstanceDto } from "../config/representations.ts";
import { withCascadedCuts } from "../config/traffic-cuts.ts";
import { runWrite } from "../config/write.ts";
import { latestRevisionId } from "../db/revisions.ts";
import { INSTANCE_STATUSES, instances } from "../db/schema.ts";
import { aliveSinceOnUpdate } from "../registry/alive-since.ts";
import { selectRegistryEntry, settingsOf } from "../registry/view.ts";
import { forbidden } from "./errors.ts";
import { appkeyField, idParam, instanceHostField, nameField, portField, weightField } from "./fields.ts";
import { instanceAttributeFields } from "./instance-fields.ts";
import { type ApiApp, type ApiEnv, BEARER, errors, json, jsonBody } from "./openapi.ts";
import { REVISION_HEADER, type RegistryDeps } from "./registry-deps.ts";
import { InstanceSchema } from "./resource-schemas.ts";
import { actorOf, requireScope } from "./scope.ts";

const RegisterInput = z
  .strictObject({
    appkey: appkeyField,
    group: nameField,
    host: instanceHostField,
    port: portField,
    weight: weightField.default(10),
    /** `starting` until the agent's checks pass, then PUT …/status `alive`. */
    status: z.enum(["starting", "alive"]).default("alive"),
    registration: z.enum(["ephemeral", "persistent"]).default("ephemeral"),
    ...instanceAttributeFields,
  })
  .openapi("RegisterInput");

const HeartbeatSettings = z.object({
  intervalMs: z.number().int(),
  unhealthyAfterMs: z.number().int(),
  removeAfterMs: z.number().int(),
});

const Registration = z
  .object({
    instance: InstanceSchema,
    heartbeat: HeartbeatSettings,
    /** The write's revision id; when nothing changed, the latest revision id. */
    revision: z.number().int(),
  })
  .openapi("Registration");

const StatusInput = z.strictObject({ status: z.enum(INSTANCE_STATUSES) }).openapi("StatusInput");
const StatusChange = z.object({ instance: InstanceSchema, revision: z.number().int() }).openapi("StatusChange");
const IdParams = z.object({ id: idParam.openapi({ type: "integer" }) });

const tags = ["registry"];
const register = createRoute({
  method: "post",
  path: "/v1/registry/instances",
  tags,
  security: BEARER,
  request: jsonBody(RegisterInput),
  responses: {
    200: json(Registration, "Already registered (fields updated if they differed)"),
    201: json(Registration, "Registered"),
    ...errors(400, 403, 404, 409, 422),
  },
});
const setStatus = createRoute({
  method: "put",
  path: "/v1/registry/instances/{id}/status",
  tags,
  security: BEARER,
  request: { params: IdParams, ...jsonBody(StatusInput) },
  responses: { 200: json(StatusChange, "Status set"), ...errors(400, 403, 404) },
});
const deregister = createRoute({
  method: "delete",
  path: "/v1/registry/instances/{id}",
  tags,
  security: BEARER,
  request: { params: IdParams },
  responses: { 204: { description: `Deregistered; the ${REVISION_HEADER} header names the revision` }, ...errors(400, 403, 404) },
});

type RegisterBody = z.infer<typeof RegisterInput>;

/** Registers the agent-facing instance routes on `app`. */
export function addRegistryInstanceRoutes(app: ApiApp, deps: RegistryDeps): void {
  const { registry } = deps;

  app.openapi(register, async (c) => {
    const input = c.req.valid("json");
    requireScope(c, input.appkey);
    const { result, revisionId } = await runWrite(deps, actorOf(c), async (tx) => {
      const { service, group } = await requireGroup(tx, input.appkey, input.group);
      const [existing] = await tx
        .select()
        .from(instances)
        .where(and(eq(instances.groupId, group.id), eq(instances.host, input.host), eq(instances.port, input.port)));
      const { appkey: _a, group: _g, ...fields } = input;
      const values = { ...fields, healthy: true };
      if (existing?.registration === "static") {
        throw conflict(`static instance ${existing.id} has address ${input.host}:${input.port}; the registry does not take it over`);
      }
      const heartbeat = heartbeatOf(settingsOf(service));
      if (existing && sameRegistration(existing, values)) {
        return { result: { row: existing, created: false, heartbeat }, revision: [] };
      }
      if (!existing) await checkMaglevRoom(tx, group.id, group.balancer, 1, "group");
      const [row] = existing
        ? await tx
            .update(instances)
            .set({ ...values, aliveSince: aliveSinceOnUpdate(values), updatedAt: sql`now()` })
            .where(eq(instances.id, existing.id))
            .returning()
        : await tx
            .insert(instances)
            .values({ ...values, groupId: group.id })
            .returning();
      const after = toInstanceDto(row, input.appkey, input.group);
      return {
        result: { row, created: !existing, heartbeat },
        revision: {
          action: existing ? "update" : "create",
          resource: "instance",
          resourceId: `${input.appkey}/${input.group}/${row.id}`,
          before: existing ? toInstanceDto(existing, input.appkey, input.group) : null,
          after,
        },
      };
    });
    const { row } = result;
    registry.view.put({
      id: row.id,
      appkey: input.appkey,
      group: input.group,
      registration: input.registration,
      healthy: true,
      status: row.status,
    });
    registry.heartbeats.record(row.id, undefined, Date.now());
    registry.gossip?.add(row.id, undefined);
    const revision = revisionId || (await latestRevisionId(deps.db));
    c.header(REVISION_HEADER, String(revision));
    return c.json(
      { instance: toInstanceDto(row, input.appkey, input.group), heartbeat: result.heartbeat, revision },
      result.created ? 201 : 200,
    );
  });

  app.openapi(setStatus, async (c) => {
    const { id } = c.req.valid("param");
    const { status } = c.req.valid("json");
    const { appkey, group } = await scopedInstance(c, deps, id);
    const { result, revisionId } = await runWrite(deps, actorOf(c), async (tx) => {
      const [current] = await tx.select().from(instances).where(eq(instances.id, id));
      if (!current) throw notFound(`instance ${id} not found`);
      if (current.status === status) return { result: current, revision: [] };
      const [row] = await tx
        .update(instances)
        .set({ status, aliveSince: aliveSinceOnUpdate({ status }), updatedAt: sql`now()` })
        .where(eq(instances.id, id))
        .returning();
      return {
        result: row,
        revision: {
          action: "update",
          resource: "instance",
          resourceId: `${appkey}/${group}/${id}`,
          before: toInstanceDto(current, appkey, group),
          after: toInstanceDto(row, appkey, group),
        },
      };
    });
    const entry = registry.view.get(id);
    if (entry) registry.view.put({ ...entry, status });
    const revision = revisionId || (await latestRevisionId(deps.db));
    c.header(REVISION_HEADER, String(revision));
    return c.json({ instance: toInstanceDto(result, appkey, group), revision }, 200);
  });

  app.openapi(deregister, async (c) => {
    const { id } = c.req.valid("param");
    const { appkey, group } = await scopedInstance(c, deps, id);
    const { revisionId } = await runWrite(deps, actorOf(c), async (tx) => {
      const { removed, cuts } = await withCascadedCuts(tx, () => tx.delete(instances).where(eq(instances.id, id)).returning());
      const [current] = removed;
      if (!current) throw notFound(`instance ${id} not found`);
      return {
        result: null,
        revision: [
          ...cuts,
          {
            action: "delete",
            resource: "instance",
            resourceId: `${appkey}/${group}/${id}`,
            before: toInstanceDto(current, appkey, group),
            after: null,
          },
        ],
      };
    });
    registry.view.remove(id);
    registry.heartbeats.forget(id);
    c.header(REVISION_HEADER, String(revisionId));
    return c.body(null, 204);
  });
}

/**
 * The appkey and group of instance `id`, which the caller may manage: an agent only the
 * instances agents register (ephemeral or persistent), never a static one the admin made, as
 * Nacos keeps persistent instances its clients did not register out of their reach.
 * @throws 404 when unknown, 403 when out of scope or static and the caller is an agent.
 */
async function scopedInstance(c: Context<ApiEnv>, deps: RegistryDeps, id: number): Promise<{ appkey: string; group: string }> {
  const entry = await selectRegistryEntry(deps.db, id);
  if (!entry) throw notFound(`instance ${id} not found`);
  requireScope(c, entry.appkey);
  if (c.var.role === "agent" && entry.registration === "static") {
    throw forbidden(`instance ${id} is static (made by the admin); agents manage only the instances they register`);
  }
  return { appkey: entry.appkey, group: entry.group };
}

function heartbeatOf(s: ReturnType<typeof settingsOf>) {
  return { intervalMs: s.heartbeatIntervalMs, unhealthyAfterMs: s.unhealthyAfterMs, removeAfterMs: s.removeAfterMs };
}

/** True when re-registering would change nothing stored. */
function sameRegistration(
  row: typeof instances.$inferSelect,
  values: Omit<RegisterBody, "appkey" | "group"> & { healthy: boolean },
): boolean {
  for (const [key, value] of Object.entries(values)) {
    const stored = row[key as keyof typeof row];
    if (key === "metadata" ? !sameMetadata(stored as Record<string, string>, value as Record<string, string>) : stored !== value)
      return false;
  }
  return true;
}

/** jsonb does not keep key order, so compare entries. */
function sameMetadata(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}
