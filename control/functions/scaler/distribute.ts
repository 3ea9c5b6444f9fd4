/**
 * Which node runs how many instances of which version: the scaler's desired counts spread over
 * the nodes that may run them. Pure. Rule (docs/functions-runtime.md, "Assignments"): a version's
 * instances go to the live nodes whose agent token covers its appkey, evenly, in node-name
 * order — the first `desired mod n` nodes get one more. E.g. 5 over [a, b] → a 3, b 2; 1 over
 * [a, b, c] → a 1. A version no node may run is assigned nowhere (it waits for a node).
 */

/** A version to place: `key` identifies it to the caller (the version id), `desired` instances. */
export interface VersionDemand {
  key: number;
  appkey: string;
  desired: number;
}

/** A node that may take work: its name and the appkeys its agent token covers (null: every appkey, the admin token). */
export interface EligibleNode {
  name: string;
  appkeys: ReadonlySet<string> | null;
}

/**
 * Spreads each demand over its eligible nodes.
 * @returns per node name, the versions it should run and how many instances of each (only
 *   counts > 0; every given node has an entry, empty when it runs nothing). O(versions × nodes).
 */
export function distributeInstances(demands: readonly VersionDemand[], nodes: readonly EligibleNode[]): Map<string, Map<number, number>> {
  const sorted = [...nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out = new Map<string, Map<number, number>>(sorted.map((n) => [n.name, new Map()]));
  for (const demand of demands) {
    if (demand.desired <= 0) continue;
    const eligible = sorted.filter((n) => n.appkeys === null || n.appkeys.has(demand.appkey));
    if (eligible.length === 0) continue;
    const base = Math.floor(demand.desired / eligible.length);
    const extra = demand.desired % eligible.length;
    eligible.forEach((node, i) => {
      const count = base + (i < extra ? 1 : 0);
      if (count > 0) out.get(node.name)?.set(demand.key, count);
    });
  }
  return out;
}
