/**
 * Reads the whole routing configuration as the snapshot compiler's input
 * (control/snapshot/model.ts), from one consistent view of the database: groups with their
 * balancing options, instances with the registry's verdict and the traffic cuts folded in
 * (drained flags), policies with their stored condition IR, routes with their retry policy and route cuts (forcedGroup),
 * the functions routes target (function-config.ts), each route's effective plugins (its service's
 * merged under its own) and the consumers (consumer-config.ts).
 */
import { asc, eq } from "drizzle-orm";
import { routingStatus } from "../registry/effective.ts";
import type { ConfigModel, GroupConfig, InstanceStatus, Passway, PolicyConfig, RouteConfig } from "../snapshot/model.ts";
import { type BalancerKind, type GroupBalancingInput, type RouteRetry, resolveBalancing, resolveRetry } from "../snapshot/options.ts";
import { type EffectivePlugins, effectivePlugins } from "../snapshot/plugin-options.ts";
import type { Database } from "./connect.ts";
import { loadConsumerEntries } from "./consumer-config.ts";
import { loadFunctionConfigs } from "./function-config.ts";
import { latestRevisionId } from "./revisions.ts";
import { groups, instances, policies, routes, services, trafficCuts } from "./schema.ts";

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
 * Loads every group (with its instances), policy, route and targeted function in one read-only REPEATABLE READ
 * transaction, so a concurrent API write is either wholly visible or not at all.
 * Rows come ordered by id (instances by id within their group), so identical data gives an
 * identical model — and an identical snapshot content hash.
 *
 * The largest revision id is read in the same view: the model includes exactly the writes up to
 * it (writes commit in revision-id order, control/config/write.ts).
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
      const coversRevision = await latestRevisionId(tx);
      const groupRows = await tx
        .select({
          id: groups.id,
          serviceId: groups.serviceId,
          appkey: services.appkey,
          name: groups.name,
          balancer: groups.balancer,
          balancing: groups.balancing,
        })
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
        .select({ route: routes, appkey: services.appkey, servicePlugins: services.plugins })
        .from(routes)
        .innerJoin(services, eq(routes.serviceId, services.id))
        .orderBy(asc(routes.id));
      const cutRows = await tx.select().from(trafficCuts).orderBy(asc(trafficCuts.id));

      const groupById = new Map<number, GroupConfig>();
      const serviceOfGroup = new Map<number, number>();
      for (const row of groupRows) {
        groupById.set(row.id, {
          id: row.id,
          appkey: row.appkey,
          name: row.name,
          balancer: row.balancer as BalancerKind,
          balancing: resolveBalancing(row.balancing as GroupBalancingInput),
          instances: [],
        });
        serviceOfGroup.set(row.id, row.serviceId);
      }
      const drained = drainedBy(cutRows);
      // instanceRows come by id, so each group's instances stay in id order.
      for (const row of instanceRows) {
        groupById.get(row.groupId)?.instances.push({
          id: row.id,
          host: row.host,
          port: row.port,
          weight: row.weight,
          status: routingStatus(row.status as InstanceStatus, row.healthy),
          zone: row.zone,
          lane: row.lane,
          version: row.version,
          role: row.role as "primary" | "backup",
          region: row.region,
          cell: row.cell,
          warmupMs: row.warmupSeconds * 1000,
          aliveSinceMs: row.aliveSince.getTime(),
          drained: drained(row.id, row.groupId, serviceOfGroup.get(row.groupId) ?? 0, row.zone),
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
        ...(policy.conditionIr === null ? {} : { storedIr: policy.conditionIr }),
        group: policy.groupName,
        enabled: policy.enabled,
        graylist: policy.graylist,
      }));
      const forcedGroup = new Map(
        cutRows.filter((c) => c.routeId !== null && c.toGroup !== null).map((c) => [c.routeId, c.toGroup as string]),
      );
      const routeConfigs: RouteConfig[] = routeRows.map(({ route, appkey, servicePlugins }) => ({
        id: route.id,
        appkey,
        host: route.host,
        path: route.path,
        match: route.match as RouteConfig["match"],
        defaultGroup: route.defaultGroup,
        ...(route.function === null ? {} : { function: route.function }),
        policies: route.policies,
        timeoutMs: route.timeoutMs,
        bodyCapBytes: route.bodyCapBytes,
        retry: resolveRetry(route.retry as Partial<RouteRetry>),
        ...(forcedGroup.has(route.id) ? { forcedGroup: forcedGroup.get(route.id) } : {}),
        ...withPlugins(effectivePlugins(servicePlugins, route.plugins)),
      }));
      const targeted = routeRows.flatMap(({ route, appkey }) =>
        route.function === null ? [] : [{ serviceId: route.serviceId, appkey, name: route.function }],
      );
      const functionConfigs = await loadFunctionConfigs(tx, targeted);
      const consumerEntries = await loadConsumerEntries(tx);
      return {
        model: {
          groups: [...groupById.values()],
          policies: policyConfigs,
          routes: routeConfigs,
          ...(functionConfigs.length > 0 ? { functions: functionConfigs } : {}),
          ...(consumerEntries.length > 0 ? { consumers: consumerEntries } : {}),
        },
        coversRevision,
      };
    },
    { isolationLevel: "repeatable read", accessMode: "read only" },
  );
}

/**
 * Whether the active cuts drain an instance: an instance cut names it, a group cut its group, a
 * zone cut its zone (in any service, or in the cut's service).
 * @returns `(instanceId, groupId, serviceId, zone) → drained`.
 */
function drainedBy(cuts: readonly (typeof trafficCuts.$inferSelect)[]) {
  const instanceIds = new Set<number>();
  const groupIds = new Set<number>();
  const zones = new Set<string>();
  for (const cut of cuts) {
    if (cut.instanceId !== null) instanceIds.add(cut.instanceId);
    if (cut.groupId !== null) groupIds.add(cut.groupId);
    if (cut.zone !== null) zones.add(`${cut.serviceId ?? "*"}/${cut.zone}`);
  }
  return (instanceId: number, groupId: number, serviceId: number, zone: string): boolean =>
    instanceIds.has(instanceId) || groupIds.has(groupId) || (zone !== "" && (zones.has(`*/${zone}`) || zones.has(`${serviceId}/${zone}`)));
}

/** `{plugins}` when the route has any effective plugin, else nothing (the model then equals a plugin-free one). */
function withPlugins(plugins: EffectivePlugins): { plugins?: EffectivePlugins } {
  return Object.keys(plugins).length > 0 ? { plugins } : {};
}
