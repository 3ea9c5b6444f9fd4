/**
 * The snapshot writer (control/snapshot/writer.ts + seal.ts) and its readers agree, per
 * docs/snapshot-format.md: a ConfigModel written, sealed with a key from loadSigningKey, verified
 * by the gateway's verifier (worker/verify.ts) and loaded into the WASM hot path reads back field
 * for field through `HotPath.snapshot` and routes as the model says. Fields the WASM reader does
 * not expose (instance zone, lane, version) are decoded from the file at the spec's offsets. The
 * writer is deterministic (same config ⇒ same content hash, whatever the order of the model's
 * arrays), the verifier refuses any flipped byte and any truncation, and a property test
 * round-trips random models (FC_SEED / FC_RUNS to replay or widen it, FC_SHRINK=1 to shrink).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  ConfigModel,
  GroupConfig,
  InstanceConfig,
  InstanceStatus,
  Passway,
  PolicyConfig,
  RouteConfig,
} from "../../../control/snapshot/model.ts";
import { resolveBalancing, resolveRetry } from "../../../control/snapshot/options.ts";
import { sealSnapshot } from "../../../control/snapshot/seal.ts";
import { loadSigningKey, type SigningKey } from "../../../control/snapshot/signing-key.ts";
import { writeSnapshot } from "../../../control/snapshot/writer.ts";
import { DecideStatus, type HotPath, type SnapshotInfo } from "../../../wasm/host.ts";
import { importPublicKey, readSnapshotHeader, verifySnapshot } from "../../../worker/verify.ts";
import { instantiate, record, SECTION, section, view } from "../../support/wasm-fixtures.ts";

/** Codes from docs/snapshot-format.md, written out here rather than imported from either side. */
const SPEC_STATUS: Record<InstanceStatus, number> = { dead: 0, starting: 1, alive: 2, stopping: 3, stopped: 4, warning: 5 };
const SPEC_PASSWAY: Record<Passway, number> = { query: 0, header: 1, cookie: 2, body: 3 };
const SPEC_ROUTE_BYTES = 72;
const SPEC_GROUP_BYTES = 128;
const SPEC_INSTANCE_BYTES = 80;
const SPEC_BALANCER = { swrr: 0, random: 1, "least-request": 2, "peak-ewma": 3, "ring-hash": 4, maglev: 5 } as const;
const TOTAL_LENGTH_AT = 16;
const TRAILER_BYTES = 68;

const inst = (
  id: number,
  host: string,
  port: number,
  weight: number,
  status: InstanceStatus,
  zone: string,
  lane: string,
  version: string,
) => ({ id, host, port, weight, status, zone, lane, version }) satisfies InstanceConfig;

/** Two services (one with a non-ASCII appkey), every OCTO status, both policy kinds, all passways. */
const MODEL: ConfigModel = {
  groups: [
    {
      id: 10,
      appkey: "shop",
      name: "main",
      balancer: "maglev",
      balancing: resolveBalancing({
        hashKey: { from: "header", name: "X-User" },
        maglev: { tableSize: 251 },
        ringHash: { minRingSize: 2048, maxRingSize: 4096, scale: "envoy" },
        leastRequest: { choiceCount: 3, activeRequestBias: 0.5 },
        peakEwma: { decayMs: 7000 },
        panicThresholdPct: 30,
        routeRules: { sameZonePpm: 999_999, otherZonePpm: 2000, otherRegionPpm: 3, cellFallback: true },
        outlier: {
          consecutive5xx: 7,
          consecutiveGatewayFailure: 8,
          intervalMs: 9000,
          baseEjectionTimeMs: 11_000,
          maxEjectionTimeMs: 120_000,
          maxEjectionPercent: 33,
          alwaysEjectOneHost: false,
          enforcingConsecutive5xx: 90,
          enforcingConsecutiveGatewayFailure: 10,
          enforcingSuccessRate: 80,
          successRateMinimumHosts: 6,
          successRateRequestVolume: 50,
          successRateStdevFactor: 2500,
        },
        instanceBreaker: {
          statIntervalMs: 2000,
          minRequestAmount: 9,
          errorRatio: 0.25,
          slowRatio: 1.5,
          slowCallMs: 800,
          timeWindowMs: 5000,
        },
        groupBreaker: { maxRequests: 100, maxPendingRequests: 0 },
      }),
      instances: [
        inst(101, "10.0.0.1", 8080, 10, "alive", "bj-1", "", "1.4.2"),
        {
          ...inst(102, "10.0.0.2", 8080, 5, "warning", "bj-2", "", "1.4.2"),
          role: "backup",
          region: "华北",
          cell: "set-1",
          warmupMs: 3_600_000,
          aliveSinceMs: 1_763_700_000_999,
          drained: true,
        },
      ],
    },
    {
      id: 11,
      appkey: "shop",
      name: "canary",
      balancer: "ring-hash",
      balancing: resolveBalancing({ hashKey: { from: "client-ip" } }),
      instances: [inst(111, "canary.shop.internal", 1, 10000, "alive", "sh-1", "blue", "1.5.0-rc.1")],
    },
    {
      id: 12,
      appkey: "shop",
      name: "stress",
      balancer: "swrr",
      instances: [
        inst(121, "fd00::12", 65535, 0, "alive", "", "stress", ""),
        inst(122, "10.0.1.2", 9000, 7, "dead", "bj-1", "stress", "0.9"),
        inst(123, "10.0.1.3", 9000, 7, "stopping", "bj-1", "stress", "0.9"),
        inst(124, "10.0.1.4", 9000, 7, "alive", "bj-1", "stress", "0.9"),
      ],
    },
    { id: 13, appkey: "shop", name: "empty", balancer: "swrr", instances: [] },
    {
      id: 20,
      appkey: "支付",
      name: "main",
      balancer: "swrr",
      instances: [
        inst(4294967295, "pay.internal", 443, 3, "starting", "上海-1", "主干", "v2"),
        inst(201, "10.2.0.1", 8443, 3, "alive", "上海-1", "主干", "v2"),
      ],
    },
    { id: 21, appkey: "支付", name: "stress", balancer: "swrr", instances: [inst(211, "10.2.1.1", 8443, 1, "alive", "", "", "")] },
    {
      id: 22,
      appkey: "支付",
      name: "灰度",
      balancer: "swrr",
      instances: [inst(221, "10.2.2.1", 8443, 1, "alive", "深圳", "灰度泳道", "v3-β")],
    },
    { id: 23, appkey: "支付", name: "retired", balancer: "swrr", instances: [inst(231, "10.2.3.1", 8443, 1, "stopped", "", "", "")] },
  ],
  policies: [
    {
      id: 1,
      name: "stress-test",
      category: "public",
      appkey: null,
      key: "X-Stress",
      passway: "header",
      condition: 'key == "1"',
      group: "stress",
      enabled: true,
      graylist: [],
    },
    {
      id: 2,
      name: "canary-uid",
      category: "private",
      appkey: "shop",
      key: "uid",
      passway: "query",
      condition: "int(key) % 100 < 50",
      group: "canary",
      enabled: true,
      graylist: ["7", "42", "ü"],
    },
    {
      id: 3,
      name: "beta-cookie",
      category: "private",
      appkey: "shop",
      key: "beta",
      passway: "cookie",
      condition: 'key == "yes"',
      group: "canary",
      enabled: false,
      graylist: [],
    },
    {
      id: 4,
      name: "灰度-规则",
      category: "private",
      appkey: "支付",
      key: "region",
      passway: "body",
      condition: 'request.header["X-Region"] == "北京" || has(request.cookie.gray)',
      group: "灰度",
      enabled: true,
      graylist: [],
    },
  ],
  routes: [
    {
      id: 1,
      appkey: "shop",
      host: "shop.example.com",
      path: "/login",
      match: "exact",
      defaultGroup: "main",
      policies: ["stress-test"],
      timeoutMs: 1500,
    },
    {
      id: 2,
      appkey: "shop",
      host: "shop.example.com",
      path: "/",
      match: "prefix",
      defaultGroup: "main",
      policies: ["stress-test", "canary-uid", "beta-cookie"],
      timeoutMs: 15000,
    },
    {
      id: 3,
      appkey: "shop",
      host: "*.example.com",
      path: "/api",
      match: "prefix",
      defaultGroup: "canary",
      policies: ["canary-uid"],
      timeoutMs: 4294967295,
      bodyCapBytes: 4096,
      retry: resolveRetry({
        retryOn: ["reset", "5xx"],
        numRetries: 10,
        retryNonIdempotent: true,
        perTryTimeoutMs: 300_000,
        backoffBaseMs: 7,
        backoffMaxMs: 70,
        budgetPercent: 100,
        minRetryConcurrency: 0,
      }),
    },
    {
      id: 4,
      appkey: "支付",
      host: "*",
      path: "/pay",
      match: "prefix",
      defaultGroup: "main",
      policies: ["stress-test", "灰度-规则"],
      timeoutMs: 3000,
    },
    { id: 5, appkey: "支付", host: "*", path: "/café/菜单", match: "exact", defaultGroup: "retired", policies: [], timeoutMs: 0 },
    // A route traffic cut: all of it goes to 灰度, its policies bypassed.
    {
      id: 6,
      appkey: "支付",
      host: "*",
      path: "/forced",
      match: "prefix",
      defaultGroup: "main",
      policies: ["stress-test", "灰度-规则"],
      timeoutMs: 3000,
      forcedGroup: "灰度",
    },
  ],
};
/** Attributes only groups read: hash keys (source:name). */
const MODEL_HASH_KEYS = ["1:x-user", "4:ip"];
/** What each route of MODEL reads (route id → source:name), from its enabled policies' keys and conditions. */
const MODEL_SLOTS: Record<number, string[]> = {
  1: ["1:x-stress"],
  2: ["0:uid", "1:x-stress"], // beta-cookie is disabled: its cookie is not read
  3: ["0:uid"],
  4: ["1:x-region", "1:x-stress", "2:gray", "3:region"], // 灰度-规则's key (body region) by its key gate
  5: [],
  6: [], // forced: the program evaluates no policy
};

const VERSION = 2n ** 64n - 2n; // u64 near the top: the high bit must survive
const BUILT_AT_MS = 1_763_700_000_123;

let dataDir: string;
let key: SigningKey;
let publicKey: CryptoKey;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "sluice-roundtrip-"));
  key = await loadSigningKey(dataDir); // generates and stores a key pair, as control does on first start
  publicKey = await importPublicKey(key.publicKeyBase64);
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function sealed(model: ConfigModel, version: bigint, builtAtMs = BUILT_AT_MS) {
  return sealSnapshot(writeSnapshot(model, { version, builtAtMs }), key.privateKey);
}

const byId = <T extends { id: number }>(items: readonly T[]) => [...items].sort((a, b) => a.id - b.id);
/** Asserts that `s` (read back by WASM) carries exactly the model's records, and each route reads `slots[routeId]`. */
function expectReadBack(s: SnapshotInfo, model: ConfigModel, slots: Record<number, string[]>, hashKeys: string[] = []): void {
  expect(s.groups).toHaveLength(model.groups.length);
  expect(s.instances).toHaveLength(model.groups.reduce((n, g) => n + g.instances.length, 0));
  for (const g of model.groups) {
    const gi = s.groups.findIndex((x) => x.id === g.id);
    expect(gi, `group ${g.id}`).toBeGreaterThanOrEqual(0);
    const got = s.groups[gi] as SnapshotInfo["groups"][number];
    expect(got.name).toBe(g.name);
    expect(got.balancer).toBe(SPEC_BALANCER[g.balancer]);
    expect(s.instances.slice(got.firstInstance, got.firstInstance + got.instanceCount)).toEqual(
      byId(g.instances).map((i) => ({
        id: i.id,
        host: i.host,
        port: i.port,
        weight: i.weight,
        status: SPEC_STATUS[i.status],
        group: gi,
        role: i.role === "backup" ? 1 : 0,
        drained: i.drained ?? false,
        warmupMs: i.warmupMs ?? 0,
        aliveSinceMs: i.aliveSinceMs ?? 0,
      })),
    );
  }
  const groupName = (gi: number) => `${s.groups[gi]?.id}`;
  expect(
    byId(s.routes).map((r) => ({
      id: r.id,
      timeoutMs: r.timeoutMs,
      bodyCapBytes: r.bodyCapBytes,
      forced: r.forced,
      to: groupName(r.defaultGroup),
    })),
  ).toEqual(
    byId(model.routes).map((r) => ({
      id: r.id,
      timeoutMs: r.timeoutMs,
      bodyCapBytes: r.bodyCapBytes ?? 65536,
      forced: r.forcedGroup !== undefined,
      to: `${model.groups.find((g) => g.appkey === r.appkey && g.name === (r.forcedGroup ?? r.defaultGroup))?.id}`,
    })),
  );
  expect(byId(s.policies)).toEqual(byId(model.policies).map((p) => ({ id: p.id, name: p.name })));
  for (const r of s.routes) {
    const read = s.slots.slice(r.firstSlot, r.firstSlot + r.slotCount).map((a) => `${a.source}:${a.name}`);
    expect(read.sort(), `route ${r.id}`).toEqual([...(slots[r.id] ?? [])].sort());
    expect(r.readsBody).toBe(read.some((a) => a.startsWith("3:")));
  }
  // ATTRIBUTES holds exactly what some route reads.
  const all = new Set([...Object.values(slots).flat(), ...hashKeys]);
  expect(s.attributes.map((a) => `${a.source}:${a.name}`).sort()).toEqual([...all].sort());
}

/** Instance id → [zone, lane, version], decoded from INSTANCES at the spec's offsets (+20, +28, +36). */
function instanceLabels(file: Uint8Array): Map<number, [string, string, string]> {
  const v = view(file);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const str = (at: number) => decoder.decode(file.subarray(v.getUint32(at, true), v.getUint32(at, true) + v.getUint32(at + 4, true)));
  const labels = new Map<number, [string, string, string]>();
  const { length } = section(file, SECTION.INSTANCES);
  for (let i = 0; i < length / SPEC_INSTANCE_BYTES; i++) {
    const r = record(file, SECTION.INSTANCES, SPEC_INSTANCE_BYTES, i);
    labels.set(v.getUint32(r, true), [str(r + 20), str(r + 28), str(r + 36)]);
  }
  return labels;
}

describe("a rich model, sealed, verified and loaded", () => {
  let hot: HotPath;
  let file: Uint8Array<ArrayBuffer>;

  beforeAll(async () => {
    ({ hot } = await instantiate());
    ({ file } = await sealed(MODEL, VERSION));
    expect(await verifySnapshot(file, publicKey)).toBeNull();
    expect(hot.load(file)).toEqual({ ok: true, version: VERSION });
  });

  it("round-trips the header's version and builtAtMs", () => {
    expect(hot.snapshot.version).toBe(VERSION);
    expect(hot.snapshot.builtAtMs).toBe(BUILT_AT_MS);
    expect(readSnapshotHeader(file)).toEqual({ version: VERSION, builtAtMs: BUILT_AT_MS });
  });

  it("reads back every group, instance, route, policy and attribute", () => {
    expectReadBack(hot.snapshot, MODEL, MODEL_SLOTS, MODEL_HASH_KEYS);
  });

  it("writes every group option at the spec's offsets and units", () => {
    const v = view(file);
    const s = hot.snapshot;
    const gi = s.groups.findIndex((g) => g.id === 10);
    const r = record(file, SECTION.GROUPS, SPEC_GROUP_BYTES, gi);
    const u8 = (o: number) => v.getUint8(r + o);
    const u32 = (o: number) => v.getUint32(r + o, true);
    const attribute = s.attributes[v.getUint16(r + 14, true)];
    expect([u8(12), u8(13), `${attribute?.source}:${attribute?.name}`]).toEqual([5, 1, "1:x-user"]); // maglev, header X-User lowercased
    expect([u8(24), u8(25), u8(26), u8(27)]).toEqual([0b011, 30, 3, 33]); // cellFallback | envoy scale, not alwaysEjectOneHost
    expect([u32(28), u32(32), u32(36), u32(40), u32(44)]).toEqual([2048, 4096, 251, 500, 7000]); // bias 0.5 → 500 thousandths
    expect([u32(48), u32(52), u32(56)]).toEqual([999_999, 2000, 3]);
    expect([u32(60), u32(64), u32(68), u32(72), u32(76)]).toEqual([7, 8, 9000, 11_000, 120_000]);
    expect([u8(80), u8(81), u8(82), u8(83), u32(84), u32(88), u32(92)]).toEqual([90, 10, 80, 0, 6, 50, 2500]);
    expect([u32(96), u32(100), u32(104), u32(108), u32(112), u32(116)]).toEqual([2000, 9, 250, 1500, 800, 5000]);
    expect([u32(120), u32(124)]).toEqual([100, 0]);
    // Defaults (wasm/reference): swrr, no hash key, 50 %, P2C, 1024..1M stable, 65537, Envoy outlier, Sentinel breaker, 1024/1024.
    const d = record(
      file,
      SECTION.GROUPS,
      SPEC_GROUP_BYTES,
      s.groups.findIndex((g) => g.id === 13),
    );
    const du32 = (o: number) => v.getUint32(d + o, true);
    expect([v.getUint8(d + 12), v.getUint8(d + 13), v.getUint16(d + 14, true), v.getUint8(d + 24), v.getUint8(d + 25)]).toEqual([
      0, 255, 0xffff, 0b100, 50,
    ]);
    expect([v.getUint8(d + 26), v.getUint8(d + 27), du32(28), du32(32), du32(36), du32(40), du32(44)]).toEqual([
      2, 10, 1024, 1_048_576, 65_537, 1000, 10_000,
    ]);
    expect([du32(48), du32(52), du32(56), du32(60), du32(64), du32(68), du32(72), du32(76)]).toEqual([
      1e6, 1000, 1, 5, 5, 10_000, 30_000, 300_000,
    ]);
    expect([v.getUint8(d + 80), v.getUint8(d + 81), v.getUint8(d + 82), du32(84), du32(88), du32(92)]).toEqual([100, 0, 100, 5, 100, 1900]);
    expect([du32(96), du32(100), du32(104), du32(108), du32(112), du32(116), du32(120), du32(124)]).toEqual([
      1000, 5, 500, 500, 1000, 10_000, 1024, 1024,
    ]);
    // client-ip → the client attribute "ip".
    const c = record(
      file,
      SECTION.GROUPS,
      SPEC_GROUP_BYTES,
      s.groups.findIndex((g) => g.id === 11),
    );
    const ca = s.attributes[v.getUint16(c + 14, true)];
    expect([v.getUint8(c + 12), v.getUint8(c + 13), `${ca?.source}:${ca?.name}`]).toEqual([4, 4, "4:ip"]);
  });

  it("writes each instance's role, region, cell, warmup, aliveSince and drained flag at the spec's offsets", () => {
    const v = view(file);
    const decoder = new TextDecoder();
    const str = (at: number) => decoder.decode(file.subarray(v.getUint32(at, true), v.getUint32(at, true) + v.getUint32(at + 4, true)));
    const i = hot.snapshot.instances.findIndex((x) => x.id === 102);
    const r = record(file, SECTION.INSTANCES, SPEC_INSTANCE_BYTES, i);
    expect([v.getUint8(r + 15), v.getUint32(r + 44, true), str(r + 48), str(r + 56)]).toEqual([1, 3_600_000, "华北", "set-1"]);
    expect([v.getBigUint64(r + 64, true), v.getUint8(r + 72)]).toEqual([1_763_700_000_999n, 1]);
    const plain = record(
      file,
      SECTION.INSTANCES,
      SPEC_INSTANCE_BYTES,
      hot.snapshot.instances.findIndex((x) => x.id === 101),
    );
    expect([v.getUint8(plain + 15), v.getUint32(plain + 44, true), v.getBigUint64(plain + 64, true), v.getUint8(plain + 72)]).toEqual([
      0,
      0,
      0n,
      0,
    ]);
  });

  it("writes each route's retry policy at the spec's offsets, and flags a forced route", () => {
    const v = view(file);
    const at = (id: number) =>
      record(
        file,
        SECTION.ROUTES,
        SPEC_ROUTE_BYTES,
        hot.snapshot.routes.findIndex((x) => x.id === id),
      );
    const retry = (r: number) =>
      [48, 52, 53, 54, 55, 56, 60, 64].map((o, k) => (k >= 1 && k <= 4 ? v.getUint8(r + o) : v.getUint32(r + o, true)));
    // reset (bit 1) | 5xx (bit 4) = 0b10010; retryNonIdempotent = bit 0
    expect(retry(at(3))).toEqual([300_000, 0b10010, 10, 1, 100, 0, 7, 70]);
    // Defaults: connect-failure once, 25..250 ms, budget 20 % / 3, no per-try timeout.
    expect(retry(at(1))).toEqual([0, 0b00001, 1, 0, 20, 3, 25, 250]);
    const forced = at(6);
    expect([v.getUint8(forced + 13) & 16, v.getUint16(forced + 14, true)]).toEqual([16, 0]); // no policy listed
    expect(v.getUint8(at(4) + 13) & 16).toBe(0);
  });

  it("writes each instance's zone, lane and version as the spec lays them out", () => {
    const want = new Map(MODEL.groups.flatMap((g) => g.instances.map((i) => [i.id, [i.zone, i.lane, i.version]] as const)));
    expect(instanceLabels(file)).toEqual(want);
  });

  it("writes each route's id, timeout and body cap at the spec's offsets (+0, +24, +28)", () => {
    const v = view(file);
    const got = new Map<number, [number, number]>();
    for (let i = 0; i < section(file, SECTION.ROUTES).length / SPEC_ROUTE_BYTES; i++) {
      const r = record(file, SECTION.ROUTES, SPEC_ROUTE_BYTES, i);
      got.set(v.getUint32(r, true), [v.getUint32(r + 24, true), v.getUint32(r + 28, true)]);
    }
    expect(got).toEqual(new Map(MODEL.routes.map((r) => [r.id, [r.timeoutMs, r.bodyCapBytes ?? 65536]])));
  });

  // [host, path, attributes (source:name → value), route id, group id]
  const routing: [string, string, Record<string, string>, number, number][] = [
    ["shop.example.com", "/login", {}, 1, 10],
    ["shop.example.com", "/login", { "1:x-stress": "1" }, 1, 12], // public policy → shop's stress group
    ["shop.example.com", "/cart", { "0:uid": "42" }, 2, 11], // graylisted, 42 % 100 < 50
    ["shop.example.com", "/cart", { "0:uid": "43" }, 2, 10], // condition true but not graylisted
    ["shop.example.com", "/cart", { "0:uid": "ü" }, 2, 10], // graylisted, int() errors
    ["shop.example.com", "/cart", { "2:beta": "yes" }, 2, 10], // beta-cookie is disabled
    ["a.b.example.com", "/api/v1", { "0:uid": "7" }, 3, 11],
    ["a.b.example.com", "/api/v1", {}, 3, 11], // the route's default group is canary
    ["anything.test", "/pay/now", {}, 4, 20],
    ["anything.test", "/pay/now", { "1:x-stress": "1" }, 4, 21], // public policy → 支付's stress group
    ["anything.test", "/pay/now", { "3:region": "华北", "1:x-region": "北京" }, 4, 22],
    ["anything.test", "/pay/now", { "3:region": "华北", "2:gray": "" }, 4, 22],
    ["anything.test", "/pay/now", { "1:x-region": "北京" }, 4, 20], // 灰度-规则's key is absent: it does not apply
    ["x.test", "/café/菜单", {}, 5, 23],
    ["x.test", "/forced", {}, 6, 22], // forced to 灰度
    ["x.test", "/forced", { "1:x-stress": "1" }, 6, 22], // its policies are bypassed
  ];
  for (const [host, path, attributes, routeId, groupId] of routing) {
    it(`${host}${path} ${JSON.stringify(attributes)} → route ${routeId}, group ${groupId}`, () => {
      const r = hot.decide({ host, path, method: "GET", attribute: (p, n) => attributes[`${p}:${n}`] });
      expect(r.status).not.toBe(DecideStatus.NO_ROUTE);
      expect(hot.snapshot.routes[r.route]?.id).toBe(routeId);
      expect(hot.snapshot.groups[r.group]?.id).toBe(groupId);
    });
  }

  it("answers NO_INSTANCE for a group whose only instance is stopped", () => {
    expect(hot.decide({ host: "x.test", path: "/café/菜单", method: "GET", attribute: () => undefined }).status).toBe(
      DecideStatus.NO_INSTANCE,
    );
  });
});

describe("deterministic writer", () => {
  const hashOf = async (model: ConfigModel, version = 1n, builtAtMs = BUILT_AT_MS) => (await sealed(model, version, builtAtMs)).contentHash;

  it("identical models give identical bytes and content hashes", async () => {
    const a = writeSnapshot(structuredClone(MODEL), { version: 1n, builtAtMs: BUILT_AT_MS });
    const b = writeSnapshot(structuredClone(MODEL), { version: 1n, builtAtMs: BUILT_AT_MS });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(await hashOf(MODEL)).toBe(await hashOf(structuredClone(MODEL)));
  });

  it("the hash covers content only: another version and build time keep it", async () => {
    expect(await hashOf(MODEL, 99n, 5)).toBe(await hashOf(MODEL));
  });

  it("the order of the model's arrays does not matter", async () => {
    const shuffled: ConfigModel = {
      groups: [...MODEL.groups].reverse().map((g) => ({ ...g, instances: [...g.instances].reverse() })),
      policies: [...MODEL.policies].reverse(),
      routes: [...MODEL.routes].reverse(),
    };
    expect(await hashOf(shuffled)).toBe(await hashOf(MODEL));
  });

  const edit = <K extends "groups" | "policies" | "routes">(
    part: K,
    index: number,
    patch: Partial<ConfigModel[K][number]>,
  ): ConfigModel => {
    const copy = structuredClone(MODEL);
    Object.assign(copy[part][index] as object, patch);
    return copy;
  };
  const withInstance = (patch: Partial<InstanceConfig>): ConfigModel => {
    const copy = structuredClone(MODEL);
    Object.assign((copy.groups[0] as GroupConfig).instances[0] as InstanceConfig, patch);
    return copy;
  };
  const changes: [string, () => ConfigModel][] = [
    ["an instance weight", () => withInstance({ weight: 11 })],
    ["an instance status", () => withInstance({ status: "stopping" })],
    ["an instance zone", () => withInstance({ zone: "bj-3" })],
    ["an instance port", () => withInstance({ port: 8081 })],
    ["a group name", () => edit("groups", 3, { name: "vacant" } satisfies Partial<GroupConfig>)],
    ["a condition", () => edit("policies", 0, { condition: 'key == "2"' } satisfies Partial<PolicyConfig>)],
    ["a policy switch", () => edit("policies", 2, { enabled: true } satisfies Partial<PolicyConfig>)],
    ["a graylist", () => edit("policies", 1, { graylist: ["7", "42"] } satisfies Partial<PolicyConfig>)],
    ["a route timeout", () => edit("routes", 0, { timeoutMs: 1501 } satisfies Partial<RouteConfig>)],
    [
      "a route's policy order",
      () => edit("routes", 1, { policies: ["canary-uid", "stress-test", "beta-cookie"] } satisfies Partial<RouteConfig>),
    ],
    ["a route match", () => edit("routes", 2, { match: "exact" } satisfies Partial<RouteConfig>)],
  ];
  for (const [what, change] of changes) {
    it(`changing ${what} changes the hash`, async () => {
      expect(await hashOf(change())).not.toBe(await hashOf(MODEL));
    });
  }
});

describe("the gateway's verifier", () => {
  let file: Uint8Array<ArrayBuffer>;
  let total: number;

  beforeAll(async () => {
    ({ file } = await sealed(MODEL, 7n));
    total = view(file).getUint32(TOTAL_LENGTH_AT, true);
    expect(file.length).toBe(total + TRAILER_BYTES);
  });

  it("accepts the sealed file", async () => {
    expect(await verifySnapshot(file, publicKey)).toBeNull();
  });

  it("refuses a flipped bit in every byte of the file", async () => {
    const copy = file.slice();
    const refusals = new Map<string, number>();
    for (let i = 0; i < copy.length; i++) {
      const bit = 1 << (i % 8);
      copy[i] = (copy[i] as number) ^ bit;
      const reason = await verifySnapshot(copy, publicKey);
      copy[i] = (copy[i] as number) ^ bit;
      // totalLength moves the trailer; the trailer's first 4 bytes name the algorithm.
      const want =
        i >= TOTAL_LENGTH_AT && i < TOTAL_LENGTH_AT + 4
          ? "length mismatch"
          : i >= total && i < total + 4
            ? "unsupported signature algorithm"
            : "bad signature";
      if (!reason?.startsWith(want)) expect({ byte: i, reason }).toEqual({ byte: i, reason: want });
      refusals.set(want, (refusals.get(want) ?? 0) + 1);
    }
    expect(refusals.get("bad signature")).toBe(file.length - 8);
    expect(await verifySnapshot(copy, publicKey)).toBeNull(); // every flip was undone
  });

  it("refuses a correctly signed file whose content hash is wrong", async () => {
    const copy = file.slice();
    copy[24] = (copy[24] as number) ^ 1; // contentHash, inside the signed range
    const signature = new Uint8Array(await crypto.subtle.sign("Ed25519", key.privateKey, copy.subarray(0, total)));
    copy.set(signature, total + 4);
    expect(await verifySnapshot(copy, publicKey)).toBe("content hash mismatch");
  });

  it("refuses truncated and extended files", async () => {
    for (const length of [0, 1, 63, 64 + TRAILER_BYTES - 1, 64 + TRAILER_BYTES, total, total + 4, total + TRAILER_BYTES - 1]) {
      expect(await verifySnapshot(file.slice(0, length), publicKey), `length ${length}`).toMatch(/^(truncated|length mismatch)/);
    }
    const longer = new Uint8Array(file.length + 1);
    longer.set(file);
    expect(await verifySnapshot(longer, publicKey)).toMatch(/^length mismatch/);
  });

  it("refuses a file signed by another key", async () => {
    const other = (await crypto.subtle.generateKey("Ed25519", true, ["sign", "verify"])) as CryptoKeyPair;
    const { file: foreign } = await sealSnapshot(writeSnapshot(MODEL, { version: 7n, builtAtMs: BUILT_AT_MS }), other.privateKey);
    expect(await verifySnapshot(foreign, publicKey)).toBe("bad signature");
  });
});

// --- Random models ---

const NAME_CHARS = ["a", "b", "z", "K", "0", "9", "-", "_", ".", " ", "é", "ü", "日", "本", "😀"];
const textArb = (maxLength = 8) => fc.string({ unit: fc.constantFrom(...NAME_CHARS), maxLength });
const STATUSES = Object.keys(SPEC_STATUS) as InstanceStatus[];
const PASSWAYS = Object.keys(SPEC_PASSWAY) as Passway[];
const KEYS = ["uid", "X-User", "sid", "名字", "key"];
/** Conditions and the attributes they read besides the key (every enabled policy reads its key), as [source code, name]. */
const CONDITIONS: [string, [number, string][]][] = [
  ["true", []],
  ['key == "vip"', []],
  ["int(key) % 100 < 10", []],
  ['request.header["X-Canary"] == "1"', [[1, "x-canary"]]],
  [
    'has(request.cookie.sid) && request.query["名字"] != ""',
    [
      [2, "sid"],
      [0, "名字"],
    ],
  ],
  ['request.path.startsWith("/a") || request.query.uid in ["1", "2"]', [[0, "uid"]]],
  ['bucket(key, 100) < 50 && request.body["user.id"] != ""', [[3, "user.id"]]],
];
const HOSTS = ["api.example.com", "API.Example.COM", "*.example.com", "*", "shop.test", "*.test"];
const PATHS = ["/", "/a", "/a/b", "/api", "/café", "/菜单/子"];

const BALANCER_NAMES = Object.keys(SPEC_BALANCER) as (keyof typeof SPEC_BALANCER)[];
const instanceArb = fc.record({
  host: fc.constantFrom("10.0.0.1", "fd00::1", "upstream.internal", "ü.internal"),
  port: fc.integer({ min: 1, max: 65535 }),
  weight: fc.oneof(fc.constantFrom(0, 1, 10, 10000), fc.integer({ min: 0, max: 10000 })),
  status: fc.constantFrom(...STATUSES),
  zone: textArb(),
  lane: textArb(),
  version: textArb(),
  role: fc.constantFrom("primary" as const, "backup" as const),
  region: textArb(),
  cell: textArb(),
  warmupMs: fc.integer({ min: 0, max: 3_600_000 }),
  aliveSinceMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 52 })),
  drained: fc.boolean(),
});

/** A consistent model: every name a route or policy uses resolves; private policies stay home. */
function randomModel(g: fc.GeneratorValue): { model: ConfigModel; slots: Record<number, string[]> } {
  let lastId = g(() => fc.constantFrom(0, 2 ** 31, 2 ** 32 - 100_000));
  const nextId = () => (lastId += g(fc.integer, { min: 1, max: 50 }));
  const appkeys = g(() => fc.uniqueArray(textArb(), { minLength: 1, maxLength: 3 }));
  const groups: GroupConfig[] = [];
  for (const appkey of appkeys) {
    const names = [
      "main",
      ...g(() =>
        fc.uniqueArray(
          textArb().filter((n) => n !== "main"),
          { maxLength: 3 },
        ),
      ),
    ];
    for (const name of names) {
      const instances = g(() => fc.array(instanceArb, { maxLength: 4 })).map((i) => ({ ...i, id: nextId() }));
      groups.push({ id: nextId(), appkey, name, balancer: g(() => fc.constantFrom(...BALANCER_NAMES)), instances });
    }
  }
  const policies: PolicyConfig[] = [];
  const reads = new Map<string, string[]>(); // policy name → what it reads when enabled
  for (let i = g(fc.integer, { min: 0, max: 6 }); i > 0; i--) {
    const appkey = g(fc.boolean) ? null : g(() => fc.constantFrom(...appkeys));
    const [condition, conditionReads] = g(() => fc.constantFrom(...CONDITIONS));
    const passway = g(() => fc.constantFrom(...PASSWAYS));
    const key = g(() => fc.constantFrom(...KEYS));
    const graylist = g(() => fc.array(textArb(), { maxLength: 3 }));
    const name = `${i}:${g(textArb)}`;
    const keyRead = `${SPEC_PASSWAY[passway]}:${passway === "header" ? key.toLowerCase() : key}`;
    reads.set(name, [keyRead, ...conditionReads.map(([p, n]) => `${p}:${n}`)]);
    policies.push({
      id: nextId(),
      name,
      category: appkey === null ? "public" : "private",
      appkey,
      key,
      passway,
      condition,
      group: appkey === null ? "main" : g(() => fc.constantFrom(...groups.filter((x) => x.appkey === appkey).map((x) => x.name))),
      enabled: g(fc.boolean),
      graylist,
    });
  }
  const routes: RouteConfig[] = [];
  for (let i = g(fc.integer, { min: 0, max: 8 }); i > 0; i--) {
    const appkey = g(() => fc.constantFrom(...appkeys));
    const usable = policies.filter((p) => p.appkey === null || p.appkey === appkey).map((p) => p.name);
    routes.push({
      id: nextId(),
      appkey,
      host: g(() => fc.constantFrom(...HOSTS)),
      path: g(() => fc.constantFrom(...PATHS)),
      match: g(() => fc.constantFrom("exact" as const, "prefix" as const)),
      defaultGroup: g(() => fc.constantFrom(...groups.filter((x) => x.appkey === appkey).map((x) => x.name))),
      policies: g(() => fc.shuffledSubarray(usable)),
      timeoutMs: g(() => fc.oneof(fc.constantFrom(0, 15000, 2 ** 32 - 1), fc.integer({ min: 0, max: 2 ** 32 - 1 }))),
      bodyCapBytes: g(() => fc.option(fc.integer({ min: 0, max: 1 << 20 }), { nil: undefined })),
    });
  }
  const slots: Record<number, string[]> = {};
  for (const r of routes) {
    const enabled = r.policies.map((n) => policies.find((p) => p.name === n) as PolicyConfig).filter((p) => p.enabled);
    slots[r.id] = [...new Set(enabled.flatMap((p) => reads.get(p.name) ?? []))];
  }
  // The writer must not depend on the order of the model's arrays (ids were handed out in order).
  const shuffle = <T>(items: T[]) => g(() => fc.shuffledSubarray(items, { minLength: items.length }));
  const model = {
    groups: shuffle(groups).map((x) => ({ ...x, instances: shuffle(x.instances) })),
    policies: shuffle(policies),
    routes: shuffle(routes),
  };
  return { model, slots };
}

describe("random models", () => {
  it("round-trip through write, seal, verify and load (200 runs)", async () => {
    const { hot } = await instantiate();
    let version = 0n;
    await fc.assert(
      fc.asyncProperty(fc.gen(), fc.integer({ min: 0, max: 2 ** 48 }), async (g, builtAtMs) => {
        const { model, slots } = randomModel(g);
        version += BigInt(g(fc.integer, { min: 1, max: 1000 }));
        const { file } = await sealed(model, version, builtAtMs);
        expect(await verifySnapshot(file, publicKey)).toBeNull();
        expect(hot.load(file)).toEqual({ ok: true, version });
        expect(hot.snapshot.builtAtMs).toBe(builtAtMs);
        expectReadBack(hot.snapshot, model, slots);
      }),
      {
        numRuns: Number(process.env.FC_RUNS ?? 200),
        seed: process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED),
        endOnFailure: process.env.FC_SHRINK === undefined, // shrinking re-seals and re-verifies: slow
      },
    );
  });
});
