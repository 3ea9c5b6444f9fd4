/**
 * The GROUPS record of the policy snapshot, declared once (docs/snapshot-format.md, "GROUPS"):
 * every field's name, type, unit, the range a reader accepts, the tighter range the admin API
 * accepts, and its doc line. Offsets follow from the order and the types. From this table:
 * - control/snapshot/layout.ts derives `GROUP` (offsets), the flag bits and `BALANCER_CODES`,
 *   which writer.ts writes through;
 * - wasm/layout/render.ts generates the AssemblyScript constants and range check
 *   (wasm/assembly/generated/group-record.ts) and the GROUPS table of docs/snapshot-format.md,
 *   written by `node wasm/layout/generate.ts`; test/wasm/layout/group-record.test.ts fails on any drift;
 * - control/api/balancing-fields.ts takes each option's zod range from `apiRangeOf`.
 * Plain data (a table is longer than a module usually is, but one table is the point): no
 * imports but the balancer kinds, so control/ and wasm/ can both read it.
 */
import { BALANCER_KINDS } from "../reference/balancer-kinds.ts";

export { BALANCER_KINDS };

/** Field types and their widths in bytes (`strref` = u32 offset + u32 length). */
export const FIELD_BYTES = { u8: 1, u16: 2, u32: 4, strref: 8 } as const;
export type FieldType = keyof typeof FIELD_BYTES;

/** Where an option lives in control's `balancing` object (control/snapshot/options.ts GroupBalancing). */
export interface OptionPath {
  part: "ringHash" | "maglev" | "leastRequest" | "peakEwma" | "routeRules" | "outlier" | "instanceBreaker" | "groupBreaker" | null;
  key: string;
  /** The record holds `round(value × scale)` (thousandths: 1000); default 1. */
  scale?: number;
}

export interface GroupFieldSpec {
  /** camelCase; the AssemblyScript constant is GROUP_ + its SCREAMING_SNAKE form. */
  name: string;
  type: FieldType;
  /** The docs table's field text (units included); the range is appended from min/max. */
  doc: string;
  /** Smallest stored value a reader accepts (checked only when given). */
  min?: number;
  /** Largest stored value a reader accepts (checked only when given). */
  max?: number;
  /** A reader also requires value ≥ this other field's value. */
  atLeast?: string;
  /** A reader requires a prime (maglev table sizes). */
  prime?: boolean;
  /** Flag bits (bit i = bits[i]); a reader refuses any other bit. */
  bits?: readonly { name: string; doc: string }[];
  /** The option this field stores; absent for structural fields (id, name, instances…). */
  option?: OptionPath;
  /** The API's accepted range in the option's own unit, when it differs from [min, max] / scale. */
  apiRange?: [number, number];
}

/** Ring hash size bound, points: 1M (12 MiB of ring per group; Envoy's 8M would not fit an isolate's 128 MB). */
const RING_SIZE_MAX = 1_048_576;
/** Longest configurable interval or duration in the API, ms (1 h). */
const API_MAX_MS = 3_600_000;
/** Largest counter the API accepts. */
const API_MAX_COUNT = 1_000_000;

/** GROUPS.flags bits, bit i = GROUP_FLAG_BITS[i]. */
export const GROUP_FLAG_BITS = [
  { name: "cellFallback", doc: "cellFallback" },
  { name: "ringScaleEnvoy", doc: "ring scale `envoy` (0 = `stable`)" },
  { name: "alwaysEjectOneHost", doc: "alwaysEjectOneHost" },
] as const;

const kindList = BALANCER_KINDS.map((k, i) => `\`${i}\` ${k}`).join(", ");
const flagList = GROUP_FLAG_BITS.map((f, i) => `bit ${i} ${f.doc}`).join(", ");

/** The fields in record order; a field named `reserved` is written 0 and not read. */
export const GROUP_FIELDS: readonly GroupFieldSpec[] = [
  { name: "id", type: "u32", doc: "id" },
  { name: "name", type: "strref", doc: "name" },
  { name: "balancer", type: "u8", doc: `balancer: ${kindList}`, max: BALANCER_KINDS.length - 1 },
  {
    name: "hashKeySource",
    type: "u8",
    doc: "hashKeySource: ATTRIBUTES source `0` query, `1` header, `2` cookie, `4` client (ip); `255` none",
  },
  {
    name: "hashKeyAttribute",
    type: "u16",
    doc: "hashKeyAttribute: ATTRIBUTES index of the key (same source); `0xFFFF` iff hashKeySource is `255`",
  },
  { name: "firstInstance", type: "u32", doc: "firstInstance: INSTANCES index" },
  { name: "instanceCount", type: "u32", doc: "instanceCount" },
  { name: "flags", type: "u8", doc: `flags: ${flagList}`, bits: GROUP_FLAG_BITS },
  {
    name: "panicThresholdPct",
    type: "u8",
    doc: "panicThresholdPct, percent (Envoy 50 %)",
    max: 100,
    option: { part: null, key: "panicThresholdPct" },
  },
  {
    name: "choiceCount",
    type: "u8",
    doc: "leastRequest choiceCount",
    min: 2,
    max: 100,
    option: { part: "leastRequest", key: "choiceCount" },
  },
  {
    name: "maxEjectionPercent",
    type: "u8",
    doc: "outlier maxEjectionPercent",
    max: 100,
    option: { part: "outlier", key: "maxEjectionPercent" },
  },
  {
    name: "minRingSize",
    type: "u32",
    doc: "ringHash minRingSize",
    min: 1,
    max: RING_SIZE_MAX,
    option: { part: "ringHash", key: "minRingSize" },
  },
  {
    name: "maxRingSize",
    type: "u32",
    doc: "ringHash maxRingSize",
    min: 1,
    max: RING_SIZE_MAX,
    atLeast: "minRingSize",
    option: { part: "ringHash", key: "maxRingSize" },
  },
  // At most 65537: the WASM preallocates tableSize u16 slots per maglev group (docs/balancing.md).
  {
    name: "maglevTableSize",
    type: "u32",
    doc: "maglev tableSize: a prime",
    min: 2,
    max: 65_537,
    prime: true,
    option: { part: "maglev", key: "tableSize" },
  },
  {
    name: "activeRequestBiasMilli",
    type: "u32",
    doc: "leastRequest activeRequestBias, thousandths (1000 = 1.0)",
    max: 100_000,
    option: { part: "leastRequest", key: "activeRequestBias", scale: 1000 },
  },
  {
    name: "ewmaDecayMs",
    type: "u32",
    doc: "peakEwma decayMs",
    min: 1,
    option: { part: "peakEwma", key: "decayMs" },
    apiRange: [1, API_MAX_MS],
  },
  {
    name: "sameZonePpm",
    type: "u32",
    doc: "routeRules sameZonePpm",
    min: 1,
    max: 1_000_000,
    option: { part: "routeRules", key: "sameZonePpm" },
  },
  {
    name: "otherZonePpm",
    type: "u32",
    doc: "routeRules otherZonePpm",
    min: 1,
    max: 1_000_000,
    option: { part: "routeRules", key: "otherZonePpm" },
  },
  {
    name: "otherRegionPpm",
    type: "u32",
    doc: "routeRules otherRegionPpm",
    min: 1,
    max: 1_000_000,
    option: { part: "routeRules", key: "otherRegionPpm" },
  },
  ...[
    ["consecutive5xx", "consecutive5xx", API_MAX_COUNT],
    ["consecutiveGatewayFailure", "consecutiveGatewayFailure", API_MAX_COUNT],
    ["outlierIntervalMs", "intervalMs", API_MAX_MS],
    ["baseEjectionTimeMs", "baseEjectionTimeMs", API_MAX_MS],
  ].map(
    ([name, key, apiMax]): GroupFieldSpec => ({
      name: name as string,
      type: "u32",
      doc: `outlier ${key}`,
      min: 1,
      option: { part: "outlier", key: key as string },
      apiRange: [1, apiMax as number],
    }),
  ),
  {
    name: "maxEjectionTimeMs",
    type: "u32",
    doc: "outlier maxEjectionTimeMs",
    min: 1,
    atLeast: "baseEjectionTimeMs",
    option: { part: "outlier", key: "maxEjectionTimeMs" },
    apiRange: [1, API_MAX_MS],
  },
  ...["enforcingConsecutive5xx", "enforcingConsecutiveGatewayFailure", "enforcingSuccessRate"].map(
    (name): GroupFieldSpec => ({ name, type: "u8", doc: `outlier ${name}, percent`, max: 100, option: { part: "outlier", key: name } }),
  ),
  { name: "reserved", type: "u8", doc: "reserved (0)" },
  {
    name: "successRateMinimumHosts",
    type: "u32",
    doc: "outlier successRateMinimumHosts",
    option: { part: "outlier", key: "successRateMinimumHosts" },
    apiRange: [0, API_MAX_COUNT],
  },
  {
    name: "successRateRequestVolume",
    type: "u32",
    doc: "outlier successRateRequestVolume",
    min: 1,
    option: { part: "outlier", key: "successRateRequestVolume" },
    apiRange: [1, API_MAX_COUNT],
  },
  {
    name: "successRateStdevFactor",
    type: "u32",
    doc: "outlier successRateStdevFactor, thousandths (Envoy's unit: 1900 = 1.9)",
    option: { part: "outlier", key: "successRateStdevFactor" },
    apiRange: [0, API_MAX_COUNT],
  },
  {
    name: "breakerStatIntervalMs",
    type: "u32",
    doc: "instanceBreaker statIntervalMs",
    min: 1,
    option: { part: "instanceBreaker", key: "statIntervalMs" },
    apiRange: [1, API_MAX_MS],
  },
  {
    name: "breakerMinRequestAmount",
    type: "u32",
    doc: "instanceBreaker minRequestAmount",
    min: 1,
    option: { part: "instanceBreaker", key: "minRequestAmount" },
    apiRange: [1, API_MAX_COUNT],
  },
  ...["errorRatio", "slowRatio"].map(
    (key): GroupFieldSpec => ({
      name: `breaker${key[0]!.toUpperCase()}${key.slice(1)}Milli`,
      type: "u32",
      doc: `instanceBreaker ${key}, thousandths (above 1000 the trigger is off)`,
      max: 2000,
      option: { part: "instanceBreaker", key, scale: 1000 },
    }),
  ),
  {
    name: "breakerSlowCallMs",
    type: "u32",
    doc: "instanceBreaker slowCallMs",
    min: 1,
    option: { part: "instanceBreaker", key: "slowCallMs" },
    apiRange: [1, API_MAX_MS],
  },
  {
    name: "breakerTimeWindowMs",
    type: "u32",
    doc: "instanceBreaker timeWindowMs",
    min: 1,
    option: { part: "instanceBreaker", key: "timeWindowMs" },
    apiRange: [1, API_MAX_MS],
  },
  {
    name: "maxRequests",
    type: "u32",
    doc: "groupBreaker maxRequests",
    min: 1,
    option: { part: "groupBreaker", key: "maxRequests" },
    apiRange: [1, API_MAX_COUNT],
  },
  {
    name: "maxPendingRequests",
    type: "u32",
    doc: "groupBreaker maxPendingRequests",
    option: { part: "groupBreaker", key: "maxPendingRequests" },
    apiRange: [0, API_MAX_COUNT],
  },
];

/** A field with its byte offset in the record. */
export interface GroupField extends GroupFieldSpec {
  offset: number;
}

/** The fields with their offsets: each follows the previous one (the table lists them naturally aligned). */
export const GROUP_LAYOUT: readonly GroupField[] = (() => {
  let at = 0;
  return GROUP_FIELDS.map((f) => {
    const field = { ...f, offset: at };
    at += FIELD_BYTES[f.type];
    return field;
  });
})();

/** Bytes of a GROUPS record. */
export const GROUP_RECORD_BYTES = GROUP_FIELDS.reduce((n, f) => n + FIELD_BYTES[f.type], 0);

/** The field named `name`. @throws Error when there is none (a typo in a caller). */
export function groupField(name: string): GroupField {
  const f = GROUP_LAYOUT.find((g) => g.name === name);
  if (f === undefined) throw new Error(`GROUPS has no field ${name}`);
  return f;
}

/**
 * The range the admin API accepts for the option stored in `name`, in the option's own unit:
 * `apiRange`, else [min, max] of the record divided by the option's scale (absent bounds: 0 and
 * u32 max). @example apiRangeOf("activeRequestBiasMilli") // → [0, 100]
 */
export function apiRangeOf(name: string): [number, number] {
  const f = groupField(name);
  if (f.apiRange) return f.apiRange;
  const scale = f.option?.scale ?? 1;
  return [(f.min ?? 0) / scale, (f.max ?? 0xffffffff) / scale];
}
