/**
 * What the tables cannot say about the WASM port: no memory growth while serving, state kept
 * across generation swaps when indices move, and the same pick sequence as the reference for
 * random groups (fast-check), which holds for every kind because the port draws from the same
 * xoshiro128** stream in the same order.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GROUP_CONFIG_DEFAULTS, type InstanceSpec, type KindName } from "../../wasm/balancing.ts";
import { ALL_KINDS } from "./balancer.cases.ts";
import { referenceSelection } from "./reference-adapters.ts";
import { type CaseInstance, instance } from "./route-rules.cases.ts";
import type { CaseOutcome } from "./selection.cases.ts";
import { createBalancing, wasmSelection } from "./wasm-adapters.ts";

function spec(id: number, fields: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    id,
    weight: 10,
    status: 2,
    role: 0,
    zone: "z1",
    region: "r1",
    lane: "",
    cell: "",
    address: `10.0.0.${id}:8080`,
    warmupMs: 0,
    drained: false,
    ...fields,
  };
}

describe("no memory growth while serving", () => {
  it.each(ALL_KINDS)("%s: 100,000 picks and finishes at 10 and 1,000 instances", (kind) => {
    for (const n of [10, 1_000]) {
      const b = createBalancing();
      b.setCaller("z1", "r1");
      b.seedFrom(5);
      b.loadGeneration(
        [
          {
            id: 1,
            config: { ...GROUP_CONFIG_DEFAULTS, kind },
            instances: Array.from({ length: n }, (_, i) => spec(i + 1, { weight: 1 + (i % 7) })),
          },
        ],
        0,
      );
      const before = b.memory.buffer.byteLength;
      for (let k = 0; k < 100_000; k++) {
        const s = b.select(0, k, { key: k % 3 === 0 ? `session-${k}` : undefined, tried: k % 5 === 0 ? [1] : undefined });
        b.start(s.instance, s.instance + 1);
        b.finish(s.instance, s.instance + 1, { status: k % 11 === 0 ? 503 : 200, latencyMs: k % 50 }, s.probe, k);
      }
      expect(b.memory.buffer.byteLength).toBe(before);
    }
  });

  it("300 generation swaps do not grow memory after the first few", () => {
    const b = createBalancing();
    const load = (k: number) =>
      b.loadGeneration(
        [
          {
            id: 1,
            config: { ...GROUP_CONFIG_DEFAULTS, kind: "maglev" },
            instances: Array.from({ length: 100 }, (_, i) => spec(i + 1 + (k % 3))),
          },
        ],
        k,
      );
    for (let k = 0; k < 5; k++) load(k);
    const before = b.memory.buffer.byteLength;
    for (let k = 5; k < 300; k++) {
      load(k);
      b.select(0, k, { key: `s${k}` });
    }
    expect(b.memory.buffer.byteLength).toBe(before);
  });
});

describe("generation swaps keep state by instance id", () => {
  it("an ejected instance stays ejected when its index moves, and a stale (index, id) finds it", () => {
    const b = createBalancing();
    b.setCaller("z1", "r1");
    b.loadGeneration([{ id: 7, config: GROUP_CONFIG_DEFAULTS, instances: [spec(1), spec(2), spec(3)] }], 0);
    // Five 503s on id 2 (index 1): ejected (Envoy consecutive_5xx).
    for (let k = 0; k < 5; k++) b.finish(1, 2, { status: 503, latencyMs: 10 }, false, 0);
    // New generation: id 2 now at index 2, a new id 4 at index 0.
    b.loadGeneration([{ id: 7, config: GROUP_CONFIG_DEFAULTS, instances: [spec(4), spec(1), spec(2)] }], 1_000);
    expect(b.instanceRecord(2).getUint8(5)).toBe(1);
    const seen = new Set<number>();
    for (let k = 0; k < 6; k++) seen.add(b.select(0, 1_000).instance);
    expect([...seen].sort()).toEqual([0, 1]);
    // A completion still named by its old index 1 lands on id 2's record (now index 2).
    expect(b.finish(1, 2, { status: 200, latencyMs: 10 }, false, 1_000)).toBe("kept");
    expect(b.instanceRecord(2).getUint32(32, true)).toBe(1); // srSuccess
    // Removed ids are ignored.
    b.loadGeneration([{ id: 7, config: GROUP_CONFIG_DEFAULTS, instances: [spec(4)] }], 2_000);
    expect(b.finish(2, 2, { status: 503, latencyMs: 10 }, false, 2_000)).toBe("gone");
  });

  it("group counters survive by group id; a new group id starts fresh", () => {
    const b = createBalancing();
    b.loadGeneration([{ id: 9, config: GROUP_CONFIG_DEFAULTS, instances: [spec(1)] }], 0);
    b.admit(0);
    b.loadGeneration(
      [
        { id: 8, config: GROUP_CONFIG_DEFAULTS, instances: [] },
        { id: 9, config: GROUP_CONFIG_DEFAULTS, instances: [spec(1)] },
      ],
      0,
    );
    expect(b.counters(1).active).toBe(1);
    expect(b.counters(0).active).toBe(0);
  });
});

const OUTCOMES: CaseOutcome[] = [200, 200, 200, 503, 500, "connect", "timeout", "slow"];

describe("the WASM pipeline picks what the reference picks", () => {
  it.each(ALL_KINDS)("%s: same instances for random groups, weights, outcomes and seeds", (kind) => {
    const arbInstance = fc.record({
      weight: fc.integer({ min: 0, max: 20 }),
      status: fc.constantFrom("alive", "alive", "alive", "dead"),
      role: fc.constantFrom("primary", "primary", "backup"),
      zone: fc.constantFrom("z1", "z2"),
      warmupMs: fc.constantFrom(0, 60_000),
    });
    const arbStep = fc.oneof(
      fc.record({ pick: fc.integer({ min: 0, max: 99 }), tried: fc.boolean() }),
      fc.record({ record: fc.nat(), outcome: fc.constantFrom(...OUTCOMES) }),
    );
    fc.assert(
      fc.property(
        fc.array(arbInstance, { minLength: 1, maxLength: 12 }),
        fc.array(arbStep, { maxLength: 60 }),
        fc.nat(),
        (list, steps, seed) => {
          const instances: CaseInstance[] = list.map((f, i) => instance(i + 1, { ...f, aliveSinceMs: 0 } as Partial<CaseInstance>));
          const ref = referenceSelection.create(kind as KindName, instances, seed);
          const wasm = wasmSelection.create(kind as KindName, instances, seed);
          let nowMs = 0;
          const picked: number[] = [];
          for (const step of steps) {
            nowMs += 700;
            if ("pick" in step) {
              const request = {
                key: step.pick % 4 === 0 ? undefined : `session-${step.pick}`,
                tried: step.tried && picked.length > 0 ? [picked.at(-1)!] : [],
              };
              const a = ref.pick(nowMs, request);
              const b = wasm.pick(nowMs, request);
              expect(b).toEqual(a);
              if (a.id !== null) picked.push(a.id);
            } else if (picked.length > 0) {
              const id = picked[step.record % picked.length]!;
              ref.record(id, step.outcome, nowMs);
              wasm.record(id, step.outcome, nowMs);
            }
          }
          expect(wasm.panicCount()).toBe(ref.panicCount());
        },
      ),
      { numRuns: 150 },
    );
  });
});
