/**
 * Emits one condition as stack code (docs/bytecode.md): fused instructions for
 * attribute-vs-constant tests, `&&`/`||` as short-circuit jumps that keep CEL's error
 * absorption exact, `?:` as a three-way branch. Tracks the stack depth the VM will need.
 */

import type { AttributeRef, CompareOp, IrNode } from "../../../wasm/cel/ir.ts";
import { ConditionError } from "../condition-error.ts";
import {
  ARITH_CODE,
  CMP,
  FUSED_MODE,
  type FusedMode,
  fusedOpcode,
  MAX_STACK_DEPTH,
  OP,
  REQ_FIELD,
  SLOT_MODE,
  TO_STRING_BYTES,
} from "../opcodes.ts";
import type { ByteBuffer } from "./buffer.ts";
import type { DataWriter, InternTable, StrRef } from "./data.ts";
import { type Fused, matchFused } from "./fused.ts";
import type { SlotPlan } from "./slots.ts";

/** What emission needs from the snapshot being written. */
export interface EmitEnv {
  /** Interns a string in STRINGS. */
  strings(value: string): StrRef;
  data: DataWriter;
  intern: InternTable;
}

/** Scratch bytes TO_STRING may use per decision (wasm/assembly/frame.ts SCRATCH_BYTES). */
export const SCRATCH_BYTES = 65536;

const ARITH = { add: OP.ADD, sub: OP.SUB, mul: OP.MUL, div: OP.DIV, mod: OP.MOD } as const;
const COMPARE = { eq: OP.EQ, ne: OP.NE, lt: OP.LT, le: OP.LE, gt: OP.GT, ge: OP.GE } as const;
const STRING = { startsWith: OP.STARTS, endsWith: OP.ENDS, contains: OP.CONTAINS } as const;
const F_STRING = { startsWith: OP.F_STARTS, endsWith: OP.F_ENDS, contains: OP.F_CONTAINS } as const;
const CONVERT = { int: OP.TO_INT, uint: OP.TO_UINT, double: OP.TO_DOUBLE, string: OP.TO_STRING } as const;

/** Whether evaluating `n` can produce an error (absent attribute, failed conversion, overflow…). */
export function canError(n: IrNode): boolean {
  switch (n.kind) {
    case "const":
    case "has":
    case "request":
      return false;
    case "convert":
      if (n.arg.type === n.type || ((n.arg.type === "int" || n.arg.type === "uint") && (n.type === "double" || n.type === "string"))) {
        return canError(n.arg);
      }
      return n.arg.type === "bool" && n.type === "string" ? canError(n.arg) : true;
    case "arith":
      return n.type !== "double" || canError(n.left) || canError(n.right);
    case "neg":
      return n.type !== "double" || canError(n.arg);
    case "compare":
    case "and":
    case "or":
      return canError(n.left) || canError(n.right);
    case "not":
    case "inList":
    case "size":
    case "matches":
      return canError(n.arg);
    case "string":
      return canError(n.receiver) || canError(n.arg);
    case "select":
      return canError(n.cond) || canError(n.whenTrue) || canError(n.whenFalse);
    case "bucket":
      return canError(n.arg) || !(n.n.kind === "const" && (n.n.value as bigint) > 0n);
    default:
      return true; // attr, error, cidr
  }
}

export class ExprEmitter {
  private depth = 0;
  maxDepth = 0;
  toStrings = 0;
  /** Request fields the code reads (LOAD_REQ, F_REQ_*): the route's ROUTE_FLAG_READS_* bits. */
  readsFields = 0;
  readonly code: ByteBuffer;
  private readonly plan: SlotPlan;
  private readonly env: EmitEnv;

  constructor(code: ByteBuffer, plan: SlotPlan, env: EmitEnv) {
    this.code = code;
    this.plan = plan;
    this.env = env;
  }

  /** Accounts for an instruction that pops `pop` values and pushes `push`. */
  stack(pop: number, push: number): void {
    this.depth -= pop;
    this.depth += push;
    if (this.depth > this.maxDepth) this.maxDepth = this.depth;
    if (this.maxDepth > MAX_STACK_DEPTH) {
      throw new ConditionError(`condition is nested too deeply (needs more than ${MAX_STACK_DEPTH} stack slots)`, 0);
    }
  }

  private slot(attr: AttributeRef): number {
    const s = this.plan.slotOf(attr).index;
    this.code.u8(s);
    return s;
  }
  private str(value: string): void {
    const ref = this.env.strings(value);
    this.code.u32(ref.offset);
    this.code.u32(ref.length);
  }

  /**
   * Emits fused test `f` in `mode` (opcodes.ts FUSED_MODE). `tail` is the mode's trailing
   * operand: the route-local binding (MATCH, OR, OR_LAST), or nothing for PUSH and AND (whose
   * u32 skip target the caller writes and patches; returned: its position).
   */
  emitFused(f: Fused, mode: FusedMode = FUSED_MODE.PUSH, binding = 0): number {
    const c = this.code;
    const op = (base: number) => c.u8(fusedOpcode(base, mode));
    const intern = (attr: AttributeRef) => (this.plan.slotOf(attr).mode & SLOT_MODE.INTERN) !== 0;
    switch (f.k) {
      case "eqStr":
        if (intern(f.attr)) {
          op(f.negate ? OP.F_NE_ID : OP.F_EQ_ID);
          this.slot(f.attr);
          c.u32(this.env.intern.id(f.value));
        } else {
          op(f.negate ? OP.F_NE_STR : OP.F_EQ_STR);
          this.slot(f.attr);
          this.str(f.value);
        }
        break;
      case "inStrs":
        if (intern(f.attr)) {
          op(OP.F_IN_IDS);
          this.slot(f.attr);
          c.u32(this.env.data.ids(f.values.map((v) => this.env.intern.id(v))));
        } else {
          op(OP.F_IN_STRS);
          this.slot(f.attr);
          c.u32(this.env.data.strings(f.values, this.env.strings));
        }
        break;
      case "strOp":
        op(F_STRING[f.op]);
        this.slot(f.attr);
        this.str(f.value);
        break;
      case "intCmp":
        op(OP.F_INT_CMP);
        this.slot(f.attr);
        c.u8(CMP[f.cmp]);
        c.i64(f.c);
        break;
      case "intArithCmp":
        op(OP.F_INT_ARITH_CMP);
        this.slot(f.attr);
        c.u8(ARITH_CODE[f.op]);
        c.i64(f.m);
        c.u8(CMP[f.cmp]);
        c.i64(f.c);
        break;
      case "intIn":
      case "intArithIn":
        op(f.k === "intIn" ? OP.F_INT_IN : OP.F_INT_ARITH_IN);
        this.slot(f.attr);
        if (f.k === "intArithIn") {
          c.u8(ARITH_CODE[f.op]);
          c.i64(f.m);
        }
        c.u32(
          this.env.data.scalars(
            "int",
            f.values.map((value) => ({ type: "int", value })),
          ),
        );
        break;
      case "bucketCmp":
        op(OP.F_BUCKET_CMP);
        this.slot(f.attr);
        c.u8(CMP[f.cmp as CompareOp]);
        c.i64(f.n);
        c.i64(f.c);
        break;
      case "cidr":
        op(OP.F_CIDR);
        this.slot(f.attr);
        c.u32(this.env.data.cidr(f.cidr));
        break;
      case "matches":
        op(OP.F_MATCHES);
        this.slot(f.attr);
        c.u32(this.env.data.dfa(f.pattern, f.dfa));
        break;
      case "has":
        op(OP.F_HAS);
        this.slot(f.attr);
        break;
      case "reqEq":
      case "reqStarts":
        op(f.k === "reqStarts" ? OP.F_REQ_STARTS : f.negate ? OP.F_REQ_NE : OP.F_REQ_EQ);
        c.u8(REQ_FIELD[f.field]);
        this.readsFields |= 2 << REQ_FIELD[f.field];
        this.str(f.value);
        break;
    }
    if (mode === FUSED_MODE.PUSH) {
      this.stack(0, 1);
      return -1;
    }
    if (mode === FUSED_MODE.AND) return c.u32(0);
    c.u16(binding);
    return -1;
  }

  /** Emits `n`, leaving its value on the stack. */
  emit(n: IrNode): void {
    const c = this.code;
    const fused = matchFused(n);
    if (fused) {
      this.emitFused(fused, FUSED_MODE.PUSH);
      return;
    }
    switch (n.kind) {
      case "const":
        switch (n.type) {
          case "bool":
            c.u8(n.value ? OP.PUSH_TRUE : OP.PUSH_FALSE);
            break;
          case "int":
            c.u8(OP.PUSH_INT);
            c.i64(n.value);
            break;
          case "uint":
            c.u8(OP.PUSH_UINT);
            c.i64(n.value);
            break;
          case "double":
            c.u8(OP.PUSH_DOUBLE);
            c.f64(n.value);
            break;
          case "string":
            c.u8(OP.PUSH_STR);
            this.str(n.value);
            break;
        }
        this.stack(0, 1);
        return;
      case "error":
        c.u8(OP.PUSH_ERROR);
        this.stack(0, 1);
        return;
      case "attr":
        c.u8(OP.LOAD);
        this.slot(n.attr);
        this.stack(0, 1);
        return;
      case "has":
        c.u8(OP.HAS);
        this.slot(n.attr);
        this.stack(0, 1);
        return;
      case "request":
        c.u8(OP.LOAD_REQ);
        c.u8(REQ_FIELD[n.field]);
        this.readsFields |= 2 << REQ_FIELD[n.field];
        this.stack(0, 1);
        return;
      case "convert":
        if (n.arg.kind === "attr" && n.type !== "string") {
          c.u8(n.type === "int" ? OP.LOAD_INT : n.type === "uint" ? OP.LOAD_UINT : OP.LOAD_DOUBLE);
          this.slot(n.arg.attr);
          this.stack(0, 1);
          return;
        }
        this.emit(n.arg);
        if (n.type === "string") {
          this.toStrings += 1;
          if (this.toStrings * TO_STRING_BYTES > SCRATCH_BYTES) throw new ConditionError("too many string() conversions in one route", 0);
        }
        c.u8(CONVERT[n.type as keyof typeof CONVERT]);
        return;
      case "arith":
      case "compare":
        this.emit(n.left);
        this.emit(n.right);
        c.u8(n.kind === "arith" ? ARITH[n.op] : COMPARE[n.op]);
        this.stack(2, 1);
        return;
      case "string":
        this.emit(n.receiver);
        this.emit(n.arg);
        c.u8(STRING[n.op]);
        this.stack(2, 1);
        return;
      case "bucket":
        this.emit(n.arg);
        this.emit(n.n);
        c.u8(OP.BUCKET);
        this.stack(2, 1);
        return;
      case "neg":
      case "not":
      case "size":
        this.emit(n.arg);
        c.u8(n.kind === "neg" ? OP.NEG : n.kind === "not" ? OP.NOT : OP.SIZE);
        return;
      case "inList":
        this.emit(n.arg);
        c.u8(OP.IN);
        c.u32(
          n.arg.type === "string"
            ? this.env.data.strings(
                n.values.map((v) => v.value as string),
                this.env.strings,
              )
            : this.env.data.scalars(n.arg.type as "int", n.values),
        );
        return;
      case "matches":
        this.emit(n.arg);
        c.u8(OP.MATCHES);
        c.u32(this.env.data.dfa(n.pattern, n.dfa));
        return;
      case "cidr":
        this.emit(n.arg);
        c.u8(OP.CIDR);
        c.u32(this.env.data.cidr(n.cidr));
        return;
      case "and":
      case "or": {
        // a; JFP/JF L; b; [AND]; L: — when `a` cannot error its true (false for ||) is simply
        // dropped; otherwise AND/OR combine so `error && false` is false, as CEL requires.
        const and = n.kind === "and";
        this.emit(n.left);
        const exact = canError(n.left);
        c.u8(exact ? (and ? OP.JF : OP.JT) : and ? OP.JFP : OP.JTP);
        const patch = c.u32(0);
        if (!exact) this.stack(1, 0);
        this.emit(n.right);
        if (exact) {
          c.u8(and ? OP.AND : OP.OR);
          this.stack(2, 1);
        }
        c.patchU32(patch, c.length);
        return;
      }
      case "select": {
        // c; BR3 Lfalse Lerror; a; JUMP end; Lfalse: b; JUMP end; Lerror: PUSH_ERROR; end:
        this.emit(n.cond);
        c.u8(OP.BR3);
        const toFalse = c.u32(0);
        const toError = c.u32(0);
        this.stack(1, 0);
        this.emit(n.whenTrue);
        c.u8(OP.JUMP);
        const end1 = c.u32(0);
        this.stack(1, 0);
        c.patchU32(toFalse, c.length);
        this.emit(n.whenFalse);
        c.u8(OP.JUMP);
        const end2 = c.u32(0);
        this.stack(1, 0);
        c.patchU32(toError, c.length);
        c.u8(OP.PUSH_ERROR);
        this.stack(0, 1);
        c.patchU32(end1, c.length);
        c.patchU32(end2, c.length);
        return;
      }
      case "concat":
        // Only limit key expressions concatenate (wasm/cel/ir.ts); the checker refuses it in conditions.
        throw new ConditionError("string concatenation is not supported in conditions", 0);
    }
  }
}
