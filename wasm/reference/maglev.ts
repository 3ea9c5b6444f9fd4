/**
 * Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
 * Balancer", NSDI 2016, §3.4), as Envoy builds it (load_balancing_policies/maglev, original
 * table): each node, in address order, gets offset = xxHash64(address) mod M and
 * skip = xxHash64(address, seed 1) mod (M − 1) + 1, and its preference list
 * (offset + j·skip) mod M; nodes take turns claiming their next free slot until all M = 65537
 * slots (prime) are filled. Weighted: a node claims a slot on iteration t only while
 * t · weight ≥ its target, and each claim raises its target by the largest weight (Envoy's
 * target_weight_, in integer units instead of normalized doubles). Build O(M log M) expected;
 * pick O(1): table[hash mod M]. Balance is near-perfect; a change moves somewhat more keys than
 * a ring does (Envoy: ~2×).
 */
import { type Random, randomU64 } from "./random.ts";
import type { Balancer, BalancerNode, PickContext } from "./types.ts";
import { xxHash64Text } from "./xxhash64.ts";

export interface MaglevConfig {
  /** Slots; must be prime (Envoy default 65537). */
  tableSize: number;
}

export const MAGLEV_DEFAULTS: MaglevConfig = { tableSize: 65_537 };

const MASK_64 = 0xffff_ffff_ffff_ffffn;

/** Maglev lookup table: the index (into `nodes`) owning each slot. Empty when there are no nodes. */
export function buildMaglevTable(nodes: readonly BalancerNode[], tableSize: number): Int32Array {
  if (nodes.length === 0) return new Int32Array(0);
  const m = BigInt(tableSize);
  const entries = nodes
    .map((node, index) => ({ node, index }))
    .sort((a, b) => (a.node.address < b.node.address ? -1 : a.node.address > b.node.address ? 1 : 0))
    .map(({ node, index }) => ({
      index,
      offset: Number(xxHash64Text(node.address) % m),
      skip: Number(xxHash64Text(node.address, 1n) % (m - 1n)) + 1,
      weight: node.weight,
      target: 0,
      next: 0,
    }));
  const maxWeight = Math.max(...entries.map((e) => e.weight));
  const table = new Int32Array(tableSize).fill(-1);
  let filled = 0;
  for (let iteration = 1; filled < tableSize; iteration++) {
    for (let i = 0; i < entries.length && filled < tableSize; i++) {
      const entry = entries[i]!;
      // A node with a third of the largest weight claims a slot every third iteration.
      if (iteration * entry.weight < entry.target) continue;
      entry.target += maxWeight;
      let slot = (entry.offset + entry.skip * entry.next) % tableSize;
      while (table[slot] !== -1) {
        entry.next++;
        slot = (entry.offset + entry.skip * entry.next) % tableSize;
      }
      table[slot] = entry.index;
      entry.next++;
      filled++;
    }
  }
  return table;
}

/**
 * Maglev balancer. No hash → a random one (Envoy). Attempt n > 0 flips most bits of the hash
 * (Envoy: hash ^= ~0 − n + 1) so retries land elsewhere in the table.
 */
export function createMaglevBalancer(
  nodes: readonly BalancerNode[],
  config: MaglevConfig,
  random: Random,
): Balancer & { table: Int32Array } {
  const table = buildMaglevTable(nodes, config.tableSize);
  const m = BigInt(config.tableSize);
  return {
    table,
    pick(ctx: PickContext) {
      if (table.length === 0) return null;
      let hash = ctx.hash ?? randomU64(random);
      if (ctx.attempt > 0) hash ^= (MASK_64 - BigInt(ctx.attempt) + 1n) & MASK_64;
      return nodes[table[Number(hash % m)]!]!;
    },
  };
}
