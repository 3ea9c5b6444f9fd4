/**
 * Section 14 of the snapshot, FUNCTIONS (docs/snapshot-format.md, docs/functions-runtime.md): the
 * functions routes target, their traffic split and the GROUPS index of each version. UTF-8 JSON
 * inside the signed file; WASM skips it, the gateway's TypeScript reads it. Control writes it
 * (control/snapshot/writer.ts) with these types; this module is the one description of its shape.
 */

/** Section id of FUNCTIONS in the section directory. */
export const FUNCTIONS_SECTION_ID = 14;

/** Where a sticky split reads its key (as a policy's passway, without `body`). */
export interface FunctionStickiness {
  from: "header" | "cookie" | "query";
  name: string;
}

/** One traffic target, `latest` already resolved to a version number. */
export interface FunctionTarget {
  version: number;
  /** GROUPS index of the version group `fn:<name>@<version>`. */
  group: number;
  /** 0–100; a function's targets sum to 100. */
  percent: number;
  /** Reached by header `sluice-function-tag: <tag>` whatever its percent; null when untagged. */
  tag: string | null;
  /** OCTO swimlane whose requests go to this target; null when none. */
  lane: string | null;
}

/** A function some route targets. */
export interface FunctionEntry {
  /** functions.id. */
  id: number;
  appkey: string;
  name: string;
  /** GROUPS index of the entry group `fn:<name>` that routes name as their default group. */
  entryGroup: number;
  /** Longest wait of a request in a gateway's activation buffer, ms. */
  activationTimeoutMs: number;
  stickiness: FunctionStickiness | null;
  targets: FunctionTarget[];
}

export interface FunctionsSection {
  functions: FunctionEntry[];
}
