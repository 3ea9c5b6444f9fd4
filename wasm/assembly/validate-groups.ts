/**
 * Validation of GROUPS and INSTANCES in a staged snapshot (docs/snapshot-format.md, format 4):
 * every string and slice in bounds, and every balancing option inside the range the spec gives
 * it (groupOptionsInRange, generated from wasm/layout/group-record.ts), so the balancers can
 * read the fields in place without checks (no zero-sized maglev table, no ring with min > max,
 * no ratio above 2, no balancer kind the module does not have).
 */
import { E_BAD_INDEX, E_BAD_STRING, E_BAD_VALUE, LOAD_OK } from "./errors";
import {
  ATTRIBUTE_BYTES, ATTRIBUTE_SOURCE, GROUP_BYTES, GROUP_FIRST_INSTANCE, GROUP_HASH_KEY_ATTRIBUTE, GROUP_HASH_KEY_SOURCE,
  GROUP_INSTANCE_COUNT, GROUP_NAME, groupOptionsInRange, HASH_KEY_NONE, INSTANCE_BYTES, INSTANCE_CELL, INSTANCE_FLAG_DRAINED,
  INSTANCE_FLAGS, INSTANCE_HOST, INSTANCE_LANE, INSTANCE_REGION, INSTANCE_ROLE, INSTANCE_STATUS, INSTANCE_VERSION,
  INSTANCE_WARMUP_MS, INSTANCE_WEIGHT, INSTANCE_ZONE, NO_ATTRIBUTE, ROLE_MAX, S_ATTRIBUTES, S_GROUPS, S_INSTANCES, SOURCE_BODY,
  SOURCE_CLIENT, STATUS_MAX, WARMUP_MAX_MS, WEIGHT_MAX,
} from "./format";
import { strrefAtOk } from "./string-bounds";
import { sectionAddr, sectionCount } from "./view";

/**
 * Checks INSTANCES, then GROUPS; strrefs against the load's bounds (string-bounds.ts).
 * @returns LOAD_OK or the first E_* code found (E_BAD_STRING, E_BAD_VALUE, E_BAD_INDEX).
 */
export function checkGroupSections(view: usize): i32 {
  const e = checkInstances(view);
  return e != LOAD_OK ? e : checkGroups(view);
}

function checkInstances(view: usize): i32 {
  for (let i: u32 = 0, n = sectionCount(view, S_INSTANCES); i < n; i++) {
    const r = sectionAddr(view, S_INSTANCES) + i * INSTANCE_BYTES;
    if (load<u8>(r + INSTANCE_STATUS) > STATUS_MAX || load<u32>(r + INSTANCE_WEIGHT) > WEIGHT_MAX) return E_BAD_VALUE;
    if (load<u8>(r + INSTANCE_ROLE) > ROLE_MAX || load<u32>(r + INSTANCE_WARMUP_MS) > WARMUP_MAX_MS) return E_BAD_VALUE;
    if ((load<u8>(r + INSTANCE_FLAGS) & ~INSTANCE_FLAG_DRAINED) != 0) return E_BAD_VALUE;
    if (!strrefAtOk(r + INSTANCE_HOST) || !strrefAtOk(r + INSTANCE_ZONE) || !strrefAtOk(r + INSTANCE_LANE)) return E_BAD_STRING;
    if (!strrefAtOk(r + INSTANCE_VERSION) || !strrefAtOk(r + INSTANCE_REGION) || !strrefAtOk(r + INSTANCE_CELL)) return E_BAD_STRING;
  }
  return LOAD_OK;
}

function checkGroups(view: usize): i32 {
  const instances = sectionCount(view, S_INSTANCES);
  for (let i: u32 = 0, n = sectionCount(view, S_GROUPS); i < n; i++) {
    const r = sectionAddr(view, S_GROUPS) + i * GROUP_BYTES;
    if (!strrefAtOk(r + GROUP_NAME)) return E_BAD_STRING;
    if (<u64>load<u32>(r + GROUP_FIRST_INSTANCE) + <u64>load<u32>(r + GROUP_INSTANCE_COUNT) > <u64>instances) return E_BAD_INDEX;
    const e = checkHashKey(view, r);
    if (e != LOAD_OK) return e;
    if (!groupOptionsInRange(r)) return E_BAD_VALUE; // the ranges of wasm/layout/group-record.ts
  }
  return LOAD_OK;
}

/** hashKeySource and hashKeyAttribute: both none, or an ATTRIBUTES record of that source (query, header, cookie, client). */
function checkHashKey(view: usize, r: usize): i32 {
  const source = load<u8>(r + GROUP_HASH_KEY_SOURCE);
  const attribute = <u32>load<u16>(r + GROUP_HASH_KEY_ATTRIBUTE);
  if (source == HASH_KEY_NONE) return attribute == NO_ATTRIBUTE ? LOAD_OK : E_BAD_VALUE;
  if (source == SOURCE_BODY || source > SOURCE_CLIENT) return E_BAD_VALUE;
  if (attribute >= sectionCount(view, S_ATTRIBUTES)) return E_BAD_INDEX;
  const a = sectionAddr(view, S_ATTRIBUTES) + attribute * ATTRIBUTE_BYTES;
  return load<u8>(a + ATTRIBUTE_SOURCE) == source ? LOAD_OK : E_BAD_VALUE;
}
