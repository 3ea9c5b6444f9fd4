/**
 * What each node should run, as the long poll GET /v1/agents/functions/assignments serves it: a
 * list and an index per node. `publish()` replaces the whole placement; a node whose list
 * changed gets a new index and its held poll answers at once (control/propagation/waiters.ts).
 *
 * Indexes come from one counter seeded with the clock at start, so an agent that kept its index
 * across a control restart still sees a different one (the poll answers when the index differs,
 * not when it is greater: docs/functions-runtime.md).
 */
import { Waiters } from "../../propagation/waiters.ts";

/** One version a node should run (docs/functions-runtime.md, "Agent ↔ control"). */
export interface Assignment {
  appkey: string;
  function: string;
  version: number;
  /** Instances of it this node should run. */
  desired: number;
  sha256: string;
  main: string;
  compatibilityDate: string;
  env: Record<string, string>;
  allowOutbound: boolean;
  /** Hard in-flight limit per instance for the queue-proxy; 0 = unlimited. */
  containerConcurrency: number;
}

/** A node's assignments at one index. */
export interface NodeAssignments {
  index: number;
  assignments: Assignment[];
}

export class AssignmentBoard {
  private readonly byNode = new Map<string, NodeAssignments & { key: string }>();
  private readonly waiters = new Waiters<NodeAssignments | null>();
  private counter: number;

  /** @param seed first index (default: the clock, ms). */
  constructor(seed: number = Date.now()) {
    this.counter = seed;
  }

  /** The node's current assignments; a node never placed has an empty list at the board's first index. */
  get(node: string): NodeAssignments {
    const entry = this.byNode.get(node);
    if (entry) return { index: entry.index, assignments: entry.assignments };
    const fresh = { index: this.nextIndex(), assignments: [], key: "[]" };
    this.byNode.set(node, fresh);
    return { index: fresh.index, assignments: fresh.assignments };
  }

  /**
   * Replaces every node's assignments with `placement` (nodes absent from it run nothing).
   * @returns the names of the nodes whose list changed (their index moved, their polls woke).
   */
  publish(placement: ReadonlyMap<string, Assignment[]>): string[] {
    const changed: string[] = [];
    const names = new Set([...this.byNode.keys(), ...placement.keys()]);
    for (const name of names) {
      const assignments = [...(placement.get(name) ?? [])].sort(
        (a, b) => a.appkey.localeCompare(b.appkey) || a.function.localeCompare(b.function) || a.version - b.version,
      );
      const key = JSON.stringify(assignments);
      const entry = this.byNode.get(name);
      if (entry && entry.key === key) continue;
      this.byNode.set(name, { index: this.nextIndex(), assignments, key });
      changed.push(name);
    }
    if (changed.length > 0) this.waiters.wake();
    return changed;
  }

  /**
   * Waits until `node`'s index differs from `index` (at once if it already does).
   * @returns the assignments then, or null when `waitMs` ran out (or the board closed) first.
   */
  wait(node: string, index: number, waitMs: number, signal?: AbortSignal): Promise<NodeAssignments | null> {
    const check = () => {
      const current = this.get(node);
      return current.index !== index ? current : null;
    };
    return this.waiters.wait(check, () => null, waitMs, signal);
  }

  /** Answers every held poll (shutdown). */
  close(): void {
    this.waiters.close();
  }

  private nextIndex(): number {
    this.counter += 1;
    return this.counter;
  }
}
