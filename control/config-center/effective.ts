/**
 * The effective release of a namespace for one instance (docs/config-center.md "Delivery API"):
 * the active gray's latest release when the gray has been published and its rules match the
 * instance, else the main release; none before the first release. Pure.
 */
import type { ConfigFormat } from "./formats.ts";
import { type GrayRules, grayMatches, type InstanceIdentity } from "./gray-rules.ts";

/** What delivery needs of one namespace: its main release and its active gray (ids and hashes, no content). */
export interface NamespaceDelivery {
  name: string;
  format: ConfigFormat;
  main: { id: number; hash: string } | null;
  gray: { id: number; rules: GrayRules; release: { id: number; hash: string } | null } | null;
}

/** The release an instance gets: its id and hash, and the gray's id when it is a gray release. */
export interface EffectiveRelease {
  release: number;
  hash: string;
  gray: number | null;
}

/** What `who` gets of `namespace`, or null when nothing is released. */
export function effectiveRelease(namespace: NamespaceDelivery, who: InstanceIdentity): EffectiveRelease | null {
  const { gray } = namespace;
  if (gray?.release && grayMatches(gray.rules, who)) return { release: gray.release.id, hash: gray.release.hash, gray: gray.id };
  if (namespace.main) return { release: namespace.main.id, hash: namespace.main.hash, gray: null };
  return null;
}

/**
 * The namespaces of `known` (namespace → release id, 0 = none) whose effective release for
 * `who` differs: what a watch answers. A namespace that does not exist counts as release 0.
 */
export function changedReleases(
  known: ReadonlyMap<string, number>,
  namespaces: ReadonlyMap<string, NamespaceDelivery>,
  who: InstanceIdentity,
): { namespace: string; release: number }[] {
  const changed: { namespace: string; release: number }[] = [];
  for (const [name, release] of known) {
    const state = namespaces.get(name);
    const current = state ? (effectiveRelease(state, who)?.release ?? 0) : 0;
    if (current !== release) changed.push({ namespace: name, release: current });
  }
  return changed;
}
