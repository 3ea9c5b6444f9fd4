/**
 * The functions of one snapshot as the gateway looks them up per request: by the GROUPS index of
 * their entry group `fn:<name>` (docs/functions-runtime.md, "In the snapshot"), and what a request
 * of a function carries for choosing its version ("Choosing the version").
 */

import type { FunctionEntry, FunctionStickiness, FunctionsSection } from "../../wasm/functions-section.ts";
import { type DecideRequest, Source } from "../../wasm/host.ts";

/** GROUPS index of an entry group → its function, for one snapshot. */
export type FunctionTable = ReadonlyMap<number, FunctionEntry>;

/** A snapshot without functions. */
export const NO_FUNCTIONS: FunctionTable = new Map();

/** Request header naming a target's tag (Knative tag routes). */
export const FUNCTION_TAG_HEADER = "sluice-function-tag";

/** The table of a snapshot's FUNCTIONS section (null: the snapshot has none). */
export function functionTable(section: FunctionsSection | null): FunctionTable {
  if (!section || section.functions.length === 0) return NO_FUNCTIONS;
  return new Map(section.functions.map((entry) => [entry.entryGroup, entry]));
}

/** What chooseVersion reads of a request (worker/functions/choose-version.ts). */
export interface VersionRequest {
  /** `sluice-function-tag`, null when absent. */
  tag: string | null;
  /** The request's OCTO lane (LANE_HEADER), "" for the main lane. */
  lane: string;
  /** The stickiness key's value when `entry` is sticky and the request carries it, else null. */
  stickyKey: string | null;
}

const STICKY_SOURCE: Record<FunctionStickiness["from"], number> = { header: Source.HEADER, cookie: Source.COOKIE, query: Source.QUERY };

/** The version-choosing fields of `request` for function `entry`. */
export function versionRequest(entry: FunctionEntry, request: DecideRequest): VersionRequest {
  const sticky = entry.stickiness;
  return {
    tag: request.attribute(Source.HEADER, FUNCTION_TAG_HEADER) ?? null,
    lane: request.lane ?? "",
    stickyKey: sticky ? (request.attribute(STICKY_SOURCE[sticky.from], sticky.name) ?? null) : null,
  };
}
