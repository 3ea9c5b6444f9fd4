/**
 * The two calls of a request (docs/wasm.md): route() finds the route for the frame's host and
 * path and tells the host which attributes to write; decide() runs that route's program (all of
 * its policies, one call), takes the binding's group or the route's default, hashes the group's
 * key from the frame's hash-key table when it has one, and picks an instance through the
 * balancing pipeline (lb/select.ts: route rules, health, roles, panic, the group's balancer).
 * Reads only static memory, the active snapshot and the balancing generation's records;
 * allocates nothing.
 */
import {
  BINDING_BYTES,
  BINDING_GROUP,
  BINDING_POLICY,
  GROUP_BYTES,
  GROUP_HASH_KEY_ATTRIBUTE,
  GROUP_HASH_KEY_SOURCE,
  HASH_KEY_NONE,
  ROUTE_BYTES,
  ROUTE_CODE_LENGTH,
  ROUTE_CODE_OFFSET,
  ROUTE_DEFAULT_GROUP,
  ROUTE_FIRST_POLICY,
  ROUTE_ID,
  S_CODE,
  S_DATA,
  S_GROUPS,
  S_ROUTE_POLICIES,
  S_ROUTES,
} from "./format";
import {
  areaString,
  F_CELL,
  F_KEY_COUNT,
  F_KEYS,
  F_LANE,
  F_ROUTE,
  FRAME,
  FRAME_BYTES,
  FRAME_BYTES_CAPACITY,
  KEY_ENTRY_BYTES,
  RESULT,
  STATUS_NO_INSTANCE,
  STATUS_NO_ROUTE,
  STATUS_NO_SNAPSHOT,
  STATUS_OK,
  stringAddr,
  stringLen,
  writeResult,
} from "./frame";
import { REQUEST_HASH, SELECT_RESULT, selectInstance } from "./lb/select";
import { xxHash64 } from "./lb/xxhash64";
import { findRoute } from "./hosts";
import { conditionErrors, runRoute } from "./vm";
import { resetScratch } from "./vmops";
import { ACTIVE, activeBase, sectionAddr, sectionCount } from "./view";

/**
 * Finds the route for the host and path in the frame and remembers it for decide().
 * @returns the ROUTES index, -1 when no route matches, -2 when no snapshot is loaded.
 */
export function route(): i32 {
  if (activeBase() == 0) {
    store<i32>(FRAME + F_ROUTE, -1);
    return -2;
  }
  const r = findRoute();
  store<i32>(FRAME + F_ROUTE, r);
  return r;
}

/**
 * Hash keys longer than this many bytes count as absent (a random pick, as Envoy without a
 * hash): the limit the JS binding's scratch area always put on them.
 */
const MAX_HASH_KEY_BYTES: usize = 16384;

/**
 * The ROUTES index of route (`route`, `id`) in the active snapshot: `route` while it still has
 * that id, else the route with that id (a snapshot swap came in meanwhile). O(1), or O(routes)
 * after a swap. @returns −1 when no route has the id.
 */
export function resolveRoute(route: u32, id: u32): i32 {
  if (activeBase() == 0) return -1;
  const routes = sectionAddr(ACTIVE, S_ROUTES);
  const count = sectionCount(ACTIVE, S_ROUTES);
  if (route < count && load<u32>(routes + <usize>route * ROUTE_BYTES + ROUTE_ID) == id) return <i32>route;
  for (let r: u32 = 0; r < count; r++) if (load<u32>(routes + <usize>r * ROUTE_BYTES + ROUTE_ID) == id) return <i32>r;
  return -1;
}

/**
 * Decides the request in the frame (route from route(); the route's slots, the hash-key table
 * and the lane/cell fields written by the host) at `nowMs` (Unix ms) and writes the result
 * area: i32 status, route (ROUTES index), policy (POLICIES index), group (GROUPS index),
 * instance (INSTANCES index), conditionErrors (count), probe (1: this attempt is the instance's
 * half-open breaker probe), panic (1: the group was balanced in panic); indices -1 when none.
 * @returns the status: 0 ok, 1 no snapshot, 2 no route, 3 no available instance (route, policy
 *   and group still filled in).
 */
export function decide(nowMs: f64): i32 {
  if (activeBase() == 0) return writeResult(STATUS_NO_SNAPSHOT, -1, -1, -1, -1, 0);
  const route = load<i32>(FRAME + F_ROUTE);
  if (route < 0 || <u32>route >= sectionCount(ACTIVE, S_ROUTES)) return writeResult(STATUS_NO_ROUTE, -1, -1, -1, -1, 0);

  resetScratch();
  const r = sectionAddr(ACTIVE, S_ROUTES) + <u32>route * ROUTE_BYTES;
  const code = sectionAddr(ACTIVE, S_CODE) + <usize>load<u32>(r + ROUTE_CODE_OFFSET);
  const binding = runRoute(code, load<u32>(r + ROUTE_CODE_LENGTH), sectionAddr(ACTIVE, S_DATA), activeBase());
  let policy: i32 = -1;
  let group: u32;
  if (binding >= 0) {
    const b = sectionAddr(ACTIVE, S_ROUTE_POLICIES) + (load<u32>(r + ROUTE_FIRST_POLICY) + <u32>binding) * BINDING_BYTES;
    policy = <i32>load<u32>(b + BINDING_POLICY);
    group = load<u32>(b + BINDING_GROUP);
  } else {
    group = load<u32>(r + ROUTE_DEFAULT_GROUP);
  }
  const g = sectionAddr(ACTIVE, S_GROUPS) + group * GROUP_BYTES;
  const hasHash = load<u8>(g + GROUP_HASH_KEY_SOURCE) != HASH_KEY_NONE && hashFrameKey(<u32>load<u16>(g + GROUP_HASH_KEY_ATTRIBUTE));
  // The frame's lane and cell (off, len) pairs; len ≤ 0 or out of the area = none (address 0, length 0).
  const lane = areaString(load<i32>(FRAME + F_LANE), load<i32>(FRAME + F_LANE, 4));
  const cell = areaString(load<i32>(FRAME + F_CELL), load<i32>(FRAME + F_CELL, 4));
  const laneLen: usize = lane < 0 ? 0 : stringLen(lane);
  const cellLen: usize = cell < 0 ? 0 : stringLen(cell);
  const instance = selectInstance(group, nowMs, hasHash, laneLen == 0 ? 0 : stringAddr(lane), laneLen, cellLen == 0 ? 0 : stringAddr(cell), cellLen, 0, 0, 0);
  writeResult(instance < 0 ? STATUS_NO_INSTANCE : STATUS_OK, route, policy, <i32>group, instance, conditionErrors);
  store<i32>(RESULT, load<i32>(SELECT_RESULT, 4), 24);
  store<i32>(RESULT, load<i32>(SELECT_RESULT, 8), 28);
  return instance < 0 ? STATUS_NO_INSTANCE : STATUS_OK;
}

/**
 * Hashes the frame's value of ATTRIBUTES entry `attribute` (xxHash64, seed 0) into the request
 * hash register, as lbHashKey. O(entries): a route reaches few hash-keyed groups.
 * @returns false when the table lacks it, or the value is absent, empty or longer than
 *   MAX_HASH_KEY_BYTES: the balancer then picks at random.
 */
function hashFrameKey(attribute: u32): bool {
  const off = load<i32>(FRAME + F_KEYS);
  const count = load<i32>(FRAME + F_KEY_COUNT);
  // Unsigned compares also refuse negative values the host should never write.
  if (count <= 0 || <u32>off > FRAME_BYTES_CAPACITY || <u32>count > (FRAME_BYTES_CAPACITY - <u32>off) / <u32>KEY_ENTRY_BYTES) return false;
  const table = FRAME_BYTES + <usize>off;
  for (let k: usize = 0; k < <usize>count; k++) {
    const e = table + k * KEY_ENTRY_BYTES;
    if (load<u32>(e) != attribute) continue;
    const key = areaString(load<i32>(e, 4), load<i32>(e, 8));
    const len: usize = key < 0 ? 0 : stringLen(key);
    if (len == 0 || len > MAX_HASH_KEY_BYTES) return false;
    store<u64>(REQUEST_HASH, xxHash64(stringAddr(key), len, 0));
    return true;
  }
  return false;
}
