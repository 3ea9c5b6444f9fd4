/**
 * Reading and storing policies: the lookups by name and the checked insert/update every policy
 * write goes through (control/api/policies.ts holds the HTTP side).
 */
import { eq, sql } from "drizzle-orm";
import { keyAttribute, storedConditionIr } from "../compiler/index.ts";
import type { Queryable, Transaction } from "../db/connect.ts";
import { policies, services } from "../db/schema.ts";
import { notFound, unprocessable } from "./errors.ts";
import { findService, type ServiceRow } from "./lookup.ts";
import { checkPolicyGroup, checkPolicyUsers } from "./references.ts";
import { type PolicyDto, toPolicyDto } from "./representations.ts";

type PolicyRow = typeof policies.$inferSelect;

/**
 * A policy's fields as storePolicy writes them, already checked for shape (control/api/
 * policy-input.ts: formats, the private/public ↔ appkey pairing, the CEL condition).
 */
export type PolicyValues = Omit<PolicyDto, "name" | "appkey" | "createdAt" | "updatedAt"> & {
  /** The owning service of a private policy; absent or null for a public one. */
  appkey?: string | null;
};

/** Policy `name` as row and API representation, or null. */
export async function findPolicy(db: Queryable, name: string): Promise<{ row: PolicyRow; dto: PolicyDto } | null> {
  const [found] = await db
    .select({ row: policies, appkey: services.appkey })
    .from(policies)
    .leftJoin(services, eq(policies.serviceId, services.id))
    .where(eq(policies.name, name));
  return found ? { row: found.row, dto: toPolicyDto(found.row, found.appkey) } : null;
}

/** Policy `name`. @throws ConfigError not_found when there is none. */
export async function requirePolicy(db: Queryable, name: string) {
  const found = await findPolicy(db, name);
  if (!found) throw notFound(`policy "${name}" not found`);
  return found;
}

/** The owning service of a private policy. @throws ConfigError unprocessable when the appkey is unknown. */
async function resolveOwner(tx: Queryable, input: PolicyValues): Promise<ServiceRow | null> {
  if (input.category !== "private" || !input.appkey) return null;
  const service = await findService(tx, input.appkey);
  if (!service) throw unprocessable("service_not_found", `service "${input.appkey}" does not exist`, "appkey");
  return service;
}

/**
 * Checks `input` against the database (owner service, target group, routes that list the
 * policy) and writes it as policy `name`: an update of `existing`, or an insert when null.
 * The row's `condition_ir` is written by the same statement as its condition, key and passway,
 * so the stored IR always belongs to the stored source (docs/conditions.md, "Stored IR").
 * @returns the stored policy's API representation.
 * @throws ConfigError unprocessable when a reference does not resolve.
 */
export async function storePolicy(tx: Transaction, name: string, input: PolicyValues, existing: PolicyRow | null) {
  const service = await resolveOwner(tx, input);
  const target = { name, category: input.category, service, group: input.group };
  await checkPolicyGroup(tx, target);
  if (existing) await checkPolicyUsers(tx, target);
  const values = {
    name,
    category: input.category,
    serviceId: service?.id ?? null,
    key: input.key,
    passway: input.passway,
    condition: input.condition,
    conditionIr: storedConditionIr(input.condition, keyAttribute(input.passway, input.key)),
    groupName: input.group,
    enabled: input.enabled,
    graylist: input.graylist,
  };
  const [row] = existing
    ? await tx
        .update(policies)
        .set({ ...values, updatedAt: sql`now()` })
        .where(eq(policies.id, existing.id))
        .returning()
    : await tx.insert(policies).values(values).returning();
  return toPolicyDto(row, service?.appkey ?? null);
}
