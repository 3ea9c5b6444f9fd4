/**
 * The function nodes this replica has heard from: each agent's last report (POST
 * /v1/agents/functions/report), the appkeys its token covers, and its placement labels. Kept in
 * memory only: a node that reports again within its lease is back at once, and one that does not
 * has lost its instances anyway (lease.ts). With several replicas each knows the nodes that
 * report to it; agents are expected to keep to one replica (one long-lived connection).
 */
import { FUNCTION_LEASE_MS } from "../lease.ts";
import type { EligibleNode } from "./distribute.ts";

/** A node as its last report described it. Times are Unix ms. */
export interface FunctionNode extends EligibleNode {
  lastReportMs: number;
  zone: string;
  region: string;
  cell: string;
  lane: string;
}

export class FunctionNodes {
  private readonly nodes = new Map<string, FunctionNode>();

  /** Records a report of `node` (replacing what was known of it). */
  record(node: FunctionNode): void {
    this.nodes.set(node.name, node);
  }

  /** The node named `name`, live or not, or undefined. */
  get(name: string): FunctionNode | undefined {
    return this.nodes.get(name);
  }

  /** Nodes whose last report is within the lease at `nowMs`, by name. Forgets the others. */
  live(nowMs: number): FunctionNode[] {
    for (const [name, node] of this.nodes) {
      if (node.lastReportMs < nowMs - FUNCTION_LEASE_MS) this.nodes.delete(name);
    }
    return [...this.nodes.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}
