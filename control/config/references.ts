/**
 * Reference rules between resources, checked inside the write transaction (under the config
 * write lock, see write.ts) so a check and the write it guards see the same data.
 *
 * - A private policy's `group` must be a group of its own service.
 * - A route's `defaultGroup` must be a group of the route's service, or its `function` a function
 *   of the route's service; every listed policy must
 *   exist, be public or private to the route's service, and target a group the route's service has
 *   (a policy's group is resolved within the appkey of each route that uses it: model.ts).
 * - A route traffic cut's `toGroup` must be a group of the route's service, also after the route
 *   moves to another service.
 * - anti-scraping's `suspectGroup` (on a route, or on a service as its routes' default) must be a
 *   group of the route's (the) service.
 * - A group, policy or function that something still refers to cannot be deleted (a conflict
 *   naming its referrers).
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Queryable } from "../db/connect.ts";
import { functions, groups, policies, routes, services, trafficCuts } from "../db/schema.ts";
import { pluginGroupReferences } from "../snapshot/plugin-options.ts";
import { type Referrer, unprocessable } from "./errors.ts";
import type { ServiceRow } from "./lookup.ts";

/** The parts of a policy the rules look at. */
export interface PolicyTarget {
  name: string;
  category: "private" | "public";
  /** Owning service for private policies. */
  service: ServiceRow | null;
  group: string;
}

/** Names of the groups of service `serviceId`. */
async function groupNames(db: Queryable, serviceId: number): Promise<Set<string>> {
  const rows = await db.select({ name: groups.name }).from(groups).where(eq(groups.serviceId, serviceId));
  return new Set(rows.map((row) => row.name));
}

/** A private policy must target a group of its own service. @throws ConfigError unprocessable */
export async function checkPolicyGroup(db: Queryable, policy: PolicyTarget): Promise<void> {
  if (policy.category !== "private" || !policy.service) return;
  if (!(await groupNames(db, policy.service.id)).has(policy.group)) {
    throw unprocessable("group_not_found", `group "${policy.group}" does not exist in service "${policy.service.appkey}"`, "group");
  }
}

/**
 * Every route listing the policy must still be able to use it after the change (a policy made
 * private, moved to another service, or pointed at another group).
 * @throws ConfigError unprocessable
 */
export async function checkPolicyUsers(db: Queryable, policy: PolicyTarget): Promise<void> {
  const users = await db
    .select({ id: routes.id, serviceId: routes.serviceId, appkey: services.appkey })
    .from(routes)
    .innerJoin(services, eq(routes.serviceId, services.id))
    .where(listsPolicy(policy.name));
  for (const route of users) {
    if (policy.category === "private" && policy.service?.id !== route.serviceId) {
      throw unprocessable(
        "private_policy_of_other_service",
        `route ${route.id} of service "${route.appkey}" lists this policy; a private policy of ` +
          `service "${policy.service?.appkey}" is usable only by routes of that service`,
        policy.service ? "appkey" : "category",
      );
    }
    if (!(await groupNames(db, route.serviceId)).has(policy.group)) {
      throw unprocessable(
        "policy_group_not_found",
        `route ${route.id} of service "${route.appkey}" lists this policy, but that service has ` + `no group "${policy.group}"`,
        "group",
      );
    }
  }
}

/** A route as the rules see it: its default target is a group or a function, never both. */
export type RouteReferences = { service: ServiceRow; policies: string[] } & ({ defaultGroup: string } | { function: string });

/** Checks a route's default target and policy list against its service. @throws ConfigError unprocessable */
export async function checkRouteReferences(db: Queryable, route: RouteReferences): Promise<void> {
  const appkey = route.service.appkey;
  const names = await groupNames(db, route.service.id);
  if ("function" in route) {
    const [fn] = await db
      .select({ id: functions.id })
      .from(functions)
      .where(and(eq(functions.serviceId, route.service.id), eq(functions.name, route.function)));
    if (!fn) throw unprocessable("function_not_found", `function "${route.function}" is not a function of service "${appkey}"`, "function");
  } else if (!names.has(route.defaultGroup)) {
    throw unprocessable("group_not_found", `defaultGroup "${route.defaultGroup}" is not a group of service "${appkey}"`, "defaultGroup");
  }
  if (route.policies.length === 0) return;
  const rows = await db
    .select({ policy: policies, owner: services.appkey })
    .from(policies)
    .leftJoin(services, eq(policies.serviceId, services.id))
    .where(inArray(policies.name, route.policies));
  const byName = new Map(rows.map((row) => [row.policy.name, row]));
  route.policies.forEach((name, index) => {
    const field = `policies[${index}]`;
    const row = byName.get(name);
    if (!row) throw unprocessable("policy_not_found", `policy "${name}" does not exist`, field);
    if (row.policy.category === "private" && row.policy.serviceId !== route.service.id) {
      throw unprocessable(
        "private_policy_of_other_service",
        `policy "${name}" is private to service "${row.owner}" and cannot be used by routes of ` + `service "${appkey}"`,
        field,
      );
    }
    if (!names.has(row.policy.groupName)) {
      throw unprocessable(
        "policy_group_not_found",
        `policy "${name}" targets group "${row.policy.groupName}", which service "${appkey}" ` + "does not have",
        field,
      );
    }
  });
}

/** SQL: the route's policy list contains `name` (jsonb containment, PG ≥ 9.4). */
function listsPolicy(name: string) {
  return sql`${routes.policies} @> ${JSON.stringify([name])}::jsonb`;
}

/** Routes that list policy `name`. */
export async function findPolicyReferrers(db: Queryable, name: string): Promise<Referrer[]> {
  const rows = await db.select({ id: routes.id }).from(routes).where(listsPolicy(name)).orderBy(routes.id);
  return rows.map((row) => ({ resource: "route", id: String(row.id), via: "policies" }));
}

/**
 * The groups a `plugins` object names (anti-scraping's suspectGroup) must be groups of `service`.
 * @throws ConfigError unprocessable `group_not_found` naming the field (`plugins.anti-scraping.suspectGroup`).
 */
export async function checkPluginGroups(db: Queryable, service: ServiceRow, plugins: Record<string, unknown>): Promise<void> {
  const references = pluginGroupReferences(plugins);
  if (references.length === 0) return;
  const names = await groupNames(db, service.id);
  for (const [field, group] of references) {
    if (!names.has(group)) {
      throw unprocessable("group_not_found", `group "${group}" does not exist in service "${service.appkey}"`, field);
    }
  }
}

/** The suspect group a stored `plugins` object names, or undefined. */
function suspectGroupOf(plugins: Record<string, unknown>): string | undefined {
  const scraping = plugins["anti-scraping"] as { suspectGroup?: string } | null | undefined;
  return scraping?.suspectGroup;
}

/**
 * What refers to group `name` of `service`: its routes' defaultGroup, its private policies'
 * group, and its routes that list a (public) policy targeting that group name.
 */
export async function findGroupReferrers(db: Queryable, service: ServiceRow, name: string): Promise<Referrer[]> {
  const referrers: Referrer[] = [];
  const serviceRoutes = await db
    .select({ id: routes.id, defaultGroup: routes.defaultGroup, policies: routes.policies, plugins: routes.plugins })
    .from(routes)
    .where(eq(routes.serviceId, service.id))
    .orderBy(routes.id);
  for (const route of serviceRoutes) {
    if (route.defaultGroup === name) {
      referrers.push({ resource: "route", id: String(route.id), via: "defaultGroup" });
    }
    if (suspectGroupOf(route.plugins) === name) {
      referrers.push({ resource: "route", id: String(route.id), via: "plugins.anti-scraping.suspectGroup" });
    }
  }
  const [owner] = await db.select({ plugins: services.plugins }).from(services).where(eq(services.id, service.id));
  if (owner && suspectGroupOf(owner.plugins) === name) {
    referrers.push({ resource: "service", id: service.appkey, via: "plugins.anti-scraping.suspectGroup" });
  }
  const privatePolicies = await db
    .select({ name: policies.name })
    .from(policies)
    .where(and(eq(policies.serviceId, service.id), eq(policies.groupName, name)))
    .orderBy(policies.name);
  for (const policy of privatePolicies) {
    referrers.push({ resource: "policy", id: policy.name, via: "group" });
  }
  const targeting = await db
    .select({ name: policies.name })
    .from(policies)
    .where(and(eq(policies.category, "public"), eq(policies.groupName, name)));
  const publicNames = new Set(targeting.map((policy) => policy.name));
  for (const route of serviceRoutes) {
    for (const policy of route.policies) {
      if (publicNames.has(policy)) {
        referrers.push({ resource: "route", id: String(route.id), via: `policy "${policy}"` });
      }
    }
  }
  const cuts = await db
    .select({ id: trafficCuts.id, routeId: trafficCuts.routeId })
    .from(trafficCuts)
    .innerJoin(routes, eq(trafficCuts.routeId, routes.id))
    .where(and(eq(routes.serviceId, service.id), eq(trafficCuts.toGroup, name)))
    .orderBy(trafficCuts.id);
  for (const cut of cuts) {
    referrers.push({ resource: "traffic_cut", id: String(cut.id), via: `forces route ${cut.routeId} to this group` });
  }
  return referrers;
}

/** Routes that send their default traffic to function `name` of service `serviceId`. */
export async function findFunctionReferrers(db: Queryable, serviceId: number, name: string): Promise<Referrer[]> {
  const rows = await db
    .select({ id: routes.id })
    .from(routes)
    .where(and(eq(routes.serviceId, serviceId), eq(routes.function, name)))
    .orderBy(routes.id);
  return rows.map((row) => ({ resource: "route", id: String(row.id), via: "function" }));
}

/**
 * An active route cut of route `routeId` must still name a group of the route's service after a
 * replace moves it to `service`. @throws ConfigError unprocessable
 */
export async function checkRouteCut(db: Queryable, routeId: number, service: ServiceRow): Promise<void> {
  const [cut] = await db
    .select({ id: trafficCuts.id, toGroup: trafficCuts.toGroup })
    .from(trafficCuts)
    .where(eq(trafficCuts.routeId, routeId));
  if (!cut?.toGroup || (await groupNames(db, service.id)).has(cut.toGroup)) return;
  throw unprocessable(
    "traffic_cut_group_not_found",
    `traffic cut ${cut.id} forces this route to group "${cut.toGroup}", which service "${service.appkey}" does not have; undo the cut first`,
    "appkey",
  );
}

/** What keeps a service from being deleted: its routes, its private policies and its functions. */
export async function findServiceReferrers(db: Queryable, service: ServiceRow): Promise<Referrer[]> {
  const routeRows = await db.select({ id: routes.id }).from(routes).where(eq(routes.serviceId, service.id)).orderBy(routes.id);
  const policyRows = await db
    .select({ name: policies.name })
    .from(policies)
    .where(eq(policies.serviceId, service.id))
    .orderBy(policies.name);
  const functionRows = await db
    .select({ name: functions.name })
    .from(functions)
    .where(eq(functions.serviceId, service.id))
    .orderBy(functions.name);
  return [
    ...routeRows.map((r): Referrer => ({ resource: "route", id: String(r.id), via: "appkey" })),
    ...policyRows.map((p): Referrer => ({ resource: "policy", id: p.name, via: "appkey" })),
    ...functionRows.map((f): Referrer => ({ resource: "function", id: f.name, via: "appkey" })),
  ];
}
