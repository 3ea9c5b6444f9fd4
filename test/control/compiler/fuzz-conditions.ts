/**
 * `npm run fuzz:conditions`: the condition differential of test/control/compiler/evaluate.test.ts
 * at scale — the WASM VM, the TypeScript reference and @bufbuild/cel on generated conditions
 * and requests, 100,000 cases by default. Prints the seed first; rerun a failure with it.
 *
 * Environment: FUZZ_CASES (default 100000), FUZZ_SEED (default: random).
 * Exit code 1 on any disagreement, with the condition, the request and the three verdicts.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { checkCondition } from "../../../control/compiler/index.ts";
import { HotPath } from "../../../wasm/host.ts";
import { caseArb } from "../../support/condition-gen.ts";
import { checkBatch, type Tally } from "../../support/condition-oracle.ts";

const BATCH_POLICIES = 50;
const REQUESTS_PER_CONDITION = 4;
const cases = Number(process.env.FUZZ_CASES ?? 100_000);
const seed = process.env.FUZZ_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FUZZ_SEED);
const batches = Math.ceil(cases / (BATCH_POLICIES * REQUESTS_PER_CONDITION));

console.log(`fuzz:conditions: seed ${seed}, ${batches} batches of ${BATCH_POLICIES} conditions × ${REQUESTS_PER_CONDITION} requests`);
const hot = await HotPath.instantiate(readFileSync(new URL("../../../build/hotpath.wasm", import.meta.url)));
const tally: Tally = { compared: 0, excluded: 0, vmReference: 0, keyAbsent: 0, match: 0, no: 0, error: 0 };
let version = 0n;
const started = performance.now();
const result = fc.check(
  fc.property(fc.array(caseArb(REQUESTS_PER_CONDITION), { minLength: BATCH_POLICIES, maxLength: BATCH_POLICIES }), (batch) => {
    for (const c of batch) checkCondition(c.condition.src);
    version += 1n;
    checkBatch(hot, batch, version, tally);
    if (Number(version) % 50 === 0) process.stdout.write(`  ${tally.vmReference} cases…\n`);
  }),
  { numRuns: batches, seed, endOnFailure: true },
);
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(`fuzz:conditions: ${JSON.stringify(tally)} in ${seconds} s (seed ${seed})`);
if (result.failed) {
  console.error(
    `FAILED after ${result.numRuns} batches (seed ${seed}):\n${result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance)}`,
  );
  process.exit(1);
}
console.log(
  `fuzz:conditions: VM = reference on all ${tally.vmReference} cases; = @bufbuild/cel on ${tally.compared} (${tally.excluded} excluded by documented divergences)`,
);
