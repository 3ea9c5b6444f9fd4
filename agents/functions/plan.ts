/**
 * Reconciliation, pure: from what control assigns this node and the instances it runs, the
 * actions that bring one to the other (Kubernetes' ReplicaSet logic, per instance spec).
 *
 * - An instance counts towards its spec's desired count while `starting`, `ready` or `failed`
 *   (a failed one holds its slot until the runtime forgets it, so a module that throws at start
 *   is not respawned in a tight loop); `draining` ones are already on their way out.
 * - Below desired: start the difference. Above: first remove failed instances (they never
 *   served, nothing to drain), then drain the newest (Knative and ReplicaSets alike pick the
 *   youngest: it has the least warm state).
 * - A spec no longer assigned: remove its failed instances, drain all the others.
 *
 * @example assigned {A: 2}, current [A1 ready, A2 ready, A3 starting (newest), B1 ready]
 *   → [drain A3, drain B1]
 */

/** The states an instance reports (docs/functions-runtime.md). */
export type InstanceState = "starting" | "ready" | "draining" | "failed";

/** One spec (version + settings) assigned to this node, and how many instances of it control wants here. */
export interface AssignedSpec {
  specKey: string;
  desired: number;
}

/** What reconciliation needs to know of a running instance. */
export interface CurrentInstance {
  key: string;
  specKey: string;
  state: InstanceState;
  /** When it was started, ms: the newest is drained first. */
  startedAtMs: number;
}

export type Action = { kind: "start"; specKey: string } | { kind: "drain"; key: string } | { kind: "remove"; key: string };

/** The actions, starts in assignment order, then per spec removals and drains (newest first). O(n log n). */
export function planReconcile(assigned: readonly AssignedSpec[], current: readonly CurrentInstance[]): Action[] {
  const actions: Action[] = [];
  const desiredBySpec = new Map(assigned.map((a) => [a.specKey, a.desired]));
  for (const a of assigned) {
    const counted = current.filter((i) => i.specKey === a.specKey && i.state !== "draining").length;
    for (let n = counted; n < a.desired; n++) actions.push({ kind: "start", specKey: a.specKey });
  }
  const specs = [...new Set(current.map((i) => i.specKey))];
  for (const specKey of specs) {
    const desired = desiredBySpec.get(specKey) ?? 0;
    const mine = current.filter((i) => i.specKey === specKey && i.state !== "draining");
    let excess = mine.length - desired;
    for (const i of mine.filter((x) => x.state === "failed")) {
      if (excess <= 0) break;
      actions.push({ kind: "remove", key: i.key });
      excess--;
    }
    const live = mine.filter((x) => x.state !== "failed").sort((x, y) => y.startedAtMs - x.startedAtMs || (x.key < y.key ? 1 : -1));
    for (const i of live.slice(0, Math.max(0, excess))) actions.push({ kind: "drain", key: i.key });
  }
  return actions;
}

/** The fields of an assignment that decide what its instances run. */
export interface SpecFields {
  appkey: string;
  function: string;
  version: number;
  sha256: string;
  main: string;
  compatibilityDate: string;
  env: Readonly<Record<string, string>>;
  allowOutbound: boolean;
  containerConcurrency: number;
}

/**
 * The identity of what an instance runs: version plus every setting baked into its process or
 * queue-proxy. A changed setting (a PATCHed allowOutbound, containerConcurrency) is a new spec:
 * new instances start and the old ones drain, as a Deployment rolls pods on a template change.
 */
export function specKeyOf(a: SpecFields): string {
  const env = Object.entries(a.env).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  return `${a.appkey}/${a.function}@${a.version} ${JSON.stringify([a.sha256, a.main, a.compatibilityDate, env, a.allowOutbound, a.containerConcurrency])}`;
}
