/**
 * Section 14 of the snapshot, FUNCTIONS (docs/snapshot-format.md, docs/functions-runtime.md): the
 * functions routes target, their traffic split and the GROUPS index of each version. UTF-8 JSON
 * inside the signed file; WASM skips it, the gateway's TypeScript reads it. Control writes it
 * (control/snapshot/writer.ts) with these types; this module is the one description of its shape,
 * and its reader: readFunctionsSection finds and checks it in a verified file.
 */

import { groupRecordCount, sectionBytes } from "./section-directory.ts";
import { readSectionJson } from "./section-json.ts";

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

/** A FUNCTIONS section that is not what control writes: the gateway refuses the whole snapshot. */
export class FunctionsSectionError extends Error {
  override name = "FunctionsSectionError";
}

/** The section's bytes: UTF-8 JSON of `section`, as control writes it. */
export function encodeFunctionsSection(section: FunctionsSection): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(section));
}

const STICKY_FROM: readonly string[] = ["header", "cookie", "query"];

/**
 * Decodes and checks a FUNCTIONS section's bytes: UTF-8 JSON of the shape above, every GROUPS
 * index below `groupCount`, percents integers 0–100 summing to 100 (when there are targets),
 * tags and lanes unique per function. O(size).
 * @param groupCount the GROUPS record count of the same snapshot.
 * @throws FunctionsSectionError naming the first bad field, e.g. `functions[0].targets[1].group: 7 is not below 5`.
 */
export function decodeFunctionsSection(bytes: Uint8Array, groupCount: number): FunctionsSection {
  const { json, read } = readSectionJson(bytes, "FUNCTIONS", (message) => new FunctionsSectionError(message));
  const { fail, object, array, int, text, textOrNull } = read;
  const group = (v: unknown, at: string): number =>
    Number.isInteger(v) && (v as number) >= 0 && (v as number) < groupCount
      ? (v as number)
      : fail(at, `${JSON.stringify(v)} is not below ${groupCount}`);

  const root = object(json, "root");
  const functions = array(root.functions, "functions").map((raw, i): FunctionEntry => {
    const at = `functions[${i}]`;
    const fn = object(raw, at);
    let stickiness: FunctionStickiness | null = null;
    if (fn.stickiness !== null) {
      const s = object(fn.stickiness, `${at}.stickiness`);
      if (!STICKY_FROM.includes(s.from as string))
        fail(`${at}.stickiness.from`, `${JSON.stringify(s.from)} is not header, cookie or query`);
      stickiness = { from: s.from as FunctionStickiness["from"], name: text(s.name, `${at}.stickiness.name`) };
    }
    const targets = array(fn.targets, `${at}.targets`).map((rawTarget, j): FunctionTarget => {
      const tat = `${at}.targets[${j}]`;
      const t = object(rawTarget, tat);
      return {
        version: int(t.version, `${tat}.version`, 1, 2 ** 31 - 1),
        group: group(t.group, `${tat}.group`),
        percent: int(t.percent, `${tat}.percent`, 0, 100),
        tag: textOrNull(t.tag, `${tat}.tag`),
        lane: textOrNull(t.lane, `${tat}.lane`),
      };
    });
    const total = targets.reduce((sum, t) => sum + t.percent, 0);
    if (targets.length > 0 && total !== 100) fail(`${at}.targets`, `percents sum to ${total}, not 100`);
    for (const key of ["tag", "lane"] as const) {
      const values = targets.map((t) => t[key]).filter((v) => v !== null);
      if (new Set(values).size !== values.length) fail(`${at}.targets`, `a ${key} is used twice`);
    }
    return {
      id: int(fn.id, `${at}.id`, 1, 2 ** 31 - 1),
      appkey: text(fn.appkey, `${at}.appkey`),
      name: text(fn.name, `${at}.name`),
      entryGroup: group(fn.entryGroup, `${at}.entryGroup`),
      activationTimeoutMs: int(fn.activationTimeoutMs, `${at}.activationTimeoutMs`, 1, 2 ** 31 - 1),
      stickiness,
      targets,
    };
  });
  return { functions };
}

const sectionError = (message: string) => new FunctionsSectionError(message);

/**
 * The FUNCTIONS section of a verified snapshot file, or null when it has none (no route targets
 * a function). The gateway reads it at each load, with WASM's load, and refuses the snapshot
 * when this throws (the last good one keeps serving). O(file directory + section size).
 * @param file the whole snapshot file (header at byte 0).
 * @param groupCount the snapshot's GROUPS record count; every group index must be below it
 *   (default: counted from the file's GROUPS directory entry).
 * @throws FunctionsSectionError when the directory or the section's entry lies outside the file,
 *   the section appears twice, or its content is malformed (decodeFunctionsSection).
 * @example readFunctionsSection(file)?.functions[0]?.targets[0]?.group // → 13
 */
export function readFunctionsSection(file: Uint8Array, groupCount: number = groupRecordCount(file, sectionError)): FunctionsSection | null {
  const bytes = sectionBytes(file, FUNCTIONS_SECTION_ID, "FUNCTIONS", sectionError);
  return bytes ? decodeFunctionsSection(bytes, groupCount) : null;
}
