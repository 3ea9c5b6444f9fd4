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

// PLACEHOLDER until issue15-snapshot merges: the real reader (with full validation) replaces this.
/**
 * The FUNCTIONS section of a verified snapshot file, or null when the file has none.
 * @throws Error when the section is not a JSON object with a `functions` array.
 */
export function readFunctionsSection(file: Uint8Array): FunctionsSection | null {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const count = view.getUint32(20, true);
  for (let i = 0; i < count; i++) {
    const at = 64 + i * 12;
    if (view.getUint32(at, true) !== FUNCTIONS_SECTION_ID) continue;
    const offset = view.getUint32(at + 4, true);
    const length = view.getUint32(at + 8, true);
    const parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(file.subarray(offset, offset + length)));
    if (typeof parsed !== "object" || parsed === null || !Array.isArray(parsed.functions)) {
      throw new Error("FUNCTIONS section is not {functions: [...]}");
    }
    return parsed as FunctionsSection;
  }
  return null;
}
