/**
 * Validation of the policy sections of a staged snapshot (docs/snapshot-format.md): ATTRIBUTES,
 * INTERN, POLICIES, ROUTE_POLICIES, ROUTE_SLOTS and ROUTES, and each route's program
 * (code-check.ts), so route() and decide() can trust every index and operand.
 */
import { verifyRoute } from "./code-check";
import { E_BAD_CODE, E_BAD_CODE_RANGE, E_BAD_INDEX, E_BAD_STRING, E_BAD_VALUE, E_TOO_MANY_ATTRIBUTES, LOAD_OK } from "./errors";
import {
  ATTRIBUTE_BYTES, ATTRIBUTE_NAME, ATTRIBUTE_SOURCE, BINDING_BYTES, BINDING_GROUP, BINDING_POLICY, MATCH_PREFIX, PASSWAY_MAX,
  POLICY_BYTES, POLICY_FLAG_ENABLED, POLICY_FLAGS, POLICY_NAME, POLICY_PASSWAY, ROUTE_BYTES, ROUTE_CODE_LENGTH, ROUTE_CODE_OFFSET,
  ROUTE_DEFAULT_GROUP, ROUTE_FIRST_POLICY, ROUTE_FIRST_SLOT, ROUTE_FLAGS, ROUTE_FLAGS_ALL, ROUTE_MATCH, ROUTE_PATH,
  ROUTE_POLICY_COUNT, ROUTE_SLOT_ATTRIBUTE, ROUTE_SLOT_BYTES, ROUTE_SLOT_COUNT, ROUTE_SLOT_MODE, S_ATTRIBUTES, S_CODE, S_DATA,
  S_GROUPS, S_INTERN, S_POLICIES, S_ROUTE_POLICIES, S_ROUTE_SLOTS, S_ROUTES, SLOT_MODE_ALL, SOURCE_MAX, STRREF_BYTES,
  NUM_RETRIES_MAX, PER_TRY_TIMEOUT_MAX_MS, RETRY_FLAG_NON_IDEMPOTENT, RETRY_ON_ALL, ROUTE_BACKOFF_BASE_MS,
  ROUTE_BACKOFF_MAX_MS, ROUTE_NUM_RETRIES, ROUTE_PER_TRY_TIMEOUT_MS, ROUTE_RETRY_BUDGET_PCT, ROUTE_RETRY_FLAGS, ROUTE_RETRY_ON,
} from "./format";
import { SLOT_CAPACITY } from "./frame";
import { strrefAtOk } from "./string-bounds";
import { sectionAddr, sectionCount } from "./view";

@inline function sliceOk(first: u32, count: u32, size: u32): bool {
  return <u64>first + <u64>count <= <u64>size;
}

/**
 * Checks ATTRIBUTES, INTERN, POLICIES, ROUTE_POLICIES, ROUTE_SLOTS, then ROUTES and their programs;
 * strrefs against the load's bounds (string-bounds.ts).
 * @returns LOAD_OK or the first E_* code found.
 */
export function checkRouteSections(view: usize): i32 {
  const attributes = sectionCount(view, S_ATTRIBUTES);
  for (let i: u32 = 0; i < attributes; i++) {
    const r = sectionAddr(view, S_ATTRIBUTES) + i * ATTRIBUTE_BYTES;
    if (load<u8>(r + ATTRIBUTE_SOURCE) > SOURCE_MAX) return E_BAD_VALUE;
    if (!strrefAtOk(r + ATTRIBUTE_NAME)) return E_BAD_STRING;
  }
  for (let i: u32 = 0, n = sectionCount(view, S_INTERN); i < n; i++) {
    if (!strrefAtOk(sectionAddr(view, S_INTERN) + i * STRREF_BYTES)) return E_BAD_STRING;
  }
  const policies = sectionCount(view, S_POLICIES);
  for (let i: u32 = 0; i < policies; i++) {
    const r = sectionAddr(view, S_POLICIES) + i * POLICY_BYTES;
    if (!strrefAtOk(r + POLICY_NAME)) return E_BAD_STRING;
    if (load<u8>(r + POLICY_PASSWAY) > PASSWAY_MAX || (load<u8>(r + POLICY_FLAGS) & ~POLICY_FLAG_ENABLED) != 0) return E_BAD_VALUE;
  }
  const groups = sectionCount(view, S_GROUPS);
  const bindings = sectionCount(view, S_ROUTE_POLICIES);
  for (let i: u32 = 0; i < bindings; i++) {
    const r = sectionAddr(view, S_ROUTE_POLICIES) + i * BINDING_BYTES;
    if (load<u32>(r + BINDING_POLICY) >= policies || load<u32>(r + BINDING_GROUP) >= groups) return E_BAD_INDEX;
  }
  const slots = sectionCount(view, S_ROUTE_SLOTS);
  for (let i: u32 = 0; i < slots; i++) {
    const r = sectionAddr(view, S_ROUTE_SLOTS) + i * ROUTE_SLOT_BYTES;
    if (<u32>load<u16>(r + ROUTE_SLOT_ATTRIBUTE) >= attributes) return E_BAD_INDEX;
    if ((load<u8>(r + ROUTE_SLOT_MODE) & ~SLOT_MODE_ALL) != 0) return E_BAD_VALUE;
  }
  return checkRoutes(view, groups, bindings, slots);
}

function checkRoutes(view: usize, groups: u32, bindings: u32, slots: u32): i32 {
  const routes = sectionCount(view, S_ROUTES);
  const code = sectionAddr(view, S_CODE);
  const codeSize = sectionCount(view, S_CODE);
  // Scratch for the verifier: one byte per byte of the longest program.
  let longest: u32 = 1;
  for (let i: u32 = 0; i < routes; i++) {
    const len = load<u32>(sectionAddr(view, S_ROUTES) + i * ROUTE_BYTES + ROUTE_CODE_LENGTH);
    if (len > longest && len <= codeSize) longest = len;
  }
  const info = heap.alloc(<usize>longest);
  let err = LOAD_OK;
  for (let i: u32 = 0; i < routes && err == LOAD_OK; i++) {
    const r = sectionAddr(view, S_ROUTES) + i * ROUTE_BYTES;
    const policyCount = <u32>load<u16>(r + ROUTE_POLICY_COUNT);
    const slotCount = <u32>load<u16>(r + ROUTE_SLOT_COUNT);
    const off = load<u32>(r + ROUTE_CODE_OFFSET);
    const len = load<u32>(r + ROUTE_CODE_LENGTH);
    if (!strrefAtOk(r + ROUTE_PATH)) err = E_BAD_STRING;
    else if (load<u8>(r + ROUTE_MATCH) > MATCH_PREFIX || (load<u8>(r + ROUTE_FLAGS) & ~ROUTE_FLAGS_ALL) != 0) err = E_BAD_VALUE;
    else if (!sliceOk(load<u32>(r + ROUTE_FIRST_POLICY), policyCount, bindings)) err = E_BAD_INDEX;
    else if (load<u32>(r + ROUTE_DEFAULT_GROUP) >= groups) err = E_BAD_INDEX;
    else if (!retryOk(r)) err = E_BAD_VALUE;
    else if (slotCount >= SLOT_CAPACITY) err = E_TOO_MANY_ATTRIBUTES;
    else if (!sliceOk(load<u32>(r + ROUTE_FIRST_SLOT), slotCount, slots)) err = E_BAD_INDEX;
    else if (len == 0 || !sliceOk(off, len, codeSize)) err = E_BAD_CODE_RANGE;
    else {
      const slotRecords = sectionAddr(view, S_ROUTE_SLOTS) + load<u32>(r + ROUTE_FIRST_SLOT) * ROUTE_SLOT_BYTES;
      const data = sectionAddr(view, S_DATA);
      if (!verifyRoute(code + off, len, data, sectionCount(view, S_DATA), slotRecords, slotCount, policyCount, info)) err = E_BAD_CODE;
    }
  }
  heap.free(info);
  return err;
}

/** The retry fields of ROUTES record `r` within the spec's range (docs/snapshot-format.md, ROUTES). */
function retryOk(r: usize): bool {
  if ((load<u8>(r + ROUTE_RETRY_ON) & ~RETRY_ON_ALL) != 0 || load<u8>(r + ROUTE_NUM_RETRIES) > NUM_RETRIES_MAX) return false;
  if ((load<u8>(r + ROUTE_RETRY_FLAGS) & ~RETRY_FLAG_NON_IDEMPOTENT) != 0 || load<u8>(r + ROUTE_RETRY_BUDGET_PCT) > 100) return false;
  if (load<u32>(r + ROUTE_PER_TRY_TIMEOUT_MS) > PER_TRY_TIMEOUT_MAX_MS) return false;
  const base = load<u32>(r + ROUTE_BACKOFF_BASE_MS);
  return base != 0 && load<u32>(r + ROUTE_BACKOFF_MAX_MS) >= base;
}
