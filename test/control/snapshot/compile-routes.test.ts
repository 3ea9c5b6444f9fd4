/**
 * The snapshot build's use of stored IR (control/snapshot/compile-routes.ts): a policy with usable
 * stored IR is compiled without lowering its source, to the very bytes lowering gives; stored IR
 * of another version or key, or damaged, falls back to lowering that policy's source.
 */
import { describe, expect, it } from "vitest";
import { benchModel, benchPolicies } from "../../../bench/policy-cases.ts";
import { clearLoweringCache, keyAttribute, lowerCondition } from "../../../control/compiler/index.ts";
import type { LowerFn } from "../../../control/snapshot/compile-routes.ts";
import type { ConfigModel, PolicyConfig } from "../../../control/snapshot/model.ts";
import { writeSnapshot } from "../../../control/snapshot/writer.ts";
import { encodeStoredIr, STORED_IR_VERSION } from "../../../wasm/cel/ir-codec.ts";

const viaDatabase = (value: unknown) => JSON.parse(JSON.stringify(value));
const build = (model: ConfigModel, lower?: LowerFn) => writeSnapshot(model, { version: 3n, builtAtMs: 1_700_000_000_000, lower });

function storedIrOf(p: PolicyConfig): unknown {
  const key = keyAttribute(p.passway, p.key);
  return viaDatabase(encodeStoredIr(lowerCondition(p.condition, key), key));
}

/** 400 policies of the bench's templates (every passway, DFAs, CIDRs, buckets, sets) on 8 routes. */
function sourceModel(): ConfigModel {
  const model = benchModel(benchPolicies(400, 7), 8);
  const extra = ['key.matches("^(a|b)+[0-9]{2,4}$")', "int(key) == -9223372036854775808 || -0.0 == 0.0 || 1.0 / 0.0 > 1e308"];
  for (const [i, condition] of extra.entries()) (model.policies[i] as PolicyConfig).condition = condition;
  return model;
}

describe("snapshot build with stored IR", () => {
  it("compiles policies with stored IR without lowering, to the same bytes", () => {
    const model = sourceModel();
    const expected = build(model);
    const stored = { ...model, policies: model.policies.map((p) => ({ ...p, storedIr: storedIrOf(p) })) };
    clearLoweringCache();
    const built = build(stored, (source) => {
      throw new Error(`lowered ${source}`);
    });
    expect(built).toEqual(expected);
  });

  it("lowers the source of a policy whose stored IR is stale, for another key, damaged or absent", () => {
    const model = sourceModel();
    const expected = build(model);
    const policies = model.policies.map((p) => ({ ...p, storedIr: storedIrOf(p) }));
    const s = (i: number) => policies[i]?.storedIr as { v: number; key: string; ir: { kind: string } };
    const spoiled = new Map<number, unknown>([
      [0, { ...s(0), v: STORED_IR_VERSION + 1 }],
      [1, { ...s(1), key: "query:someone-else" }],
      [2, { ...s(2), ir: { ...s(2).ir, kind: "eval" } }],
      [3, "not stored IR"],
      [4, undefined],
    ]);
    for (const [i, value] of spoiled) (policies[i] as PolicyConfig).storedIr = value;
    const lowered: string[] = [];
    const built = build({ ...model, policies }, (source, key) => {
      lowered.push(source);
      return lowerCondition(source, key);
    });
    expect(built).toEqual(expected);
    expect(lowered.sort()).toEqual([...spoiled.keys()].map((i) => model.policies[i]?.condition).sort());
  });
});
