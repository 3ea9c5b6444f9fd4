/**
 * Snapshot compile time and size for 10,000 policies (200 routes × 50, the bench's templates
 * with distinct constants): cold — conditions never seen by this process, so each is parsed
 * (@bufbuild/cel), checked and folded — and warm — the same model again, its conditions already
 * lowered, as after admission (the API checks every condition when it is written, which fills
 * the compiler's cache) — i.e. what a rebuild after a config change costs.
 */
import { writeSnapshot } from "../control/snapshot/writer.ts";
import { benchModel, benchPolicies } from "./policy-cases.ts";

const POLICIES = 10_000;
const ROUTES = 200;

/** @returns a markdown paragraph with the measurements. */
export async function measureCompile(): Promise<string> {
  const model = benchModel(benchPolicies(POLICIES, 1000), ROUTES);
  let t = performance.now();
  const cold = writeSnapshot(model, { version: 1n, builtAtMs: 0 });
  const coldMs = performance.now() - t;
  const warm: number[] = [];
  for (let i = 0; i < 5; i++) {
    t = performance.now();
    writeSnapshot(model, { version: 1n, builtAtMs: 0 });
    warm.push(performance.now() - t);
  }
  warm.sort((a, b) => a - b);
  const warmMs = warm[2] as number;
  const v = (ok: boolean) => (ok ? "**PASS**" : "**MISS**");
  return `### Snapshot compile, ${POLICIES.toLocaleString("en-US")} policies on ${ROUTES} routes (Node)

| | time | size |
|---|---:|---:|
| cold (every condition parsed, checked, folded, compiled) | ${Math.round(coldMs)} ms | ${(cold.length / 1024).toFixed(0)} KiB (${Math.round(cold.length / POLICIES)} B/policy) |
| warm (conditions lowered at admission; compile and lay out) | ${Math.round(warmMs)} ms | same |

Target < 500 ms: warm ${Math.round(warmMs)} ms → ${v(warmMs < 500)}; cold ${Math.round(coldMs)} ms → ${v(coldMs < 500)}.`;
}
