/**
 * The policy half of a snapshot: lowers every policy's condition once — decoding the IR admission
 * stored with the policy when it is usable, parsing the source only when not (control/compiler,
 * ir-codec.ts) — then
 * compiles each route's policy list into one program (control/compiler/emit/route.ts) and lays
 * out POLICIES, ROUTES, ROUTE_POLICIES, ROUTE_SLOTS, ATTRIBUTES,
 * CODE, DATA and INTERN. Routes with the same policy list share one program. A route forced by a
 * traffic cut (RouteConfig.forcedGroup) is compiled as listing no policy, with the forced group as
 * its default. Each route carries its retry policy (ROUTES retry fields).
 */

import { type AttributeRef, attributeKey, type IrNode } from "../../wasm/cel/ir.ts";
import { decodeStoredIr } from "../../wasm/cel/ir-codec.ts";
import { DataWriter, InternTable } from "../compiler/emit/data.ts";
import { emitRoute, type RouteProgram } from "../compiler/emit/route.ts";
import { keyAttribute, lowerCondition } from "../compiler/index.ts";
import {
  MATCH_CODES,
  PASSWAY_CODES,
  POLICY_FLAG_ENABLED,
  RETRY_FLAG_NON_IDEMPOTENT,
  ROUTE,
  ROUTE_FLAG_FORCED,
  ROUTE_FLAG_READS_BODY,
  SECTION,
  SOURCE_CODES,
} from "./layout.ts";
import { DEFAULT_BODY_CAP_BYTES, type PolicyConfig, type RouteConfig } from "./model.ts";
import { RETRY_ON_CLASSES, type RouteRetry, resolveRetry } from "./options.ts";
import { concat, Records, strrefBytes } from "./records.ts";
import type { StringPool } from "./string-pool.ts";

/** Raised when the model is inconsistent (the API refuses such writes, so this is a bug guard). */
export class SnapshotModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SnapshotModelError";
  }
}

/**
 * Lowers a policy's condition for its key (control/compiler lowerCondition; tests may substitute).
 * Called only for policies without usable stored IR (PolicyConfig.storedIr).
 */
export type LowerFn = (source: string, key: AttributeRef) => IrNode;

export interface PolicySections {
  POLICIES: Uint8Array;
  ROUTES: Uint8Array;
  ROUTE_POLICIES: Uint8Array;
  ROUTE_SLOTS: Uint8Array;
  ATTRIBUTES: Uint8Array;
  CODE: Uint8Array;
  DATA: Uint8Array;
  INTERN: Uint8Array;
  /** ATTRIBUTES index of each of `extraAttributes`, in order. */
  extraAttributeIndex: number[];
}

/** ROUTES.retryOn: bit i set when RETRY_ON_CLASSES[i] is listed. @example ["connect-failure", "5xx"] → 0b10001 */
export function retryOnBits(retryOn: RouteRetry["retryOn"]): number {
  return retryOn.reduce((bits, on) => bits | (1 << RETRY_ON_CLASSES.indexOf(on)), 0);
}

/**
 * @param routes in ROUTES order (already sorted by host and precedence).
 * @param resolveGroup GROUPS index of group `name` in service `appkey`; throws when absent.
 * @param lower lowers the conditions of policies whose stored IR is absent, stale or damaged.
 * @param extraAttributes attributes read outside route programs (groups' hash keys): added to
 *   ATTRIBUTES after the routes' own, deduplicated with them.
 * @throws SnapshotModelError on a dangling policy name or a private policy used by another
 *   service; ConditionError on a condition the compiler refuses.
 */
export function compilePolicies(
  policies: PolicyConfig[],
  routes: RouteConfig[],
  pool: StringPool,
  resolveGroup: (appkey: string, name: string, what: string) => number,
  lower: LowerFn = lowerCondition,
  extraAttributes: readonly AttributeRef[] = [],
): PolicySections {
  const str = (s: string) => pool.intern(s);
  const sorted = [...policies].sort((a, b) => a.id - b.id);
  const policyIndex = new Map(sorted.map((p, i) => [p.name, i]));
  const lowered: { key: AttributeRef; ir: IrNode }[] = sorted.map((p) => {
    const key = keyAttribute(p.passway, p.key);
    return { key, ir: decodeStoredIr(p.storedIr, key) ?? lower(p.condition, key) };
  });
  const policyRecords = new Records(sorted.length, SECTION.POLICIES.record);
  sorted.forEach((p, i) => {
    const r = i * SECTION.POLICIES.record;
    policyRecords.u32(r, p.id);
    policyRecords.str(r + 4, str(p.name));
    policyRecords.u8(r + 12, PASSWAY_CODES[p.passway]);
    policyRecords.u8(r + 13, p.enabled ? POLICY_FLAG_ENABLED : 0);
  });

  const attributes: AttributeRef[] = [];
  const attributeIndex = new Map<string, number>();
  const attributeOf = (a: AttributeRef) => {
    const k = attributeKey(a);
    let i = attributeIndex.get(k);
    if (i === undefined) {
      i = attributes.push(a) - 1;
      attributeIndex.set(k, i);
    }
    return i;
  };

  const env = { strings: str, data: new DataWriter(), intern: new InternTable() };
  const programs = new Map<
    string,
    { offset: number; length: number; firstSlot: number; slots: RouteProgram["slots"]; readsFields: number }
  >();
  const code: Uint8Array[] = [];
  let codeSize = 0;
  const slotRecords: number[] = []; // u16 attribute, u8 mode per slot
  const routeRecords = new Records(routes.length, SECTION.ROUTES.record);
  const bindingRecords = new Records(
    routes.reduce((n, r) => n + listedPolicies(r).length, 0),
    SECTION.ROUTE_POLICIES.record,
  );
  let bindingAt = 0;
  routes.forEach((route, ri) => {
    const listed = listedPolicies(route);
    const indices = listed.map((name) => {
      const pi = policyIndex.get(name);
      if (pi === undefined) throw new SnapshotModelError(`route ${route.id}: policy '${name}' does not exist`);
      const p = sorted[pi] as PolicyConfig;
      if (p.category === "private" && p.appkey !== route.appkey) {
        throw new SnapshotModelError(`route ${route.id}: policy '${name}' is private to '${p.appkey}'`);
      }
      const b = bindingAt * SECTION.ROUTE_POLICIES.record;
      bindingRecords.u32(b, pi);
      bindingRecords.u32(b + 4, resolveGroup(route.appkey, p.group, `route ${route.id} policy '${name}'`));
      bindingAt += 1;
      return pi;
    });
    const programKey = listed.join("\u0000");
    let program = programs.get(programKey);
    if (!program) {
      const compiled = emitRoute(
        indices.map((pi, binding) => {
          const p = sorted[pi] as PolicyConfig;
          const l = lowered[pi] as { key: AttributeRef; ir: IrNode };
          return { binding, condition: l.ir, key: l.key, graylist: p.graylist, enabled: p.enabled };
        }),
        env,
      );
      program = {
        offset: codeSize,
        length: compiled.code.length,
        firstSlot: slotRecords.length,
        slots: compiled.slots,
        readsFields: compiled.readsFields,
      };
      code.push(compiled.code);
      codeSize += compiled.code.length;
      for (const s of compiled.slots) slotRecords.push(attributeOf(s.attr), s.mode);
      programs.set(programKey, program);
    }
    const r = ri * SECTION.ROUTES.record;
    routeRecords.u32(r + ROUTE.id, route.id);
    routeRecords.str(r + ROUTE.path, str(route.path));
    routeRecords.u8(r + ROUTE.match, MATCH_CODES[route.match]);
    const forced = route.forcedGroup !== undefined;
    const defaultGroup = route.forcedGroup ?? route.defaultGroup;
    routeRecords.u32(r + ROUTE.defaultGroup, resolveGroup(route.appkey, defaultGroup, `route ${route.id}`));
    routeRecords.u32(r + ROUTE.timeoutMs, route.timeoutMs);
    const readsBody = program.slots.some((s) => s.attr.source === "body");
    routeRecords.u8(r + ROUTE.flags, (readsBody ? ROUTE_FLAG_READS_BODY : 0) | program.readsFields | (forced ? ROUTE_FLAG_FORCED : 0));
    routeRecords.u16(r + ROUTE.policyCount, listed.length);
    routeRecords.u32(r + ROUTE.firstPolicy, bindingAt - listed.length);
    routeRecords.u32(r + ROUTE.bodyCapBytes, route.bodyCapBytes ?? DEFAULT_BODY_CAP_BYTES);
    routeRecords.u32(r + ROUTE.codeOffset, program.offset);
    routeRecords.u32(r + ROUTE.codeLength, program.length);
    routeRecords.u32(r + ROUTE.firstSlot, program.firstSlot / 2);
    routeRecords.u16(r + ROUTE.slotCount, program.slots.length);
    const retry = route.retry ?? resolveRetry({});
    routeRecords.u32(r + ROUTE.perTryTimeoutMs, retry.perTryTimeoutMs);
    routeRecords.u8(r + ROUTE.retryOn, retryOnBits(retry.retryOn));
    routeRecords.u8(r + ROUTE.numRetries, retry.numRetries);
    routeRecords.u8(r + ROUTE.retryFlags, retry.retryNonIdempotent ? RETRY_FLAG_NON_IDEMPOTENT : 0);
    routeRecords.u8(r + ROUTE.retryBudgetPercent, retry.budgetPercent);
    routeRecords.u32(r + ROUTE.retryMinConcurrency, retry.minRetryConcurrency);
    routeRecords.u32(r + ROUTE.retryBackoffBaseMs, retry.backoffBaseMs);
    routeRecords.u32(r + ROUTE.retryBackoffMaxMs, retry.backoffMaxMs);
  });
  const extraAttributeIndex = extraAttributes.map(attributeOf);

  const slots = new Records(slotRecords.length / 2, SECTION.ROUTE_SLOTS.record);
  for (let i = 0; i < slotRecords.length; i += 2) {
    slots.u16(i * 2, slotRecords[i] as number);
    slots.u8(i * 2 + 2, slotRecords[i + 1] as number);
  }
  const attributeRecords = new Records(attributes.length, SECTION.ATTRIBUTES.record);
  attributes.forEach((a, i) => {
    attributeRecords.u8(i * 12, SOURCE_CODES[a.source]);
    attributeRecords.str(i * 12 + 4, str(a.name));
  });
  return {
    POLICIES: policyRecords.bytes,
    ROUTES: routeRecords.bytes,
    ROUTE_POLICIES: bindingRecords.bytes,
    ROUTE_SLOTS: slots.bytes,
    ATTRIBUTES: attributeRecords.bytes,
    CODE: concat(code),
    DATA: env.data.bytes(),
    INTERN: strrefBytes(env.intern.strings.map(str)),
    extraAttributeIndex,
  };
}

/** The policies a route's program evaluates: none when a traffic cut forces the route. */
function listedPolicies(route: RouteConfig): string[] {
  return route.forcedGroup === undefined ? route.policies : [];
}
