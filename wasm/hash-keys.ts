/**
 * Which hash keys the host writes for each route, decided once per load. A ring-hash or maglev
 * group hashes a request attribute (GROUPS.hashKeyAttribute, an ATTRIBUTES entry); decide()
 * picks the group and must hash its key without returning to JS, so the host writes, with the
 * route's slots, the value of every hash-key attribute of the groups the route can reach (its
 * default group and each policy binding's group) into the frame's hash-key table
 * (wasm/assembly/frame.ts). No snapshot format change: the snapshot already lists the keys.
 *
 * Example: route 0 reaches groups 1 (ring hash on header `x-user`, ATTRIBUTES 4) and 2 (swrr);
 * route 1 reaches nothing hashed →
 * `{first: [0, 1], count: [1, 0], attribute: [4], source: [1], name: ["x-user"]}`.
 */
import type { SnapshotInfo } from "./snapshot-info.ts";

/** GROUPS.hashKeySource of a group without a hash key. */
const HASH_KEY_NONE = 255;

/** The exports this reads (wasm/assembly/meta.ts). */
export interface HashKeyExports {
  routeFirstPolicy(route: number): number;
  routePolicyCount(route: number): number;
  bindingGroup(binding: number): number;
  groupHashKeySource(group: number): number;
  groupHashKeyAttribute(group: number): number;
}

/** Per route, its hash keys `[first, first + count)` of the flat arrays (one per distinct attribute). */
export interface RouteHashKeys {
  readonly first: Uint32Array;
  readonly count: Uint32Array;
  /** ATTRIBUTES index of each key: the table entry decide() looks the chosen group's key up by. */
  readonly attribute: Uint16Array;
  /** Source (query 0, header 1, cookie 2, client 4) and name of each key, for DecideRequest.attribute. */
  readonly source: Uint8Array;
  readonly name: readonly string[];
}

/** Reads the hash keys each route of `info` can need. O(routes × bindings); once per load. */
export function readRouteHashKeys(wasm: HashKeyExports, info: SnapshotInfo): RouteHashKeys {
  const groupKey = info.groups.map((_, g) => (wasm.groupHashKeySource(g) === HASH_KEY_NONE ? -1 : wasm.groupHashKeyAttribute(g)));
  const routes = info.routes.length;
  const first = new Uint32Array(routes);
  const count = new Uint32Array(routes);
  const attributes: number[] = [];
  info.routes.forEach((route, r) => {
    first[r] = attributes.length;
    const seen = new Set<number>();
    const add = (group: number) => {
      const a = groupKey[group] ?? -1;
      if (a >= 0 && !seen.has(a)) {
        seen.add(a);
        attributes.push(a);
      }
    };
    add(route.defaultGroup);
    const from = wasm.routeFirstPolicy(r) >>> 0;
    const to = from + (wasm.routePolicyCount(r) >>> 0);
    for (let j = from; j < to; j++) add(wasm.bindingGroup(j) >>> 0);
    count[r] = attributes.length - (first[r] as number);
  });
  return {
    first,
    count,
    attribute: Uint16Array.from(attributes),
    source: Uint8Array.from(attributes, (a) => info.attributes[a]?.source ?? 0),
    name: attributes.map((a) => info.attributes[a]?.name ?? ""),
  };
}

/** No route, no key: the state before the first load. */
export const NO_HASH_KEYS: RouteHashKeys = {
  first: new Uint32Array(0),
  count: new Uint32Array(0),
  attribute: new Uint16Array(0),
  source: new Uint8Array(0),
  name: [],
};
