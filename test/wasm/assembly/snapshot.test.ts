/**
 * Snapshot loading in the WASM hot path (wasm/assembly/snapshot.ts, validate.ts): files from the
 * real writer are accepted; each kind of damage is refused with its own code; a refused load
 * leaves the previous snapshot serving; loads do not leak memory.
 */
import { beforeEach, describe, expect, it } from "vitest";
import type { ConfigModel } from "../../../control/snapshot/model.ts";
import { DecideStatus, type HotPath, LOAD_ERROR_MESSAGES, LoadError } from "../../../wasm/host.ts";
import {
  group,
  instance,
  instantiate,
  policy,
  RECORD,
  record,
  request,
  route,
  SECTION,
  section,
  view,
  withVersion,
  write,
} from "../../support/wasm-fixtures.ts";

const MODEL: ConfigModel = {
  groups: [group(1, "main", [instance(1, 1), instance(2, 3)]), group(2, "canary", [instance(3, 1)])],
  policies: [policy(1, 'key == "c"', "canary", { graylist: ["c", "d"] })],
  routes: [
    route(1, "api.example.com", "/login", { match: "exact", policies: ["p1"] }),
    route(2, "api.example.com", "/", { policies: ["p1"], timeoutMs: 3000 }),
  ],
};
const GOOD = write(MODEL, 10n);
const TOTAL = view(GOOD).getUint32(16, true);

let hot: HotPath;
let exports: Record<string, unknown>;

beforeEach(async () => {
  ({ hot, exports } = await instantiate());
  expect(hot.load(GOOD)).toEqual({ ok: true, version: 10n });
});

/** The decision for a fixed request, to compare before and after a refused load. */
const probe = () => ({ ...hot.decide(request("api.example.com", "/x", { "0:k": "c" })) });

/** A copy of GOOD (as version 11) changed by `patch(file, dataView)`. */
function damaged(patch: (file: Uint8Array, v: DataView) => void): Uint8Array {
  const file = withVersion(GOOD, 11n);
  patch(file, view(file));
  return file;
}

describe("accepted files", () => {
  it("decodes the metadata of the active snapshot", () => {
    const s = hot.snapshot;
    expect(s.version).toBe(10n);
    expect(s.builtAtMs).toBe(1_700_000_000_000);
    expect(s.routes).toEqual([
      {
        id: 1,
        timeoutMs: 15000,
        bodyCapBytes: 65536,
        readsBody: false,
        flags: 0,
        firstSlot: 0,
        slotCount: 1,
        defaultGroup: 1,
        forced: false,
        perTryTimeoutMs: 0,
        numRetries: 1,
      },
      {
        id: 2,
        timeoutMs: 3000,
        bodyCapBytes: 65536,
        readsBody: false,
        flags: 0,
        firstSlot: 0,
        slotCount: 1,
        defaultGroup: 1,
        forced: false,
        perTryTimeoutMs: 0,
        numRetries: 1,
      },
    ]);
    expect(s.groups.map((g) => g.name).sort()).toEqual(["canary", "main"]);
    expect(s.instances.map((i) => [i.id, i.host, i.port, i.weight, i.status, s.groups[i.group]?.name]).sort()).toEqual([
      [1, "10.0.0.1", 8001, 1, 2, "main"],
      [2, "10.0.0.2", 8002, 3, 2, "main"],
      [3, "10.0.0.3", 8003, 1, 2, "canary"],
    ]);
    expect(s.policies).toEqual([{ id: 1, name: "p1" }]);
    expect(s.attributes).toEqual([{ source: 0, name: "k" }]);
    // Both routes list p1 and share one program; `k` is compared only with constants: interned.
    expect(s.slots).toEqual([{ source: 0, name: "k", mode: 2 }]);
    expect([...s.intern.keys()].sort()).toEqual(["c", "d"]);
  });

  it("accepts the file with or without its signature trailer", () => {
    expect(hot.load(withVersion(GOOD, 11n).subarray(0, TOTAL))).toEqual({ ok: true, version: 11n });
    expect(hot.load(withVersion(GOOD, 12n))).toEqual({ ok: true, version: 12n });
  });

  it("serves the new snapshot after a load, with fresh balancer state", () => {
    const other = write({ ...MODEL, routes: [route(7, "*", "/")] }, 11n);
    expect(hot.load(other).ok).toBe(true);
    const r = hot.decide(request("api.example.com", "/login"));
    expect(hot.snapshot.routes[r.route]?.id).toBe(7);
  });
});

/**
 * Format 3 fields out of the ranges docs/snapshot-format.md gives them: [name, section, record
 * size, field offset, width in bytes, value, expected error]. Record 0 of each section.
 */
const V3_FIELDS: [string, number, number, number, 1 | 2 | 4, number, number][] = [
  ["balancer kind 6", SECTION.GROUPS, RECORD.GROUPS, 12, 1, 6, LoadError.BAD_VALUE],
  ["hash key source body", SECTION.GROUPS, RECORD.GROUPS, 13, 1, 3, LoadError.BAD_VALUE],
  ["hash key source without attribute", SECTION.GROUPS, RECORD.GROUPS, 13, 1, 1, LoadError.BAD_INDEX],
  ["hash key attribute without source", SECTION.GROUPS, RECORD.GROUPS, 14, 2, 0, LoadError.BAD_VALUE],
  ["unknown group flag", SECTION.GROUPS, RECORD.GROUPS, 24, 1, 8, LoadError.BAD_VALUE],
  ["panic threshold 101 %", SECTION.GROUPS, RECORD.GROUPS, 25, 1, 101, LoadError.BAD_VALUE],
  ["choice count 1", SECTION.GROUPS, RECORD.GROUPS, 26, 1, 1, LoadError.BAD_VALUE],
  ["max ejection 101 %", SECTION.GROUPS, RECORD.GROUPS, 27, 1, 101, LoadError.BAD_VALUE],
  ["ring min size 0", SECTION.GROUPS, RECORD.GROUPS, 28, 4, 0, LoadError.BAD_VALUE],
  ["ring max below min (512 < 1024)", SECTION.GROUPS, RECORD.GROUPS, 32, 4, 512, LoadError.BAD_VALUE],
  ["ring max above 1M", SECTION.GROUPS, RECORD.GROUPS, 32, 4, 1_048_577, LoadError.BAD_VALUE],
  ["maglev size 0", SECTION.GROUPS, RECORD.GROUPS, 36, 4, 0, LoadError.BAD_VALUE],
  ["maglev size not prime (65535 = 3·5·17·257)", SECTION.GROUPS, RECORD.GROUPS, 36, 4, 65_535, LoadError.BAD_VALUE],
  ["maglev size prime above 65537 (65539)", SECTION.GROUPS, RECORD.GROUPS, 36, 4, 65_539, LoadError.BAD_VALUE],
  ["active request bias above 100", SECTION.GROUPS, RECORD.GROUPS, 40, 4, 100_001, LoadError.BAD_VALUE],
  ["EWMA decay 0 ms", SECTION.GROUPS, RECORD.GROUPS, 44, 4, 0, LoadError.BAD_VALUE],
  ["other zone factor 0 ppm", SECTION.GROUPS, RECORD.GROUPS, 52, 4, 0, LoadError.BAD_VALUE],
  ["other region factor above ×1", SECTION.GROUPS, RECORD.GROUPS, 56, 4, 1_000_001, LoadError.BAD_VALUE],
  ["consecutive 5xx 0", SECTION.GROUPS, RECORD.GROUPS, 60, 4, 0, LoadError.BAD_VALUE],
  ["base ejection above max (400 s > 300 s)", SECTION.GROUPS, RECORD.GROUPS, 72, 4, 400_000, LoadError.BAD_VALUE],
  ["enforcing 101 %", SECTION.GROUPS, RECORD.GROUPS, 80, 1, 101, LoadError.BAD_VALUE],
  ["success-rate volume 0", SECTION.GROUPS, RECORD.GROUPS, 88, 4, 0, LoadError.BAD_VALUE],
  ["breaker error ratio 2.001", SECTION.GROUPS, RECORD.GROUPS, 104, 4, 2001, LoadError.BAD_VALUE],
  ["breaker time window 0", SECTION.GROUPS, RECORD.GROUPS, 116, 4, 0, LoadError.BAD_VALUE],
  ["max requests 0", SECTION.GROUPS, RECORD.GROUPS, 120, 4, 0, LoadError.BAD_VALUE],
  ["instance role 2", SECTION.INSTANCES, RECORD.INSTANCES, 15, 1, 2, LoadError.BAD_VALUE],
  ["warmup above 1 h", SECTION.INSTANCES, RECORD.INSTANCES, 44, 4, 3_600_001, LoadError.BAD_VALUE],
  ["region outside STRINGS", SECTION.INSTANCES, RECORD.INSTANCES, 52, 4, 0xffff_ffff, LoadError.BAD_STRING],
  ["unknown instance flag", SECTION.INSTANCES, RECORD.INSTANCES, 72, 1, 2, LoadError.BAD_VALUE],
  ["per-try timeout above 300 s", SECTION.ROUTES, RECORD.ROUTES, 48, 4, 300_001, LoadError.BAD_VALUE],
  ["unknown retryOn bit", SECTION.ROUTES, RECORD.ROUTES, 52, 1, 32, LoadError.BAD_VALUE],
  ["11 retries", SECTION.ROUTES, RECORD.ROUTES, 53, 1, 11, LoadError.BAD_VALUE],
  ["unknown retry flag", SECTION.ROUTES, RECORD.ROUTES, 54, 1, 2, LoadError.BAD_VALUE],
  ["retry budget 101 %", SECTION.ROUTES, RECORD.ROUTES, 55, 1, 101, LoadError.BAD_VALUE],
  ["back-off base 0", SECTION.ROUTES, RECORD.ROUTES, 60, 4, 0, LoadError.BAD_VALUE],
  ["back-off cap below base (24 < 25)", SECTION.ROUTES, RECORD.ROUTES, 64, 4, 24, LoadError.BAD_VALUE],
];
const V3_VALUE_CASES = V3_FIELDS.map(([name, id, size, offset, width, value, code]) => ({
  name,
  file: () =>
    damaged((f, v) => {
      const at = record(f, id, size, 0) + offset;
      if (width === 1) v.setUint8(at, value);
      else if (width === 2) v.setUint16(at, value, true);
      else v.setUint32(at, value, true);
    }),
  code,
}));

describe("refused files", () => {
  const cases: { name: string; file: () => Uint8Array; code: number }[] = [
    { name: "shorter than the header", file: () => GOOD.subarray(0, 63), code: LoadError.TRUNCATED },
    { name: "shorter than totalLength", file: () => withVersion(GOOD, 11n).subarray(0, TOTAL - 1), code: LoadError.TRUNCATED },
    { name: "empty", file: () => new Uint8Array(0), code: LoadError.TRUNCATED },
    { name: "bad magic", file: () => damaged((f) => (f[0] = 0x58)), code: LoadError.BAD_MAGIC },
    { name: "format version 1", file: () => damaged((_, v) => v.setUint16(4, 1, true)), code: LoadError.BAD_FORMAT_VERSION },
    { name: "format version 2", file: () => damaged((_, v) => v.setUint16(4, 2, true)), code: LoadError.BAD_FORMAT_VERSION },
    { name: "format version 3", file: () => damaged((_, v) => v.setUint16(4, 3, true)), code: LoadError.BAD_FORMAT_VERSION },
    { name: "format version 5", file: () => damaged((_, v) => v.setUint16(4, 5, true)), code: LoadError.BAD_FORMAT_VERSION },
    { name: "unknown flag", file: () => damaged((_, v) => v.setUint16(6, 4, true)), code: LoadError.BAD_FLAGS },
    { name: "same version", file: () => withVersion(GOOD, 10n), code: LoadError.STALE_VERSION },
    { name: "older version", file: () => withVersion(GOOD, 9n), code: LoadError.STALE_VERSION },
    { name: "directory past totalLength", file: () => damaged((_, v) => v.setUint32(20, 100_000, true)), code: LoadError.BAD_DIRECTORY },
    {
      name: "duplicate section",
      file: () => damaged((f, v) => v.setUint32(section(f, SECTION.CODE).entry, SECTION.ROUTES, true)),
      code: LoadError.DUPLICATE_SECTION,
    },
    {
      name: "missing section (id replaced by an unknown one, which is skipped)",
      file: () => damaged((f, v) => v.setUint32(section(f, SECTION.INTERN).entry, 99, true)),
      code: LoadError.MISSING_SECTION,
    },
    {
      name: "section past totalLength",
      file: () => damaged((f, v) => v.setUint32(section(f, SECTION.CODE).entry + 8, TOTAL, true)),
      code: LoadError.SECTION_OUT_OF_BOUNDS,
    },
    {
      name: "section over the directory",
      file: () => damaged((f, v) => v.setUint32(section(f, SECTION.STRINGS).entry + 4, 64, true)),
      code: LoadError.SECTION_OUT_OF_BOUNDS,
    },
    {
      name: "partial record",
      file: () => damaged((f, v) => v.setUint32(section(f, SECTION.ROUTES).entry + 8, 63, true)),
      code: LoadError.BAD_RECORD_SIZE,
    },
    {
      name: "string outside STRINGS",
      file: () => damaged((f, v) => v.setUint32(record(f, SECTION.GROUPS, RECORD.GROUPS, 0) + 4, TOTAL - 2, true)),
      code: LoadError.BAD_STRING,
    },
    {
      name: "host table too small",
      file: () => damaged((f, v) => v.setUint32(section(f, SECTION.HOST_TABLE).entry + 8, 16, true)),
      code: LoadError.BAD_HOST_TABLE,
    },
    {
      name: "host table without its host",
      file: () => damaged((f) => f.fill(0, section(f, SECTION.HOST_TABLE).offset, section(f, SECTION.HOST_TABLE).offset + 32)),
      code: LoadError.BAD_HOST_TABLE,
    },
    {
      name: "default group out of range",
      file: () => damaged((f, v) => v.setUint32(record(f, SECTION.ROUTES, RECORD.ROUTES, 0) + 20, 2, true)),
      code: LoadError.BAD_INDEX,
    },
    {
      name: "host's routes out of range",
      file: () => damaged((f, v) => v.setUint32(record(f, SECTION.HOSTS, 16, 0) + 12, 3, true)),
      code: LoadError.BAD_INDEX,
    },
    {
      name: "binding to a missing policy",
      file: () => damaged((f, v) => v.setUint32(record(f, SECTION.ROUTE_POLICIES, 8, 0), 1, true)),
      code: LoadError.BAD_INDEX,
    },
    {
      name: "route's slots out of range",
      file: () => damaged((f, v) => v.setUint32(record(f, SECTION.ROUTES, RECORD.ROUTES, 0) + 40, 3, true)),
      code: LoadError.BAD_INDEX,
    },
    {
      name: "slot of a missing attribute",
      file: () => damaged((f, v) => v.setUint16(record(f, SECTION.ROUTE_SLOTS, RECORD.ROUTE_SLOTS, 0), 7, true)),
      code: LoadError.BAD_INDEX,
    },
    {
      name: "group's instances out of range",
      file: () => damaged((f, v) => v.setUint32(record(f, SECTION.GROUPS, RECORD.GROUPS, 1) + 20, 3, true)),
      code: LoadError.BAD_INDEX,
    },
    {
      name: "code outside CODE",
      file: () => damaged((f, v) => v.setUint32(record(f, SECTION.ROUTES, RECORD.ROUTES, 0) + 32, TOTAL, true)),
      code: LoadError.BAD_CODE_RANGE,
    },
    {
      name: "empty program",
      file: () => damaged((f, v) => v.setUint32(record(f, SECTION.ROUTES, RECORD.ROUTES, 0) + 36, 0, true)),
      code: LoadError.BAD_CODE_RANGE,
    },
    {
      name: "unknown opcode",
      file: () => damaged((f) => (f[section(f, SECTION.CODE).offset] = 0xee)),
      code: LoadError.BAD_CODE,
    },
    {
      name: "instance status 6",
      file: () => damaged((f, v) => v.setUint8(record(f, SECTION.INSTANCES, RECORD.INSTANCES, 0) + 14, 6)),
      code: LoadError.BAD_VALUE,
    },
    {
      name: "weight above 10000",
      file: () => damaged((f, v) => v.setUint32(record(f, SECTION.INSTANCES, RECORD.INSTANCES, 0) + 16, 10001, true)),
      code: LoadError.BAD_VALUE,
    },
    {
      name: "unknown policy flag",
      file: () => damaged((f, v) => v.setUint8(record(f, SECTION.POLICIES, RECORD.POLICIES, 0) + 13, 3)),
      code: LoadError.BAD_VALUE,
    },
    {
      name: "policy passway 4",
      file: () => damaged((f, v) => v.setUint8(record(f, SECTION.POLICIES, RECORD.POLICIES, 0) + 12, 4)),
      code: LoadError.BAD_VALUE,
    },
    {
      name: "attribute source 7",
      file: () => damaged((f, v) => v.setUint8(record(f, SECTION.ATTRIBUTES, RECORD.ATTRIBUTES, 0), 7)),
      code: LoadError.BAD_VALUE,
    },
    {
      name: "unknown slot mode bit",
      file: () => damaged((f, v) => v.setUint8(record(f, SECTION.ROUTE_SLOTS, RECORD.ROUTE_SLOTS, 0) + 2, 16)),
      code: LoadError.BAD_VALUE,
    },
    {
      name: "unknown route flag",
      file: () => damaged((f, v) => v.setUint8(record(f, SECTION.ROUTES, RECORD.ROUTES, 0) + 13, 32)),
      code: LoadError.BAD_VALUE,
    },
    ...V3_VALUE_CASES,
    {
      name: "prefix route before an exact one",
      file: () =>
        damaged((f, v) => {
          v.setUint8(record(f, SECTION.ROUTES, RECORD.ROUTES, 0) + 12, 1);
          v.setUint8(record(f, SECTION.ROUTES, RECORD.ROUTES, 1) + 12, 0);
        }),
      code: LoadError.BAD_ROUTE_ORDER,
    },
  ];

  for (const c of cases) {
    it(`${c.name} → ${c.code}, and the previous snapshot keeps serving`, () => {
      const before = probe();
      expect(before.status).toBe(DecideStatus.OK);
      const result = hot.load(c.file());
      expect(result).toEqual({ ok: false, code: c.code, reason: LOAD_ERROR_MESSAGES[c.code as keyof typeof LOAD_ERROR_MESSAGES] });
      expect(hot.snapshot.version).toBe(10n);
      expect((exports.activeVersion as () => bigint)()).toBe(10n);
      expect(probe()).toEqual(before);
    });
  }

  it("a route with more slots than the frame → TOO_MANY_ATTRIBUTES", () => {
    const file = damaged((f, v) => v.setUint16(record(f, SECTION.ROUTES, RECORD.ROUTES, 0) + 44, 256, true));
    expect(hot.load(file)).toMatchObject({ ok: false, code: LoadError.TOO_MANY_ATTRIBUTES });
    expect(hot.snapshot.version).toBe(10n);
  });

  it("the writer refuses a route whose policies read more than 255 attributes", () => {
    const policies = Array.from({ length: 256 }, (_, i) => policy(i + 1, `request.query.q${i} == "x"`, "main"));
    const model: ConfigModel = { ...MODEL, policies, routes: [route(1, "*", "/", { policies: policies.map((p) => p.name) })] };
    expect(() => write(model, 11n)).toThrow(/more than 255 attributes/);
  });

  it("commitLoad without prepareLoad → NOTHING_STAGED", () => {
    expect((exports.commitLoad as () => number)()).toBe(LoadError.NOTHING_STAGED);
  });

  it("every code has a distinct message", () => {
    const codes = Object.values(LoadError);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(LOAD_ERROR_MESSAGES[code]).toBeTruthy();
  });
});

describe("memory", () => {
  it("does not grow across 300 loads (old generations are freed)", () => {
    const memory = exports.memory as WebAssembly.Memory;
    let version = 11n;
    const loadMany = (n: number) => {
      for (let i = 0; i < n; i++) {
        expect(hot.load(withVersion(GOOD, version++)).ok).toBe(true);
        expect(hot.load(withVersion(GOOD, 1n)).ok).toBe(false); // refused loads are freed too
      }
    };
    loadMany(10);
    const settled = memory.buffer.byteLength;
    loadMany(300);
    expect(memory.buffer.byteLength).toBe(settled);
  });
});
