/**
 * The configuration a snapshot is compiled from: plain data read from the database in one
 * transaction (control/db) and handed to the pure snapshot writer (control/snapshot/writer.ts).
 * Names, not ids, link resources, as users write them in the API.
 */
import type { FunctionStickiness } from "../../wasm/functions-section.ts";
import type { ConsumerEntry } from "../../wasm/plugins-section.ts";
import type { BalancerKind, GroupBalancing, RouteRetry } from "./options.ts";
import type { EffectivePlugins } from "./plugin-options.ts";

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
  /** OCTO role: a `backup` serves only while no primary can (default `primary`). */
  role?: "primary" | "backup";
  /** OCTO IDC region (default ""); zone factors compare it. */
  region?: string;
  /** SET / cell (default ""): a request from a cell goes to that cell's instances. */
  cell?: string;
  /** Slow start: the weight ramps linearly over this many ms from aliveSinceMs (default 0: none). */
  warmupMs?: number;
  /** Unix ms when the instance last became routable (control's `alive_since`; default 0: unknown). */
  aliveSinceMs?: number;
  /** Drained by a traffic cut (instance, group or zone): receives nothing (default false). */
  drained?: boolean;
}

export interface GroupConfig {
  id: number;
  /** The service (appkey) the group belongs to. */
  appkey: string;
  /** Unique within its appkey. */
  name: string;
  balancer: BalancerKind;
  /** Balancing and fault-tolerance options, complete (default GROUP_BALANCING_DEFAULTS). */
  balancing?: GroupBalancing;
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
  /**
   * The condition's lowered IR as admission stored it (`policies.condition_ir`, JSON of
   * wasm/cel/ir-codec.ts). Used instead of parsing `condition` when it decodes for this
   * key and compiler version; absent, stale or damaged → the source is lowered.
   */
  storedIr?: unknown;
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
  /** Group name (in `appkey`) used when no policy matches; ignored when `function` is set. */
  defaultGroup: string;
  /**
   * Function name (in `appkey`, listed in ConfigModel.functions) that takes the traffic no policy
   * takes: the writer points the route's default group at the function's entry group `fn:<name>`.
   */
  function?: string;
  /** Policy names, evaluated in order; the first enabled match wins. */
  policies: string[];
  /** Total upstream timeout in ms (Envoy's route timeout default: 15000). */
  timeoutMs: number;
  /**
   * Most request-body bytes the gateway reads for `body` attributes (default
   * DEFAULT_BODY_CAP_BYTES); a longer body leaves them absent. The body is forwarded whole.
   */
  bodyCapBytes?: number;
  /** Retry policy, complete (default ROUTE_RETRY_DEFAULTS); `timeoutMs` is its total. */
  retry?: RouteRetry;
  /**
   * Set by a route traffic cut: the group (in `appkey`) that takes all of the route's traffic.
   * The route's policies are then bypassed, as if the route listed none.
   */
  forcedGroup?: string;
  /**
   * The route's effective plugins (its service's merged under its own, defaults filled:
   * control/snapshot/plugin-options.ts effectivePlugins); absent or empty: none. Written to section 15.
   */
  plugins?: EffectivePlugins;
}

/** Default body cap per route: 64 KiB. */
export const DEFAULT_BODY_CAP_BYTES = 65536;

/** One traffic target of a function, `latest` resolved to a version number. */
export interface FunctionTargetConfig {
  /** function_versions.number; a version of the function's `versions`. */
  version: number;
  /** 0–100; the function's targets sum to 100. */
  percent: number;
  tag: string | null;
  /** OCTO swimlane whose requests go to this target; null when none. */
  lane: string | null;
}

/** A ready version of a function, with the instances that may take its traffic. */
export interface FunctionVersionConfig {
  /** function_versions.id (its version group's id is 0x60000000 + id). */
  id: number;
  /** function_versions.number. */
  number: number;
  /** Ready instances with a live lease, ids function_instances.id (the writer offsets them: 0x40000000 + id). */
  instances: InstanceConfig[];
}

/** A function some route targets (docs/functions-runtime.md "In the snapshot"). */
export interface FunctionConfig {
  /** functions.id (its entry group's id is 0x40000000 + id). */
  id: number;
  appkey: string;
  /** Unique within its appkey. */
  name: string;
  /** Longest wait of a request in a gateway's activation buffer, ms. */
  activationTimeoutMs: number;
  stickiness: FunctionStickiness | null;
  /** In the stored order: the gateway's split is cumulative in this order. */
  targets: FunctionTargetConfig[];
  /** The versions the targets name, by number. */
  versions: FunctionVersionConfig[];
}

export interface ConfigModel {
  groups: GroupConfig[];
  policies: PolicyConfig[];
  routes: RouteConfig[];
  /** Functions that routes target (default none); written as groups plus the FUNCTIONS section. */
  functions?: FunctionConfig[];
  /** Consumers the auth plugins recognise (default none); written to the PLUGINS section. */
  consumers?: ConsumerEntry[];
}
