/**
 * Which instances a gray release applies to (docs/config-center.md "Gray rules"). Pure.
 * An instance matches when its id is listed, or its address (`ip`, or `ip:port`) is listed, or —
 * when `labels` names at least one key — for every label key given its value is one of the
 * listed values (ANDed across keys, ORed within one). Apollo's gray rules match by IP only, which
 * misses instances whose IP changes on Kubernetes (apolloconfig/apollo #5492): ids and labels do not.
 */

/** The labels a gray rule may select on. */
export const GRAY_LABEL_KEYS = ["zone", "cell", "lane", "version"] as const;
export type GrayLabelKey = (typeof GRAY_LABEL_KEYS)[number];

/** A gray's rules; at least one criterion (the API checks it). */
export interface GrayRules {
  instanceIds?: string[];
  /** `ip` (any port) or `ip:port`; IPv6 as `[addr]:port` or bare `addr`. */
  addresses?: string[];
  labels?: Partial<Record<GrayLabelKey, string[]>>;
}

/** Who is asking for configuration: the delivery API's identity query parameters. */
export interface InstanceIdentity {
  instanceId?: string;
  /** `ip:port` (`[v6]:port`) or a bare IP. */
  address?: string;
  zone?: string;
  cell?: string;
  lane?: string;
  version?: string;
}

/** The host part of an address: `10.0.0.1:80` → `10.0.0.1`, `[fd00::1]:80` → `fd00::1`, `fd00::1` → itself. */
export function hostOf(address: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) return bracketed[1];
  const colons = address.split(":").length - 1;
  if (colons === 1) return address.slice(0, address.indexOf(":"));
  return address;
}

/** True when `rules` select the instance `who`. */
export function grayMatches(rules: GrayRules, who: InstanceIdentity): boolean {
  if (who.instanceId !== undefined && rules.instanceIds?.includes(who.instanceId)) return true;
  if (who.address !== undefined && rules.addresses?.length) {
    const host = hostOf(who.address);
    for (const listed of rules.addresses) {
      if (listed === who.address) return true;
      // A listed bare IP matches any port of that IP.
      if (hostOf(listed) === listed && listed === host) return true;
    }
  }
  const labelKeys = GRAY_LABEL_KEYS.filter((key) => rules.labels?.[key] !== undefined);
  if (labelKeys.length === 0) return false;
  return labelKeys.every((key) => {
    const value = who[key];
    return value !== undefined && (rules.labels?.[key] ?? []).includes(value);
  });
}
