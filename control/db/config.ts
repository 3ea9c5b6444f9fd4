/**
 * Reads the whole routing configuration as the snapshot compiler's input
 * (control/snapshot/model.ts), from one consistent view of the database.
 */
import { asc, eq, sql } from "drizzle-orm";
import { routingStates } from "../registry/effective.ts";
import type { ConfigModel, GroupConfig, InstanceStatus, Passway, PolicyConfig, RouteConfig } from "../snapshot/model.ts";
import type { Database } from "./connect.ts";
import { groups, instances, policies, revisions, routes, services } from "./schema.ts";

/** A model and the last revision id it includes (see snapshots.covers_revision). */
export interface ConfigSnapshot {
  model: ConfigModel;
  coversRevision: number;
}

/** The model of loadConfigSnapshot() alone. */
export async function loadConfigModel(db: Database): Promise<ConfigModel> {
  return (await loadConfigSnapshot(db)).model;
}

/**
 * Loads every group (with its instances), policy and route in one read-only REPEATABLE READ
 * transaction, so a concurrent API write is either wholly visible or not at all.
 * Rows come ordered by id (instances by id within their group), so identical data gives an
 * identical model — and an identical snapshot content hash.
 *
 * The largest revision id is read in the same view: the model includes exactly the writes up to
 * it (writes commit in revision-id order, control/api/write.ts).
 *
 * @example
 *   const { model, coversRevision } = await loadConfigSnapshot(db);
 *   // coversRevision: 42
 *   // model: { groups: [{ id: 1, appkey: "orders", name: "blue", balancer: "swrr", instances: [...] }],
 *   //   policies: [{ name: "beta", category: "public", appkey: null, group: "green", ... }],
 *   //   routes: [{ appkey: "orders", host: "*", path: "/api", match: "prefix", ... }] }
 */
export async function loadConfigSnapshot(db: Database): Promise<ConfigSnapshot> {
  return db.transaction(
    async (tx) => {
      const [{ revision }] = await tx.select({ revision: sql<string>`coalesce(max(${revisions.id}), 0)::text` }).from(revisions);
      const groupRows = await tx
        .select({ id: groups.id, appkey: services.appkey, name: groups.name })
        .from(groups)
        .innerJoin(services, eq(groups.serviceId, services.id))
        .orderBy(asc(groups.id));
      const instanceRows = await tx.select().from(instances).orderBy(asc(instances.id));
      const policyRows = await tx
        .select({ policy: policies, appkey: services.appkey })
        .from(policies)
        .leftJoin(services, eq(policies.serviceId, services.id))
        .orderBy(asc(policies.id));
      const routeRows = await tx
        .select({ route: routes, appkey: services.appkey })
        .from(routes)
        .innerJoin(services, eq(routes.serviceId, services.id))
        .orderBy(asc(routes.id));

      const groupById = new Map<number, GroupConfig>();
      for (const row of groupRows) {
        groupById.set(row.id, { ...row, balancer: "swrr", instances: [] });
      }
      const rowsByGroup = new Map<number, (typeof instanceRows)[number][]>();
      for (const row of instanceRows) {
        const list = rowsByGroup.get(row.groupId);
        if (list) list.push(row);
        else rowsByGroup.set(row.groupId, [row]);
      }
      for (const [groupId, rows] of rowsByGroup) {
        // The registry's health and OCTO roles fold into status and weight (registry/effective.ts).
        const routing = routingStates(
          rows.map((r) => ({
            status: r.status as InstanceStatus,
            healthy: r.healthy,
            role: r.role as "primary" | "backup",
            weight: r.weight,
          })),
        );
        rows.forEach((row, n) => {
          groupById.get(groupId)?.instances.push({
            id: row.id,
            host: row.host,
            port: row.port,
            weight: routing[n].weight,
            status: routing[n].status,
            zone: row.zone,
            lane: row.lane,
            version: row.version,
          });
        });
      }
      const policyConfigs: PolicyConfig[] = policyRows.map(({ policy, appkey }) => ({
        id: policy.id,
        name: policy.name,
        category: policy.category as PolicyConfig["category"],
        appkey: policy.category === "private" ? appkey : null,
        key: policy.key,
        passway: policy.passway as Passway,
        condition: policy.condition,
        group: policy.groupName,
        enabled: policy.enabled,
        graylist: policy.graylist,
      }));
      const routeConfigs: RouteConfig[] = routeRows.map(({ route, appkey }) => ({
        id: route.id,
        appkey,
        host: route.host,
        path: route.path,
        match: route.match as RouteConfig["match"],
        defaultGroup: route.defaultGroup,
        policies: route.policies,
        timeoutMs: route.timeoutMs,
        bodyCapBytes: route.bodyCapBytes,
      }));
      return {
        model: { groups: [...groupById.values()], policies: policyConfigs, routes: routeConfigs },
        coversRevision: Number(revision),
      };
    },
    { isolationLevel: "repeatable read", accessMode: "read only" },
  );
}
