/**
 * Emits condition bytecode (docs/bytecode.md) from checked IR. Pure: the caller supplies the
 * attribute slots and the string pool, because both are shared by every policy in a snapshot.
 */
import { ConditionError } from "./condition-error.ts";
import type { AttributeRef, IrNode } from "./ir.ts";
import { MAX_STACK_DEPTH, OP } from "./opcodes.ts";

/** What a program needs from the snapshot being written. */
export interface EmitContext {
  /** The ATTRIBUTES index (frame slot) of an attribute, assigning a new one on first use. */
  attributeSlot(attr: AttributeRef): number;
  /** Absolute file offset and byte length of an interned UTF-8 string. */
  internString(value: string): { offset: number; length: number };
}

const ARITH_OPS = { add: OP.ADD, sub: OP.SUB, mul: OP.MUL, div: OP.DIV, mod: OP.MOD } as const;
const COMPARE_OPS = { eq: OP.EQ, ne: OP.NE, lt: OP.LT, le: OP.LE, gt: OP.GT, ge: OP.GE } as const;
const STRING_OPS = { startsWith: OP.STARTS_WITH, endsWith: OP.ENDS_WITH, contains: OP.CONTAINS } as const;

/** Growable little-endian byte buffer with back-patching for forward jumps. */
class CodeBuffer {
  private bytes = new Uint8Array(64);
  private view = new DataView(this.bytes.buffer);
  length = 0;

  private reserve(n: number): number {
    if (this.length + n > this.bytes.length) {
      const next = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
      next.set(this.bytes);
      this.bytes = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  // reserve() may replace this.view, so it runs before the view is read.
  u8(v: number): void {
    const at = this.reserve(1);
    this.view.setUint8(at, v);
  }
  u16(v: number): void {
    const at = this.reserve(2);
    this.view.setUint16(at, v, true);
  }
  u32(v: number): number {
    const at = this.reserve(4);
    this.view.setUint32(at, v, true);
    return at;
  }
  i64(v: bigint): void {
    const at = this.reserve(8);
    this.view.setBigInt64(at, v, true);
  }
  patchU32(at: number, v: number): void {
    this.view.setUint32(at, v, true);
  }
  finish(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

/**
 * Compiles `root` (bool) to a program ending in RET.
 * @throws ConditionError when the program would need more than MAX_STACK_DEPTH stack slots.
 */
export function emitProgram(root: IrNode, ctx: EmitContext): Uint8Array {
  const code = new CodeBuffer();
  let depth = 0;
  let maxDepth = 0;
  const push = () => {
    depth += 1;
    maxDepth = Math.max(maxDepth, depth);
  };
  const pop = (n: number) => {
    depth -= n;
  };
  const attrOperand = (attr: AttributeRef) => {
    const slot = ctx.attributeSlot(attr);
    if (slot > 0xffff) throw new ConditionError("too many distinct request attributes in one snapshot", 0);
    code.u16(slot);
  };
  const str = (value: string) => {
    const s = ctx.internString(value);
    code.u32(s.offset);
    code.u32(s.length);
  };

  const emit = (n: IrNode): void => {
    switch (n.kind) {
      case "const":
        if (n.type === "bool") {
          code.u8(OP.PUSH_BOOL);
          code.u8(n.value ? 1 : 0);
        } else if (n.type === "int") {
          code.u8(OP.PUSH_INT);
          code.i64(n.value);
        } else {
          code.u8(OP.PUSH_STR);
          str(n.value);
        }
        push();
        return;
      case "attr":
        code.u8(OP.LOAD_ATTR);
        attrOperand(n.attr);
        push();
        return;
      case "has":
        code.u8(OP.HAS_ATTR);
        attrOperand(n.attr);
        push();
        return;
      case "request":
        code.u8(OP.LOAD_REQ);
        code.u8(n.field);
        push();
        return;
      case "toInt":
        emit(n.arg);
        code.u8(OP.INT);
        return;
      case "neg":
        emit(n.arg);
        code.u8(OP.NEG);
        return;
      case "not":
        emit(n.arg);
        code.u8(OP.NOT);
        return;
      case "size":
        emit(n.arg);
        code.u8(OP.SIZE);
        return;
      case "arith":
      case "compare":
      case "string": {
        const [a, b] = n.kind === "string" ? [n.receiver, n.arg] : [n.left, n.right];
        emit(a);
        emit(b);
        code.u8(n.kind === "arith" ? ARITH_OPS[n.op] : n.kind === "compare" ? COMPARE_OPS[n.op] : STRING_OPS[n.op]);
        pop(1);
        return;
      }
      case "and":
      case "or": {
        // a; JUMP_IF_x L; b; AND|OR; L:  — the short cut keeps `a` on the stack as the result.
        emit(n.left);
        code.u8(n.kind === "and" ? OP.JUMP_IF_FALSE : OP.JUMP_IF_TRUE);
        const target = code.u32(0);
        emit(n.right);
        code.u8(n.kind === "and" ? OP.AND : OP.OR);
        pop(1);
        code.patchU32(target, code.length);
        return;
      }
      case "select":
        emit(n.cond);
        emit(n.whenTrue);
        emit(n.whenFalse);
        code.u8(OP.SELECT);
        pop(2);
        return;
      case "inList": {
        emit(n.arg);
        const strings = n.arg.type === "string";
        code.u8(strings ? OP.IN_STRS : OP.IN_INTS);
        code.u32(n.values.length);
        for (const v of n.values) {
          if (strings) str(v as string);
          else code.i64(v as bigint);
        }
        return;
      }
    }
  };

  emit(root);
  code.u8(OP.RET);
  if (maxDepth > MAX_STACK_DEPTH) {
    throw new ConditionError(`condition is nested too deeply (needs ${maxDepth} stack slots, max ${MAX_STACK_DEPTH})`, 0);
  }
  return code.finish();
}
