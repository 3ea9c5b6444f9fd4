/**
 * Metadata of the active snapshot for the host, read once per load (not per request): record
 * counts and the fields the gateway needs to act on a decision. Strings are returned as an
 * absolute address and a byte length (UTF-8) into linear memory, valid until the load after
 * next (snapshot.ts keeps one previous generation). An index out of range returns 0.
 */
import {
  ATTRIBUTE_BYTES, ATTRIBUTE_NAME, ATTRIBUTE_SOURCE, GROUP_BYTES, GROUP_FIRST_INSTANCE, GROUP_ID,
  GROUP_INSTANCE_COUNT, GROUP_NAME, INSTANCE_BYTES, INSTANCE_HOST, INSTANCE_ID, INSTANCE_PORT, INSTANCE_STATUS,
  INSTANCE_WEIGHT, POLICY_BYTES, POLICY_ID, POLICY_NAME, ROUTE_BODY_CAP, ROUTE_BYTES, ROUTE_FIRST_SLOT, ROUTE_FLAGS,
  ROUTE_ID, ROUTE_SLOT_ATTRIBUTE, ROUTE_SLOT_BYTES, ROUTE_SLOT_COUNT, ROUTE_SLOT_MODE, ROUTE_TIMEOUT_MS, S_ATTRIBUTES,
  S_GROUPS, S_INSTANCES, S_INTERN, S_POLICIES, S_ROUTE_SLOTS, S_ROUTES, STRREF_BYTES, GROUP_BALANCER,
  GROUP_HASH_KEY_ATTRIBUTE, ROUTE_PER_TRY_TIMEOUT_MS, ROUTE_NUM_RETRIES, INSTANCE_LANE, INSTANCE_CELL,
  GROUP_HASH_KEY_SOURCE,
  INSTANCE_ALIVE_SINCE_MS, INSTANCE_FLAGS, INSTANCE_ROLE, INSTANCE_WARMUP_MS, ROUTE_DEFAULT_GROUP,
  BINDING_BYTES, BINDING_GROUP, ROUTE_FIRST_POLICY, ROUTE_POLICY_COUNT, S_ROUTE_POLICIES,
} from "./format";
import { ACTIVE, activeBase, sectionAddr, sectionCount, V_BUILT_AT_MS, V_VERSION } from "./view";

/** Address of field `field` of record `index` of section `id`, or 0 when out of range. */
@inline function field(id: u32, size: u32, index: u32, field: usize): usize {
  return index < sectionCount(ACTIVE, id) ? sectionAddr(ACTIVE, id) + index * size + field : 0;
}
@inline function u32At(at: usize): u32 { return at == 0 ? 0 : load<u32>(at); }
@inline function strPtr(at: usize): usize { return at == 0 ? 0 : activeBase() + <usize>load<u32>(at); }
@inline function strLen(at: usize): u32 { return at == 0 ? 0 : load<u32>(at, 4); }

/** snapshotVersion of the active snapshot; 0 when none is loaded. */
export function activeVersion(): u64 { return activeBase() == 0 ? 0 : load<u64>(ACTIVE + V_VERSION); }
/** builtAtMs (Unix ms) of the active snapshot; 0 when none is loaded. */
export function activeBuiltAtMs(): u64 { return activeBase() == 0 ? 0 : load<u64>(ACTIVE + V_BUILT_AT_MS); }

/** ROUTES records in the active snapshot (0 when none is loaded). */
export function routeCount(): u32 { return sectionCount(ACTIVE, S_ROUTES); }
/** Control's route id. */
export function routeId(i: u32): u32 { return u32At(field(S_ROUTES, ROUTE_BYTES, i, ROUTE_ID)); }
/** Total upstream timeout, ms. */
export function routeTimeoutMs(i: u32): u32 { return u32At(field(S_ROUTES, ROUTE_BYTES, i, ROUTE_TIMEOUT_MS)); }
/** Most body bytes the gateway reads for the route's body attributes. */
export function routeBodyCap(i: u32): u32 { return u32At(field(S_ROUTES, ROUTE_BYTES, i, ROUTE_BODY_CAP)); }
/** One attempt's timeout, ms (0: only the total). */
export function routePerTryTimeoutMs(i: u32): u32 { return u32At(field(S_ROUTES, ROUTE_BYTES, i, ROUTE_PER_TRY_TIMEOUT_MS)); }
/** Retries per request (0 – 10). */
export function routeNumRetries(i: u32): u32 {
  const at = field(S_ROUTES, ROUTE_BYTES, i, ROUTE_NUM_RETRIES);
  return at == 0 ? 0 : <u32>load<u8>(at);
}
/** GROUPS index the route's traffic goes to when no policy matches (a route traffic cut's group when forced). */
export function routeDefaultGroup(i: u32): u32 { return u32At(field(S_ROUTES, ROUTE_BYTES, i, ROUTE_DEFAULT_GROUP)); }
/** Route flags: bit 0 = reads the body; bits 1–3 the program reads method, host, path; bit 4 forced by a traffic cut. */
export function routeFlags(i: u32): u32 {
  const at = field(S_ROUTES, ROUTE_BYTES, i, ROUTE_FLAGS);
  return at == 0 ? 0 : <u32>load<u8>(at);
}
/** The route's policy bindings are ROUTE_POLICIES [first, first + count). */
export function routeFirstPolicy(i: u32): u32 { return u32At(field(S_ROUTES, ROUTE_BYTES, i, ROUTE_FIRST_POLICY)); }
export function routePolicyCount(i: u32): u32 {
  const at = field(S_ROUTES, ROUTE_BYTES, i, ROUTE_POLICY_COUNT);
  return at == 0 ? 0 : <u32>load<u16>(at);
}
/** GROUPS index ROUTE_POLICIES record `j` sends its route's traffic to. */
export function bindingGroup(j: u32): u32 { return u32At(field(S_ROUTE_POLICIES, BINDING_BYTES, j, BINDING_GROUP)); }
/** The route's slots are ROUTE_SLOTS [first, first + count). */
export function routeFirstSlot(i: u32): u32 { return u32At(field(S_ROUTES, ROUTE_BYTES, i, ROUTE_FIRST_SLOT)); }
export function routeSlotCount(i: u32): u32 {
  const at = field(S_ROUTES, ROUTE_BYTES, i, ROUTE_SLOT_COUNT);
  return at == 0 ? 0 : <u32>load<u16>(at);
}

/** ROUTE_SLOTS records. */
export function routeSlotRecords(): u32 { return sectionCount(ACTIVE, S_ROUTE_SLOTS); }
/** ATTRIBUTES index of slot record j. */
export function slotAttribute(j: u32): u32 {
  const at = field(S_ROUTE_SLOTS, ROUTE_SLOT_BYTES, j, ROUTE_SLOT_ATTRIBUTE);
  return at == 0 ? 0 : <u32>load<u16>(at);
}
/** Mode bits of slot record j: 1 bytes, 2 intern id, 4 double. */
export function slotMode(j: u32): u32 {
  const at = field(S_ROUTE_SLOTS, ROUTE_SLOT_BYTES, j, ROUTE_SLOT_MODE);
  return at == 0 ? 0 : <u32>load<u8>(at);
}

/** INTERN records: interned constant i has id i + 1. */
export function internCount(): u32 { return sectionCount(ACTIVE, S_INTERN); }
export function internPtr(i: u32): usize { return strPtr(field(S_INTERN, STRREF_BYTES, i, 0)); }
export function internLen(i: u32): u32 { return strLen(field(S_INTERN, STRREF_BYTES, i, 0)); }

/** GROUPS records in the active snapshot (0 when none is loaded). */
export function groupCount(): u32 { return sectionCount(ACTIVE, S_GROUPS); }
/** Control's group id. */
export function groupId(i: u32): u32 { return u32At(field(S_GROUPS, GROUP_BYTES, i, GROUP_ID)); }
/** Group name: address and byte length of its UTF-8. */
export function groupNamePtr(i: u32): usize { return strPtr(field(S_GROUPS, GROUP_BYTES, i, GROUP_NAME)); }
export function groupNameLen(i: u32): u32 { return strLen(field(S_GROUPS, GROUP_BYTES, i, GROUP_NAME)); }
/** Balancer kind: the GROUPS.balancer code (BALANCER_*, wasm/reference/balancer-kinds.ts order). */
export function groupBalancer(i: u32): u32 {
  const at = field(S_GROUPS, GROUP_BYTES, i, GROUP_BALANCER);
  return at == 0 ? 0 : <u32>load<u8>(at);
}
/** Hash key source: an ATTRIBUTES source code, or 255 when the group hashes nothing. */
export function groupHashKeySource(i: u32): u32 {
  const at = field(S_GROUPS, GROUP_BYTES, i, GROUP_HASH_KEY_SOURCE);
  return at == 0 ? 255 : <u32>load<u8>(at);
}
/** Hash key: ATTRIBUTES index (0xFFFF when none). */
export function groupHashKeyAttribute(i: u32): u32 {
  const at = field(S_GROUPS, GROUP_BYTES, i, GROUP_HASH_KEY_ATTRIBUTE);
  return at == 0 ? 0xffff : <u32>load<u16>(at);
}
/** The group's instances are INSTANCES [first, first + count). */
export function groupFirstInstance(i: u32): u32 { return u32At(field(S_GROUPS, GROUP_BYTES, i, GROUP_FIRST_INSTANCE)); }
export function groupInstanceCount(i: u32): u32 { return u32At(field(S_GROUPS, GROUP_BYTES, i, GROUP_INSTANCE_COUNT)); }

/** INSTANCES records in the active snapshot (0 when none is loaded). */
export function instanceCount(): u32 { return sectionCount(ACTIVE, S_INSTANCES); }
/** Control's instance id. */
export function instanceId(i: u32): u32 { return u32At(field(S_INSTANCES, INSTANCE_BYTES, i, INSTANCE_ID)); }
/** Upstream host (IP literal or DNS name): address and byte length of its UTF-8. */
export function instanceHostPtr(i: u32): usize { return strPtr(field(S_INSTANCES, INSTANCE_BYTES, i, INSTANCE_HOST)); }
export function instanceHostLen(i: u32): u32 { return strLen(field(S_INSTANCES, INSTANCE_BYTES, i, INSTANCE_HOST)); }
/** TCP port. */
export function instancePort(i: u32): u32 {
  const at = field(S_INSTANCES, INSTANCE_BYTES, i, INSTANCE_PORT);
  return at == 0 ? 0 : <u32>load<u16>(at);
}
/** Relative weight, 0–10000. */
export function instanceWeight(i: u32): u32 { return u32At(field(S_INSTANCES, INSTANCE_BYTES, i, INSTANCE_WEIGHT)); }
/** OCTO status: 0 dead, 1 starting, 2 alive, 3 stopping, 4 stopped, 5 warning. */
export function instanceStatus(i: u32): u32 {
  const at = field(S_INSTANCES, INSTANCE_BYTES, i, INSTANCE_STATUS);
  return at == 0 ? 0 : <u32>load<u8>(at);
}

/** OCTO role: 0 primary, 1 backup. */
export function instanceRole(i: u32): u32 {
  const at = field(S_INSTANCES, INSTANCE_BYTES, i, INSTANCE_ROLE);
  return at == 0 ? 0 : <u32>load<u8>(at);
}
/** Instance flags: bit 0 drained by a traffic cut. */
export function instanceFlags(i: u32): u32 {
  const at = field(S_INSTANCES, INSTANCE_BYTES, i, INSTANCE_FLAGS);
  return at == 0 ? 0 : <u32>load<u8>(at);
}
/** Byte length of the instance's lane and cell (0: main lane / no cell). */
export function instanceLaneLen(i: u32): u32 { return strLen(field(S_INSTANCES, INSTANCE_BYTES, i, INSTANCE_LANE)); }
export function instanceCellLen(i: u32): u32 { return strLen(field(S_INSTANCES, INSTANCE_BYTES, i, INSTANCE_CELL)); }
/** Slow-start duration, ms. */
export function instanceWarmupMs(i: u32): u32 { return u32At(field(S_INSTANCES, INSTANCE_BYTES, i, INSTANCE_WARMUP_MS)); }
/** Unix ms when control last saw the instance become routable. */
export function instanceAliveSinceMs(i: u32): u64 {
  const at = field(S_INSTANCES, INSTANCE_BYTES, i, INSTANCE_ALIVE_SINCE_MS);
  return at == 0 ? 0 : load<u64>(at);
}

/** POLICIES records in the active snapshot (0 when none is loaded). */
export function policyCount(): u32 { return sectionCount(ACTIVE, S_POLICIES); }
/** Control's policy id. */
export function policyId(i: u32): u32 { return u32At(field(S_POLICIES, POLICY_BYTES, i, POLICY_ID)); }
/** Policy name: address and byte length of its UTF-8. */
export function policyNamePtr(i: u32): usize { return strPtr(field(S_POLICIES, POLICY_BYTES, i, POLICY_NAME)); }
export function policyNameLen(i: u32): u32 { return strLen(field(S_POLICIES, POLICY_BYTES, i, POLICY_NAME)); }

/** ATTRIBUTES records; routes' slots refer to them. */
export function attributeCount(): u32 { return sectionCount(ACTIVE, S_ATTRIBUTES); }
/** 0 query, 1 header (name lowercase), 2 cookie, 3 body, 4 client, 5 cf. */
export function attributeSource(i: u32): u32 {
  const at = field(S_ATTRIBUTES, ATTRIBUTE_BYTES, i, ATTRIBUTE_SOURCE);
  return at == 0 ? 0 : <u32>load<u8>(at);
}
/** Attribute name (headers lowercase): address and byte length of its UTF-8. */
export function attributeNamePtr(i: u32): usize { return strPtr(field(S_ATTRIBUTES, ATTRIBUTE_BYTES, i, ATTRIBUTE_NAME)); }
export function attributeNameLen(i: u32): u32 { return strLen(field(S_ATTRIBUTES, ATTRIBUTE_BYTES, i, ATTRIBUTE_NAME)); }
