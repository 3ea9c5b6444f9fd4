/**
 * Finds and decodes the FUNCTIONS section (id 14) of a snapshot file the gateway has verified
 * (docs/snapshot-format.md "Section directory"; docs/functions-runtime.md "In the snapshot").
 * WASM skips the section; the gateway reads it once per load, next to the WASM load, and refuses
 * the snapshot when it is malformed (as WASM refuses a bad record). Pure.
 */
import {
  decodeFunctionsSection,
  FUNCTIONS_SECTION_ID,
  type FunctionsSection,
  FunctionsSectionError,
} from "../../wasm/functions-section.ts";

/** Header offsets and directory entry size from docs/snapshot-format.md. */
const TOTAL_LENGTH_AT = 16;
const SECTION_COUNT_AT = 20;
const HEADER_BYTES = 64;
const DIRECTORY_ENTRY_BYTES = 12;

/**
 * The FUNCTIONS section of `file`, or null when the snapshot has none (no route targets a
 * function). The directory's offsets are absolute, its integers little-endian.
 * @param file the whole snapshot file (header at byte 0), already verified.
 * @param groupCount the snapshot's GROUPS record count (HotPath's snapshot info `groups.length`):
 *   every group index in the section must be below it.
 * @throws FunctionsSectionError when the directory entry lies outside the file, the section
 *   appears twice, or its content is malformed (decodeFunctionsSection).
 * @example readFunctionsSection(file, info.groups.length)?.functions[0].targets[0].group // → 13
 */
export function readFunctionsSection(file: Uint8Array, groupCount: number): FunctionsSection | null {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (file.byteLength < HEADER_BYTES) throw new FunctionsSectionError("snapshot shorter than its header");
  const totalLength = view.getUint32(TOTAL_LENGTH_AT, true);
  const count = view.getUint32(SECTION_COUNT_AT, true);
  const directoryEnd = HEADER_BYTES + count * DIRECTORY_ENTRY_BYTES;
  if (totalLength > file.byteLength || directoryEnd > totalLength) throw new FunctionsSectionError("snapshot directory out of bounds");
  let found: Uint8Array | null = null;
  for (let entry = HEADER_BYTES; entry < directoryEnd; entry += DIRECTORY_ENTRY_BYTES) {
    if (view.getUint32(entry, true) !== FUNCTIONS_SECTION_ID) continue;
    if (found) throw new FunctionsSectionError("FUNCTIONS section appears twice in the directory");
    const offset = view.getUint32(entry + 4, true);
    const length = view.getUint32(entry + 8, true);
    if (offset < directoryEnd || offset + length > totalLength) throw new FunctionsSectionError("FUNCTIONS section out of bounds");
    found = file.subarray(offset, offset + length);
  }
  return found ? decodeFunctionsSection(found, groupCount) : null;
}
