/**
 * The CEL conformance suite (@bufbuild/cel-spec's getConformanceSuite(): cel-spec v0.25.1's
 * simple tests, 2,344 cases) through control's compiler and the WASM VM. Each test is either
 * outside the supported subset — refused by the compiler with a reason, or needing what a
 * condition cannot express (non-scalar results or bindings, type-check-only tests) — or run,
 * and then it must pass. The counts are printed; docs/conditions.md, "Conformance", lists what
 * is outside and why.
 *
 * How a test runs: its bindings become constants; its expression E with expected value V
 * becomes the condition `(E) == V` (`(E) != (E)` for NaN), and an expected error becomes `E`
 * (bool) or `(E) == (E)`: the VM's verdict is then match / error. Folding is off, so the VM
 * evaluates everything the expression computes; a second pass with folding on checks the
 * folder, and the TypeScript reference evaluator must agree with the VM on every test.
 */
import { getConformanceSuite } from "@bufbuild/cel-spec/testdata/tests.js";
import { beforeAll, describe, expect, it } from "vitest";
import { ConditionError, type IrNode, lowerExpression } from "../../control/compiler/index.ts";
import type { PolicyConfig } from "../../control/snapshot/model.ts";
import { compileEvaluator } from "../../wasm/cel/evaluate.ts";
import type { IrConst, IrType } from "../../wasm/cel/ir.ts";
import { ERROR } from "../../wasm/cel/values.ts";
import { DecideStatus, type HotPath } from "../../wasm/host.ts";
import { group, instance, instantiate, policy, request, route, write } from "../support/wasm-fixtures.ts";

type Value = { kind: { case?: string; value?: unknown } };
interface Test {
  file: string;
  name: string;
  expr: string;
  disableCheck: boolean;
  checkOnly: boolean;
  container: string;
  bindings: Record<string, { kind: { case?: string; value?: Value } }>;
  resultMatcher: { case?: string; value?: Value };
}

function collect(): Test[] {
  const out: Test[] = [];
  const walk = (s: ReturnType<typeof getConformanceSuite>, file: string) => {
    for (const t of s.tests) out.push({ ...(t.original as unknown as Omit<Test, "file">), file, name: t.name });
    for (const c of s.suites) walk(c, file || c.name);
  };
  walk(getConformanceSuite(), "");
  return out;
}

const SCALARS: Record<string, IrType> = {
  int64Value: "int",
  uint64Value: "uint",
  doubleValue: "double",
  stringValue: "string",
  boolValue: "bool",
};

/** A CEL literal for a scalar value (double infinities via Sluice's constant-folded double("inf")). */
function literal(type: IrType, v: unknown): string {
  switch (type) {
    case "int":
      return String(v);
    case "uint":
      return `${v}u`;
    case "string":
      return JSON.stringify(v);
    case "bool":
      return String(v);
    default: {
      const d = v as number;
      if (!Number.isFinite(d)) return d > 0 ? 'double("inf")' : 'double("-inf")';
      const s = Object.is(d, -0) ? "-0.0" : String(d).replace("e+", "e");
      return /[.e]/.test(s) ? s : `${s}.0`;
    }
  }
}

/** The docs' grouping of outside-the-subset reasons (docs/conditions.md, "Correctness"). */
function category(reason: string): string {
  if (reason.startsWith("function not supported: "))
    return "functions outside the subset (dyn, format, timestamps and durations, extensions, type, bool…)";
  if (/maps and messages|unknown field|binding of a (objectValue|mapValue|enumValue)/.test(reason))
    return "protobuf messages and maps (fields, literals, bindings)";
  if (/^expects (a (listValue|mapValue|bytesValue|nullValue|typeValue|objectValue|enumValue)|no result|typedResult)/.test(reason))
    return "results that are not scalars; unknowns; typed results";
  if (/bytes literals|null literals|binding of a (bytesValue|nullValue)/.test(reason)) return "bytes and null";
  if (/macros other than/.test(reason)) return "macros other than has()";
  if (/a list may appear|takes a list literal|binding of a listValue/.test(reason)) return "lists outside `in`";
  if (reason.startsWith("syntax error")) return "syntax @bufbuild/cel's parser refuses (leading `.`, optional syntax…)";
  if (reason.startsWith("type-check-only")) return "type-check-only tests";
  if (reason.startsWith("name resolution")) return "name resolution in containers";
  if (reason.startsWith("unknown identifier")) return "undeclared variables (tests expecting that error)";
  return "mixed-type operations and other type errors refused at admission (`1 == 1u`, string `+`, `string(1.5)`…)";
}

type Plan =
  | { kind: "run"; condition: string; variables: Record<string, IrConst>; expect: "match" | "error" }
  | { kind: "outside"; reason: string };

/** Normalises a refusal into a reason shared by similar tests. */
const reasonOf = (message: string) =>
  message
    .replace(/^function '([^']*)' is not supported in conditions$/, "function not supported: $1")
    .replace(/'[^']*'/g, "'…'")
    .replace(/"[^"]*"/g, '"…"')
    .replace(/-?\d+/g, "N")
    .replace(/ \(at position N\)/, "");

function planTest(t: Test): Plan {
  if (t.checkOnly) return { kind: "outside", reason: "type-check-only test (no evaluation)" };
  const matcher = t.resultMatcher.case;
  if (matcher !== "value" && matcher !== "evalError" && matcher !== "anyEvalErrors") {
    return { kind: "outside", reason: `expects ${matcher ?? "no result"} (unknowns / typed results are not conditions)` };
  }
  const variables: Record<string, IrConst> = {};
  for (const [name, b] of Object.entries(t.bindings)) {
    const k = b.kind.case === "value" ? b.kind.value?.kind : undefined;
    const type = k?.case ? SCALARS[k.case] : undefined;
    if (!type || !k) return { kind: "outside", reason: `binding of a ${k?.case ?? b.kind.case} (conditions read scalars only)` };
    variables[name] = { type, value: type === "uint" ? ((k.value as { value: bigint }).value ?? k.value) : k.value } as IrConst;
  }
  let ir: IrNode;
  try {
    ir = lowerExpression(t.expr, { variables, fold: false });
  } catch (err) {
    if (err instanceof ConditionError) return { kind: "outside", reason: reasonOf(err.message) };
    throw err;
  }
  if (t.container) return { kind: "outside", reason: "name resolution in a container (namespaces)" };
  if (matcher !== "value")
    return { kind: "run", condition: ir.type === "bool" ? t.expr : `(${t.expr}) == (${t.expr})`, variables, expect: "error" };
  const want = t.resultMatcher.value?.kind;
  const type = want?.case ? SCALARS[want.case] : undefined;
  if (!type || !want) return { kind: "outside", reason: `expects a ${want?.case ?? "?"} (conditions compute scalars only)` };
  if (ir.type !== type) return { kind: "run", condition: "false", variables, expect: "match" }; // a typing bug: fails below
  const v = type === "uint" ? ((want.value as { value?: bigint }).value ?? want.value) : want.value;
  const condition = type === "double" && Number.isNaN(v) ? `(${t.expr}) != (${t.expr})` : `(${t.expr}) == ${literal(type, v)}`;
  return { kind: "run", condition, variables, expect: "match" };
}

interface Outcome {
  vm: "match" | "no" | "error";
  reference: "match" | "no" | "error";
}

/** Runs the planned tests through one snapshot per 100 tests; key = query `t<i>` discriminates the bindings. */
function runAll(
  hot: HotPath,
  plans: { index: number; plan: Extract<Plan, { kind: "run" }> }[],
  fold: boolean,
  version: bigint,
): Map<number, Outcome> {
  const out = new Map<number, Outcome>();
  for (let start = 0; start < plans.length; start += 100) {
    const chunk = plans.slice(start, start + 100);
    const policies: PolicyConfig[] = chunk.map(({ index, plan }) => policy(index + 1, plan.condition, "hit", { key: `t${index}` }));
    const variablesOf = new Map(chunk.map(({ index, plan }) => [`t${index}`, plan.variables]));
    const irs = new Map<string, IrNode>();
    const file = write(
      {
        groups: [group(1, "main", [instance(1, 1)]), group(2, "hit", [instance(2, 1)])],
        policies,
        routes: policies.map((p) => route(p.id, "*", `/t${p.id}`, { match: "exact", policies: [p.name] })),
      },
      version + BigInt(start),
      (source, key) => {
        const ir = lowerExpression(source, { variables: variablesOf.get(key.name), fold });
        irs.set(key.name, ir);
        return ir;
      },
    );
    const loaded = hot.load(file);
    if (!loaded.ok) throw new Error(`snapshot refused: ${loaded.reason}`);
    for (const { index } of chunk) {
      // The policy's key is present (a policy without its key does not apply): the condition decides.
      const r = hot.decide(request("conformance.test", `/t${index + 1}`, { [`0:t${index}`]: "" }));
      expect(r.status).toBe(DecideStatus.OK);
      const vm = r.policy >= 0 ? "match" : r.conditionErrors > 0 ? "error" : "no";
      const v = compileEvaluator(irs.get(`t${index}`) as IrNode)({ method: "GET", host: "", path: "", attribute: () => undefined });
      out.set(index, { vm, reference: v === ERROR ? "error" : v === true ? "match" : "no" });
    }
  }
  return out;
}

describe("CEL conformance suite through compiler + WASM VM", () => {
  const tests = collect();
  const plans = tests.map(planTest);
  const runnable = plans.flatMap((plan, index) => (plan.kind === "run" ? [{ index, plan }] : []));
  let hot: HotPath;
  beforeAll(async () => {
    ({ hot } = await instantiate());
  });

  it("passes every test inside the subset, VM and reference alike (folding off, then on)", () => {
    const failures: string[] = [];
    for (const [fold, version] of [
      [false, 1n],
      [true, 100_000n],
    ] as const) {
      const outcomes = runAll(hot, runnable, fold, version);
      for (const { index, plan } of runnable) {
        const o = outcomes.get(index) as Outcome;
        const t = tests[index] as Test;
        if (o.vm !== plan.expect || o.reference !== plan.expect) {
          failures.push(
            `[fold ${fold}] ${t.file}/${t.name}: ${t.expr} → VM ${o.vm}, reference ${o.reference}, want ${plan.expect} (${plan.condition})`,
          );
        }
      }
    }
    const perFile = new Map<string, { passed: number; failed: number; outside: number }>();
    const reasons = new Map<string, number>();
    const categories = new Map<string, number>();
    plans.forEach((p, i) => {
      const t = tests[i] as Test;
      const row = perFile.get(t.file) ?? { passed: 0, failed: 0, outside: 0 };
      if (p.kind === "outside") {
        row.outside++;
        reasons.set(p.reason, (reasons.get(p.reason) ?? 0) + 1);
        categories.set(category(p.reason), (categories.get(category(p.reason)) ?? 0) + 1);
      } else if (failures.some((f) => f.includes(`${t.file}/${t.name}:`))) row.failed++;
      else row.passed++;
      perFile.set(t.file, row);
    });
    const total = { passed: 0, failed: 0, outside: 0 };
    for (const row of perFile.values()) {
      total.passed += row.passed;
      total.failed += row.failed;
      total.outside += row.outside;
    }
    console.log(
      [
        `CEL conformance (cel-spec v0.25.1, ${tests.length} tests): passed ${total.passed}, failed ${total.failed}, outside subset ${total.outside}`,
        ...[...perFile].map(
          ([file, r]) =>
            `  ${file.padEnd(18)} passed ${String(r.passed).padStart(4)}  failed ${r.failed}  outside ${String(r.outside).padStart(4)}`,
        ),
        "  outside the subset, by category:",
        ...[...categories].sort((a, b) => b[1] - a[1]).map(([c, n]) => `    ${String(n).padStart(4)}  ${c}`),
        "  outside the subset, by reason:",
        ...[...reasons].sort((a, b) => b[1] - a[1]).map(([reason, n]) => `    ${String(n).padStart(4)}  ${reason}`),
        ...failures.slice(0, 40).map((f) => `  FAILED ${f}`),
      ].join("\n"),
    );
    expect(failures).toEqual([]);
    expect(total.passed).toBeGreaterThan(400);
  }, 120_000);
});
