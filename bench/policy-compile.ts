/**
 * Snapshot compile time and size for 10,000 policies (200 routes × 50, the bench's templates
 * with distinct constants), three ways. The two cold builds each run in a fresh Node process
 * (this file as a script), as the first build after control starts.
 * - cold: every policy carries the IR admission stored (encoded before the timing, and passed
 *   through JSON as the database returns it) and the lowering memo is empty, so nothing is parsed:
 *   the build decodes stored IR. Encoding lowers every condition first, which warms the parser's
 *   and checker's code but none that this build runs.
 * - parse every condition (no stored IR): each condition is parsed (@bufbuild/cel), checked and
 *   folded — a cold build before stored IR, and still the cost for rows written before it until
 *   the start-up backfill (control/db/condition-ir.ts) has stored theirs.
 * - warm: the same model rebuilt in that second process, its conditions memoised, as a rebuild
 *   after a config change in a running control (median of 5).
 * Reading the rows from the database is not timed.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { clearLoweringCache, keyAttribute, lowerCondition } from "../control/compiler/index.ts";
import type { ConfigModel } from "../control/snapshot/model.ts";
import { writeSnapshot } from "../control/snapshot/writer.ts";
import { encodeStoredIr } from "../wasm/cel/ir-codec.ts";
import { benchModel, benchPolicies } from "./policy-cases.ts";

const POLICIES = 10_000;
const ROUTES = 200;
const TARGET_MS = 500;

/** What one child process measured: times in ms, sizes in bytes. */
interface ChildResult {
  ms: number;
  warmMs: number | null;
  size: number;
  sha256: string;
  storedIrBytesPerPolicy: number | null;
}

/** `model` with each policy's stored IR as `policies.condition_ir` holds it, and its mean JSON size. */
function withStoredIr(model: ConfigModel): { model: ConfigModel; bytesPerPolicy: number } {
  let bytes = 0;
  const policies = model.policies.map((p) => {
    const key = keyAttribute(p.passway, p.key);
    const json = JSON.stringify(encodeStoredIr(lowerCondition(p.condition, key), key));
    bytes += Buffer.byteLength(json);
    return { ...p, storedIr: JSON.parse(json) };
  });
  return { model: { ...model, policies }, bytesPerPolicy: bytes / policies.length };
}

function timed(model: ConfigModel): { ms: number; bytes: Uint8Array } {
  const t = performance.now();
  const bytes = writeSnapshot(model, { version: 1n, builtAtMs: 0 });
  return { ms: performance.now() - t, bytes };
}

/** One cold build in this process: `stored` decodes stored IR, `parse` lowers every source (then times warm rebuilds). */
function measureInChild(mode: "stored" | "parse"): ChildResult {
  let model = benchModel(benchPolicies(POLICIES, 1000), ROUTES);
  let storedIrBytesPerPolicy: number | null = null;
  if (mode === "stored") {
    ({ model, bytesPerPolicy: storedIrBytesPerPolicy } = withStoredIr(model));
    clearLoweringCache();
  }
  const cold = timed(model);
  let warmMs: number | null = null;
  if (mode === "parse") {
    const warm = Array.from({ length: 5 }, () => timed(model).ms).sort((a, b) => a - b);
    warmMs = warm[2] as number;
  }
  const sha256 = createHash("sha256").update(cold.bytes).digest("hex");
  return { ms: cold.ms, warmMs, size: cold.bytes.length, sha256, storedIrBytesPerPolicy };
}

function runChild(mode: "stored" | "parse"): ChildResult {
  const out = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), mode], { encoding: "utf8" });
  return JSON.parse(out) as ChildResult;
}

/**
 * Runs both cold builds in child processes (sequentially, each ≈ 1–3 s including setup).
 * @returns a markdown paragraph with the measurements and the target's verdict (on cold).
 * @throws when the two builds' snapshots differ (stored IR must compile to the same bytes).
 */
export async function measureCompile(): Promise<string> {
  const cold = runChild("stored");
  const parseAll = runChild("parse");
  if (cold.sha256 !== parseAll.sha256) throw new Error("stored IR built a different snapshot than lowering the sources");
  const ms = (v: number) => `${Math.round(v).toLocaleString("en-US")} ms`;
  return `### Snapshot compile, ${POLICIES.toLocaleString("en-US")} policies on ${ROUTES} routes (Node)

| | time | size |
|---|---:|---:|
| cold: first build after a restart, stored IR decoded (nothing parsed), compiled, laid out | ${ms(cold.ms)} | ${(cold.size / 1024).toFixed(0)} KiB (${Math.round(cold.size / POLICIES)} B/policy) |
| parse every condition (no stored IR): first build, parsed, checked, folded, compiled | ${ms(parseAll.ms)} | same |
| warm: conditions memoised in this process; compile and lay out | ${ms(parseAll.warmMs ?? Number.NaN)} | same |

Stored IR: ${Math.round(cold.storedIrBytesPerPolicy ?? 0)} B of JSON per policy in \`policies.condition_ir\`.

Target < ${TARGET_MS} ms (cold, stored IR): ${ms(cold.ms)} → ${cold.ms < TARGET_MS ? "**PASS**" : "**MISS**"}.`;
}

const mode = process.argv[2];
if (import.meta.main && (mode === "stored" || mode === "parse")) process.stdout.write(JSON.stringify(measureInChild(mode)));
