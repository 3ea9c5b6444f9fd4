/**
 * The balancer kinds, declared once (docs/balancing.md): the index of a kind is its GROUPS.balancer
 * code in the snapshot. The reference (wasm/reference/balancers.ts), control's API and writer, the
 * gateway's snapshot metadata and the generated AssemblyScript constants (BALANCER_*) all derive
 * from this list. Own module so the Worker bundle takes only the list.
 */
export const BALANCER_KINDS = ["swrr", "random", "least-request", "peak-ewma", "ring-hash", "maglev"] as const;
export type BalancerKind = (typeof BALANCER_KINDS)[number];
