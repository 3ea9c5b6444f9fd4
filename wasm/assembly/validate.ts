/**
 * Structural validation of a staged snapshot file (docs/snapshot-format.md), run once per load so
 * the per-request path can read records at fixed offsets without a single bounds check on the
 * snapshot: after this passes, every strref, index, slice and code range stays inside the file,
 * and every route program is verified (validate-routes.ts, code-check.ts).
 * The content hash and the Ed25519 signature are the JS caller's job, before this runs.
 */
import { FNV_OFFSET, fnvBytes } from "./bytes";
import {
  E_BAD_DIRECTORY, E_BAD_FLAGS, E_BAD_FORMAT_VERSION, E_BAD_HOST_TABLE, E_BAD_INDEX, E_BAD_MAGIC, E_BAD_RECORD_SIZE,
  E_BAD_ROUTE_ORDER, E_BAD_STRING, E_BAD_VALUE, E_DUPLICATE_SECTION, E_MISSING_SECTION, E_SECTION_OUT_OF_BOUNDS,
  E_STALE_VERSION, E_TRUNCATED, LOAD_OK,
} from "./errors";
import {
  DIRECTORY_ENTRY_BYTES, FORMAT_VERSION, H_BUILT_AT_MS, H_FLAGS, H_FORMAT_VERSION, H_MAGIC, H_SECTION_COUNT,
  H_SNAPSHOT_VERSION, H_TOTAL_LENGTH, HEADER_BYTES, HOST_BYTES, HOST_FIRST_ROUTE, HOST_NAME, HOST_ROUTE_COUNT,
  MAGIC, MATCH_EXACT, recordBytes, ROUTE_BYTES, ROUTE_MATCH, S_HOST_TABLE, S_HOSTS, S_ROUTES,
  S_STRINGS, SECTION_ID_MAX,
} from "./format";
import { setStringBounds, strrefAtOk } from "./string-bounds";
import { checkGroupSections } from "./validate-groups";
import { checkRouteSections } from "./validate-routes";
import { sectionAddr, sectionCount, setSection, V_BASE, V_BUILT_AT_MS, V_VERSION, V_WILDCARD_SUFFIX, VIEW_BYTES } from "./view";

// The address of the file being validated; its STRINGS bounds live in string-bounds.ts.
let base: usize = 0;

@inline function sliceOk(first: u32, count: u32, size: u32): bool {
  return <u64>first + <u64>count <= <u64>size;
}

/**
 * Validates the `length` staged bytes at `file` and fills `view`.
 * Refuses a snapshotVersion ≤ `activeVersion` when `hasActive`.
 * @returns LOAD_OK or the first E_* code found (errors.ts).
 */
export function validateSnapshot(file: usize, length: u32, view: usize, hasActive: bool, activeVersion: u64): i32 {
  if (length < HEADER_BYTES) return E_TRUNCATED;
  if (load<u32>(file + H_MAGIC) != MAGIC) return E_BAD_MAGIC;
  if (<u32>load<u16>(file + H_FORMAT_VERSION) != FORMAT_VERSION) return E_BAD_FORMAT_VERSION;
  if (load<u16>(file + H_FLAGS) != 0) return E_BAD_FLAGS;
  const totalLength = load<u32>(file + H_TOTAL_LENGTH);
  if (totalLength > length) return E_TRUNCATED;
  const version = load<u64>(file + H_SNAPSHOT_VERSION);
  if (hasActive && version <= activeVersion) return E_STALE_VERSION;

  base = file;
  memory.fill(view, 0, VIEW_BYTES);
  store<u32>(view + V_BASE, <u32>file);
  store<u64>(view + V_VERSION, version);
  store<u64>(view + V_BUILT_AT_MS, load<u64>(file + H_BUILT_AT_MS));

  const err = readDirectory(view, totalLength);
  if (err != LOAD_OK) return err;
  const poolStart = <u32>(sectionAddr(view, S_STRINGS) - file);
  setStringBounds(poolStart, poolStart + sectionCount(view, S_STRINGS), totalLength);

  let e = checkGroupSections(view);
  if (e == LOAD_OK) e = checkRouteSections(view);
  if (e == LOAD_OK) e = checkHosts(view);
  if (e == LOAD_OK) e = checkHostTable(view);
  return e;
}

/** Section directory: known ids exactly once, within the file's `total` bytes, whole records; unknown ids skipped. */
function readDirectory(view: usize, total: u32): i32 {
  const count = load<u32>(base + H_SECTION_COUNT);
  const directoryEnd = <u64>HEADER_BYTES + <u64>count * DIRECTORY_ENTRY_BYTES;
  if (directoryEnd > <u64>total) return E_BAD_DIRECTORY;
  for (let i: u32 = 0; i < count; i++) {
    const entry = base + HEADER_BYTES + i * DIRECTORY_ENTRY_BYTES;
    const id = load<u32>(entry);
    const off = load<u32>(entry, 4);
    const len = load<u32>(entry, 8);
    if (id == 0 || id > SECTION_ID_MAX) continue; // forward compatible
    if (sectionAddr(view, id) != 0) return E_DUPLICATE_SECTION;
    if (<u64>off < directoryEnd || <u64>off + <u64>len > <u64>total) return E_SECTION_OUT_OF_BOUNDS;
    const size = recordBytes(id);
    if (len % size != 0) return E_BAD_RECORD_SIZE;
    setSection(view, id, base + off, len / size);
  }
  for (let id: u32 = 1; id <= SECTION_ID_MAX; id++) {
    if (sectionAddr(view, id) == 0) return E_MISSING_SECTION;
  }
  return LOAD_OK;
}

/** Host records: names, route slices, exact-before-prefix order; notes the longest wildcard. */
function checkHosts(view: usize): i32 {
  const routes = sectionCount(view, S_ROUTES);
  let wildcardSuffix: u32 = 0;
  for (let i: u32 = 0, n = sectionCount(view, S_HOSTS); i < n; i++) {
    const r = sectionAddr(view, S_HOSTS) + i * HOST_BYTES;
    if (!strrefAtOk(r + HOST_NAME)) return E_BAD_STRING;
    const first = load<u32>(r + HOST_FIRST_ROUTE);
    const count = load<u32>(r + HOST_ROUTE_COUNT);
    if (!sliceOk(first, count, routes)) return E_BAD_INDEX;
    let seenPrefix = false;
    for (let j: u32 = 0; j < count; j++) {
      const exact = load<u8>(sectionAddr(view, S_ROUTES) + (first + j) * ROUTE_BYTES + ROUTE_MATCH) == MATCH_EXACT;
      if (exact && seenPrefix) return E_BAD_ROUTE_ORDER;
      if (!exact) seenPrefix = true;
    }
    // `*.example.com`: the request host's suffix `.example.com` (len - 1 bytes) is looked up.
    const nameLen = load<u32>(r + HOST_NAME, 4);
    const name = base + load<u32>(r + HOST_NAME);
    if (nameLen >= 2 && load<u8>(name) == 0x2a && load<u8>(name, 1) == 0x2e && nameLen - 1 > wildcardSuffix) {
      wildcardSuffix = nameLen - 1;
    }
  }
  store<u32>(view + V_WILDCARD_SUFFIX, wildcardSuffix);
  return LOAD_OK;
}

/**
 * HOST_TABLE: n a power of two ≥ max(8, 2 × hosts); slots ≤ hosts; exactly `hosts` used slots;
 * every host reachable by its own probe sequence (which also bounds every probe at lookup).
 */
function checkHostTable(view: usize): i32 {
  const slots = sectionCount(view, S_HOST_TABLE);
  const table = sectionAddr(view, S_HOST_TABLE);
  const hosts = sectionCount(view, S_HOSTS);
  if (slots < 8 || (slots & (slots - 1)) != 0 || <u64>slots < (<u64>hosts << 1)) return E_BAD_HOST_TABLE;
  let used: u32 = 0;
  for (let s: u32 = 0; s < slots; s++) {
    const v = load<u32>(table + (<usize>s << 2));
    if (v > hosts) return E_BAD_HOST_TABLE;
    if (v != 0) used++;
  }
  if (used != hosts) return E_BAD_HOST_TABLE;
  const mask = slots - 1;
  for (let i: u32 = 0; i < hosts; i++) {
    const r = sectionAddr(view, S_HOSTS) + i * HOST_BYTES;
    const name = base + load<u32>(r + HOST_NAME);
    const nameLen = load<u32>(r + HOST_NAME, 4);
    let s = fnvBytes(FNV_OFFSET, name, nameLen) & mask;
    let found = false;
    for (let probes: u32 = 0; probes < slots; probes++) {
      const v = load<u32>(table + (<usize>s << 2));
      if (v == 0) break;
      if (v == i + 1) {
        found = true;
        break;
      }
      s = (s + 1) & mask;
    }
    if (!found) return E_BAD_HOST_TABLE;
  }
  return LOAD_OK;
}
