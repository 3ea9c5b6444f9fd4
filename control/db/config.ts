/**
 * Reads the whole routing configuration as the snapshot compiler's input
 * (control/snapshot/model.ts), from one consistent view of the database.
 */
import { asc, eq } from "drizzle-orm";
import type { ConfigModel, GroupConfig, InstanceStatus, Passway, PolicyConfig, RouteConfig } from "../snapshot/model.ts";
import type { Database } from "./connect.ts";
import { groups, instances, policies, routes, services } from "./schema.ts";

/**
 * Loads every group (with its instances), policy and route in one read-only REPEATABLE READ
 * transaction, so a concurrent API write is either wholly visible or not at all.
 * Rows come ordered by id (instances by id within their group), so identical data gives an
 * identical model — and an identical snapshot content hash.
 *
 * @example
 *   const model = await loadConfigModel(db);
 *   // { groups: [{ id: 1, appkey: "orders", name: "blue", balancer: "swrr", instances: [...] }],
 *   //   policies: [{ name: "beta", category: "public", appkey: null, group: "green", ... }],
 *   //   routes: [{ appkey: "orders", host: "*", path: "/api", match: "prefix", ... }] }
 */
export async function loadConfigModel(db: Database): Promise<ConfigModel> {
  return db.transaction(
    async (tx) => {
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
      for (const row of instanceRows) {
        groupById.get(row.groupId)?.instances.push({
          id: row.id,
          host: row.host,
          port: row.port,
          weight: row.weight,
          status: row.status as InstanceStatus,
          zone: row.zone,
          lane: row.lane,
          version: row.version,
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
      }));
      return { groups: [...groupById.values()], policies: policyConfigs, routes: routeConfigs };
    },
    { isolationLevel: "repeatable read", accessMode: "read only" },
  );
}
