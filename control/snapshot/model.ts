/**
 * The configuration a snapshot is compiled from: plain data read from the database in one
 * transaction (control/db) and handed to the pure snapshot writer (control/snapshot/writer.ts).
 * Names, not ids, link resources, as users write them in the API.
 */

/** Where a policy's key is read from: Oceanus' passway (`body`: a JSON dotted path or a form field). */
export type Passway = "query" | "header" | "cookie" | "body";

/** OCTO instance status (SGService.status). Only `alive` instances receive traffic. */
export type InstanceStatus = "dead" | "starting" | "alive" | "stopping" | "stopped" | "warning";

export interface InstanceConfig {
  id: number;
  /** IP literal or DNS name the gateway connects to. */
  host: string;
  /** TCP port, 1–65535. */
  port: number;
  /** Relative weight, 0–10000 (OCTO's usual 10); 0 receives no traffic. */
  weight: number;
  status: InstanceStatus;
  zone: string;
  lane: string;
  version: string;
}

export interface GroupConfig {
  id: number;
  /** The service (appkey) the group belongs to. */
  appkey: string;
  /** Unique within its appkey. */
  name: string;
  balancer: "swrr";
  instances: InstanceConfig[];
}

export interface PolicyConfig {
  id: number;
  /** Globally unique policy name; routes list these. */
  name: string;
  /** `private` policies are usable only by routes of `appkey`; `public` ones by any route. */
  category: "private" | "public";
  /** Owning appkey for private policies, `null` for public ones. */
  appkey: string | null;
  /** Request attribute the policy routes on, e.g. `uid`, read from `passway`. */
  key: string;
  passway: Passway;
  /** CEL source, see docs/conditions.md. */
  condition: string;
  /** Target group name, resolved within the appkey of each route that uses the policy. */
  group: string;
  /** Oceanus' switch. */
  enabled: boolean;
  /** When non-empty, the policy applies only to requests whose key value is listed. */
  graylist: string[];
}

export interface RouteConfig {
  id: number;
  appkey: string;
  /** Lowercase host: `api.example.com`, `*.example.com`, or `*` for any host. */
  host: string;
  /** Location path, starting with `/`. */
  path: string;
  /** nginx precedence: `exact` (`location =`) beats the longest `prefix`. */
  match: "exact" | "prefix";
  /** Group name (in `appkey`) used when no policy matches. */
  defaultGroup: string;
  /** Policy names, evaluated in order; the first enabled match wins. */
  policies: string[];
  /** Total upstream timeout in ms (Envoy's route timeout default: 15000). */
  timeoutMs: number;
  /**
   * Most request-body bytes the gateway reads for `body` attributes (default
   * DEFAULT_BODY_CAP_BYTES); a longer body leaves them absent. The body is forwarded whole.
   */
  bodyCapBytes?: number;
}

/** Default body cap per route: 64 KiB. */
export const DEFAULT_BODY_CAP_BYTES = 65536;

export interface ConfigModel {
  groups: GroupConfig[];
  policies: PolicyConfig[];
  routes: RouteConfig[];
}
