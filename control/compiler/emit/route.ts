/**
 * Compiles a route's policy list into one program (docs/bytecode.md, "Route programs"). A policy
 * is about its key: without the key it does not apply, whatever its condition, and counts no
 * error (Oceanus extracts the key before rendering the condition). So each run of consecutive
 * enabled policies sharing one key starts with one key gate (F_HAS in AND mode, skipping the whole
 * run when the key is absent); then, per policy, its graylist gate, then its condition: one test
 * per operand of a root-level && or || chain (fused where the operand is an attribute-vs-constant
 * test), the last of which returns the policy's binding when the condition is true and counts an
 * error when it errs; END when none matched. Runs of ≥ SWITCH_MIN_RUN consecutive policies with
 * one key that each test one interned attribute for equality with constants become one
 * SWITCH_IDS: a hash lookup instead of n tests.
 */

import { type AttributeRef, attributeKey, type IrNode } from "../../../wasm/cel/ir.ts";
import { ConditionError } from "../condition-error.ts";
import { FUSED_MODE, OP, SLOT_MODE } from "../opcodes.ts";
import { ByteBuffer } from "./buffer.ts";
import { DataWriter, InternTable } from "./data.ts";
import { type EmitEnv, ExprEmitter } from "./expr.ts";
import { type Fused, matchFused } from "./fused.ts";
import { type Slot, SlotPlan } from "./slots.ts";

/** Shortest run of equality tests on one attribute compiled as a SWITCH_IDS. */
export const SWITCH_MIN_RUN = 3;

/** One binding of a route: a policy, in route order. */
export interface RoutePolicy {
  /** Route-local binding index (position in the route's policy list). */
  binding: number;
  /** Folded condition IR (bool). */
  condition: IrNode;
  /** The policy's key attribute (read by the graylist). */
  key: AttributeRef;
  graylist: readonly string[];
  enabled: boolean;
}

export interface RouteProgram {
  code: Uint8Array;
  slots: Slot[];
  /** ROUTES.flags bits 1–3: the program reads the request's method, host, path. */
  readsFields: number;
}

type Step =
  | { kind: "policy"; policy: RoutePolicy }
  | { kind: "switch"; attr: AttributeRef; key: AttributeRef; policies: { binding: number; values: string[] }[] };

/** The key a step's policies are about (a switch's members share one). */
const stepKey = (s: Step): AttributeRef => (s.kind === "policy" ? s.policy.key : s.key);

/**
 * A policy a SWITCH_IDS may take: an equality test of an attribute with constants. A switch's
 * members share the attribute and their key, so they run under one key gate; when the attribute
 * is that key it is never absent there, otherwise its absence is an error of every member.
 */
const switchable = (p: RoutePolicy, f: Fused | undefined): f is Extract<Fused, { k: "eqStr" | "inStrs" }> =>
  p.graylist.length === 0 && f !== undefined && ((f.k === "eqStr" && !f.negate) || f.k === "inStrs");

/**
 * @throws ConditionError when a condition needs more stack than the VM has, or the route reads
 *   more than 255 attributes.
 */
export function emitRoute(policies: readonly RoutePolicy[], env: EmitEnv): RouteProgram {
  const active = policies.filter((p) => p.enabled && !(p.condition.kind === "const" && p.condition.value === false));
  const plan = new SlotPlan();
  for (const p of active) {
    if (p.graylist.length > 0) plan.useGraylist(p.key);
    else plan.useCondition({ kind: "has", type: "bool", attr: p.key });
    plan.useCondition(p.condition);
  }
  let slots: Slot[];
  try {
    slots = plan.slots();
  } catch (err) {
    throw new ConditionError((err as Error).message, 0);
  }
  const interned = (a: AttributeRef) => (plan.slotOf(a).mode & SLOT_MODE.INTERN) !== 0;

  // Group switchable runs.
  const steps: Step[] = [];
  for (const p of active) {
    const f = matchFused(p.condition);
    const last = steps[steps.length - 1];
    if (switchable(p, f) && interned(f.attr)) {
      const values = f.k === "eqStr" ? [f.value] : f.values;
      if (last?.kind === "switch" && attributeKey(last.attr) === attributeKey(f.attr) && attributeKey(last.key) === attributeKey(p.key)) {
        last.policies.push({ binding: p.binding, values });
        continue;
      }
      steps.push({ kind: "switch", attr: f.attr, key: p.key, policies: [{ binding: p.binding, values }] });
      continue;
    }
    steps.push({ kind: "policy", policy: p });
  }

  const code = new ByteBuffer();
  const expr = new ExprEmitter(code, plan, env);
  for (let i = 0; i < steps.length; ) {
    // A run of steps about one key: one key gate for the run (a graylist implies its key, so a
    // run of graylisted policies needs none).
    const key = stepKey(steps[i] as Step);
    let end = i + 1;
    while (end < steps.length && attributeKey(stepKey(steps[end] as Step)) === attributeKey(key)) end++;
    const run = steps.slice(i, end);
    i = end;
    const only = run.length === 1 && run[0]?.kind === "policy" ? run[0].policy : undefined;
    if (only && only.graylist.length === 0 && only.condition.kind === "const" && only.condition.value === true) {
      // `true` on its own: the key gate is the whole test (MATCH mode: present → the binding).
      expr.emitFused({ k: "has", attr: key }, FUSED_MODE.MATCH, only.binding);
      continue;
    }
    const gated = run.some((s) => s.kind === "switch" || s.policy.graylist.length === 0);
    const gate = gated ? expr.emitFused({ k: "has", attr: key }, FUSED_MODE.AND) : -1;
    for (const step of run) emitStep(step, active, expr, plan, env);
    if (gate >= 0) code.patchU32(gate, code.length);
  }
  code.u8(OP.END);
  return { code: code.finish(), slots, readsFields: expr.readsFields };
}

/** Emits a step (under its key gate): a SWITCH_IDS, or its policies one by one. */
function emitStep(step: Step, active: readonly RoutePolicy[], expr: ExprEmitter, plan: SlotPlan, env: EmitEnv): void {
  const code = expr.code;
  if (step.kind === "switch" && step.policies.length >= SWITCH_MIN_RUN) {
    const table = new Map<number, number>();
    for (const { binding, values } of step.policies) {
      for (const v of values) {
        const id = env.intern.id(v);
        if (!table.has(id)) table.set(id, binding);
      }
    }
    code.u8(OP.SWITCH_IDS);
    code.u8(plan.slotOf(step.attr).index);
    code.u32(env.data.switchTable(table));
    // Errors to count when the attribute is absent: none when it is the members' key (the key
    // gate has skipped the run then), else one per member (each condition errs).
    code.u16(attributeKey(step.attr) === attributeKey(step.key) ? 0 : step.policies.length);
    return;
  }
  const members: RoutePolicy[] =
    step.kind === "policy" ? [step.policy] : step.policies.map(({ binding }) => active.find((p) => p.binding === binding) as RoutePolicy);
  for (const p of members) emitPolicy(p, expr, plan, env);
}

/** The operands of a chain of one operator: `a && (b && c)` → [a, b, c]. */
function flatten(n: IrNode, kind: "and" | "or"): IrNode[] {
  return n.kind === kind ? [...flatten(n.left, kind), ...flatten(n.right, kind)] : [n];
}

function emitPolicy(p: RoutePolicy, expr: ExprEmitter, plan: SlotPlan, env: EmitEnv): void {
  const code = expr.code;
  let skip = -1;
  if (p.graylist.length > 0) {
    const slot = plan.slotOf(p.key);
    const ids = (slot.mode & SLOT_MODE.INTERN) !== 0;
    code.u8(ids ? OP.GRAY_IDS : OP.GRAY_STRS);
    code.u8(slot.index);
    code.u32(ids ? env.data.ids(p.graylist.map((v) => env.intern.id(v))) : env.data.strings([...p.graylist], env.strings));
    skip = code.u32(0);
  }
  // A root-level && or || chain becomes one test per operand (docs/bytecode.md, "Chains").
  const root = p.condition;
  const chain = root.kind === "and" || root.kind === "or" ? flatten(root, root.kind) : [root];
  const and = root.kind !== "or";
  const skips: number[] = [];
  chain.forEach((operand, i) => {
    const last = i === chain.length - 1;
    const mode = last ? (and ? FUSED_MODE.MATCH : FUSED_MODE.OR_LAST) : and ? FUSED_MODE.AND : FUSED_MODE.OR;
    const fused = matchFused(operand);
    if (fused) {
      const at = expr.emitFused(fused, mode, p.binding);
      if (at >= 0) skips.push(at);
      return;
    }
    expr.emit(operand);
    expr.stack(1, 0);
    code.u8(
      mode === FUSED_MODE.MATCH ? OP.MATCH : mode === FUSED_MODE.AND ? OP.TEST_AND : mode === FUSED_MODE.OR ? OP.TEST_OR : OP.TEST_OR_LAST,
    );
    if (mode === FUSED_MODE.AND) skips.push(code.u32(0));
    else code.u16(p.binding);
  });
  for (const at of skips) code.patchU32(at, code.length);
  if (skip >= 0) code.patchU32(skip, code.length);
}

/**
 * Compiles `condition` as a one-policy route into throw-away tables: admission's check that it
 * fits the VM (stack depth, attribute count).
 * @throws ConditionError as emitRoute.
 */
export function checkRouteProgram(condition: IrNode): void {
  emitRoute([{ binding: 0, condition, key: { source: "query", name: "key" }, graylist: [], enabled: true }], {
    strings: (value) => ({ offset: 0, length: value.length }),
    data: new DataWriter(),
    intern: new InternTable(),
  });
}
