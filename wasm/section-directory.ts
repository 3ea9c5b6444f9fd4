/**
 * The section directory of a snapshot file (docs/snapshot-format.md "Header", "Directory"), read
 * by the TypeScript readers of the JSON sections WASM skips (wasm/functions-section.ts,
 * wasm/plugins-section.ts): where each entry of a section id lies, and how many GROUPS records the
 * file has. Pure; bounds-checked against the header's totalLength.
 */
import { GROUP_RECORD_BYTES } from "./layout/group-record.ts";

/** Header offsets, directory entry size and the GROUPS id, from docs/snapshot-format.md. */
const TOTAL_LENGTH_AT = 16;
const SECTION_COUNT_AT = 20;
const HEADER_BYTES = 64;
const DIRECTORY_ENTRY_BYTES = 12;
const GROUPS_SECTION_ID = 8;

/**
 * `{offset, length}` of every directory entry of section `id` in `file` (absolute offsets,
 * little-endian), in directory order.
 * @param fail builds the error thrown when the header or an entry lies outside the file.
 */
export function sectionsWithId(file: Uint8Array, id: number, fail: (message: string) => Error): { offset: number; length: number }[] {
  if (file.byteLength < HEADER_BYTES) throw fail("snapshot shorter than its header");
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const totalLength = view.getUint32(TOTAL_LENGTH_AT, true);
  const directoryEnd = HEADER_BYTES + view.getUint32(SECTION_COUNT_AT, true) * DIRECTORY_ENTRY_BYTES;
  if (totalLength > file.byteLength || directoryEnd > totalLength) throw fail("snapshot directory out of bounds");
  const found: { offset: number; length: number }[] = [];
  for (let entry = HEADER_BYTES; entry < directoryEnd; entry += DIRECTORY_ENTRY_BYTES) {
    if (view.getUint32(entry, true) !== id) continue;
    const offset = view.getUint32(entry + 4, true);
    const length = view.getUint32(entry + 8, true);
    if (offset < directoryEnd || offset + length > totalLength) throw fail(`section ${id} out of bounds`);
    found.push({ offset, length });
  }
  return found;
}

/** GROUPS records in `file` (its directory entry's length ÷ the record size; 0 when absent). */
export function groupRecordCount(file: Uint8Array, fail: (message: string) => Error): number {
  const [groups] = sectionsWithId(file, GROUPS_SECTION_ID, fail);
  return groups ? Math.floor(groups.length / GROUP_RECORD_BYTES) : 0;
}

/**
 * The bytes of the one section `id` of `file`, or null when absent.
 * @throws what `fail` builds when the section appears twice or lies outside the file.
 */
export function sectionBytes(file: Uint8Array, id: number, name: string, fail: (message: string) => Error): Uint8Array | null {
  const found = sectionsWithId(file, id, fail);
  if (found.length > 1) throw fail(`${name} section appears twice in the directory`);
  const [section] = found;
  return section ? file.subarray(section.offset, section.offset + section.length) : null;
}
