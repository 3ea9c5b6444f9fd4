/**
 * A route's policy list ("POLICIES" in docs/snapshot-format.md): the first policy that is
 * enabled, admits the request's key through its graylist, and whose condition is true picks the
 * group. Conditions that error do not match and are counted.
 */
import { bytesEqual } from "./bytes";
import {
  BINDING_BYTES,
  POLICY_BYTES,
  POLICY_CODE_LENGTH,
  POLICY_CODE_OFFSET,
  POLICY_FLAG_ENABLED,
  POLICY_FLAGS,
  POLICY_GRAYLIST_COUNT,
  POLICY_GRAYLIST_FIRST,
  POLICY_KEY_ATTRIBUTE,
  ROUTE_BYTES,
  ROUTE_FIRST_POLICY,
  ROUTE_POLICY_COUNT,
  S_GRAYLIST,
  S_POLICIES,
  S_ROUTE_POLICIES,
  S_ROUTES,
  STRREF_BYTES,
} from "./format";
import { attributeValue, stringAddr, stringLen } from "./frame";
import { ACTIVE, activeBase, sectionAddr } from "./view";
import { ERRORED, MATCHED, runProgram } from "./vm";

/** Conditions that errored during the last selectBinding() call. */
export let conditionErrors: i32 = 0;

/** Whether policy record `p` admits the request: empty graylist, or the key's value is listed. */
function graylistAdmits(p: usize): bool {
  const count = load<u32>(p + POLICY_GRAYLIST_COUNT);
  if (count == 0) return true;
  const key = attributeValue(<u32>load<u16>(p + POLICY_KEY_ATTRIBUTE));
  if (key < 0) return false; // no key, not on the list; not an error
  const len = stringLen(key);
  const base = activeBase();
  let ref = sectionAddr(ACTIVE, S_GRAYLIST) + load<u32>(p + POLICY_GRAYLIST_FIRST) * STRREF_BYTES;
  for (let i: u32 = 0; i < count; i++, ref += STRREF_BYTES) {
    if (<usize>load<u32>(ref, 4) == len && bytesEqual(base + <usize>load<u32>(ref), stringAddr(key), len)) return true;
  }
  return false;
}

/**
 * The ROUTE_POLICIES index of route `route`'s first matching policy binding, or -1 when none
 * matches (the caller then uses the route's defaultGroup). Sets conditionErrors.
 * O(policies × program length).
 */
export function selectBinding(route: u32): i32 {
  conditionErrors = 0;
  const r = sectionAddr(ACTIVE, S_ROUTES) + route * ROUTE_BYTES;
  const first = load<u32>(r + ROUTE_FIRST_POLICY);
  const end = first + <u32>load<u16>(r + ROUTE_POLICY_COUNT);
  const bindings = sectionAddr(ACTIVE, S_ROUTE_POLICIES);
  const policies = sectionAddr(ACTIVE, S_POLICIES);
  const base = activeBase();
  for (let b = first; b < end; b++) {
    const p = policies + load<u32>(bindings + b * BINDING_BYTES) * POLICY_BYTES;
    if ((load<u8>(p + POLICY_FLAGS) & POLICY_FLAG_ENABLED) == 0) continue;
    if (!graylistAdmits(p)) continue;
    const result = runProgram(base + <usize>load<u32>(p + POLICY_CODE_OFFSET), load<u32>(p + POLICY_CODE_LENGTH));
    if (result == MATCHED) return <i32>b;
    if (result == ERRORED) conditionErrors++;
  }
  return -1;
}
