/**
 * A route's attribute slots: which request attributes its enabled policies read, in first-use
 * order, and what the host must write for each (docs/snapshot-format.md, ROUTE_SLOTS): the
 * bytes, an intern id (when every use is ==/in against string constants, or a graylist), a
 * host-parsed double (`double(attr)`), an int() (the host parses short decimals and writes the
 * bytes of anything else, which the VM parses), or only presence (`has()`).
 */
import { type AttributeRef, attributeKey, forEachChild, type IrNode } from "../../../wasm/cel/ir.ts";
import { MAX_ROUTE_SLOTS, SLOT_MODE } from "../opcodes.ts";
import { matchFused } from "./fused.ts";

export interface Slot {
  attr: AttributeRef;
  /** SLOT_MODE bits. */
  mode: number;
}

type Use = "intern" | "bytes" | "presence" | "double" | "int";

/** Accumulates uses of attributes across a route's policies, then assigns slots. */
export class SlotPlan {
  private readonly order: AttributeRef[] = [];
  private readonly uses = new Map<string, Set<Use>>();
  private final: Map<string, { index: number; mode: number }> | null = null;

  private use(attr: AttributeRef, use: Use): void {
    const k = attributeKey(attr);
    let set = this.uses.get(k);
    if (!set) {
      set = new Set();
      this.uses.set(k, set);
      this.order.push(attr);
    }
    set.add(use);
  }

  /** Records a graylist on `key`: compared to constants only. */
  useGraylist(key: AttributeRef): void {
    this.use(key, "intern");
  }

  /** Records every attribute use in `node`, as the emitter will compile it. */
  useCondition(node: IrNode): void {
    const fused = matchFused(node);
    if (fused) {
      if (!("attr" in fused)) return;
      const readsInt = fused.k === "intCmp" || fused.k === "intArithCmp" || fused.k === "intIn" || fused.k === "intArithIn";
      this.use(
        fused.attr,
        readsInt ? "int" : fused.k === "has" ? "presence" : fused.k === "eqStr" || fused.k === "inStrs" ? "intern" : "bytes",
      );
      return;
    }
    if (node.kind === "attr") {
      this.use(node.attr, "bytes");
      return;
    }
    if (node.kind === "has") {
      this.use(node.attr, "presence");
      return;
    }
    if (node.kind === "convert" && node.arg.kind === "attr") {
      this.use(node.arg.attr, node.type === "double" ? "double" : node.type === "int" ? "int" : "bytes");
      return;
    }
    forEachChild(node, (c) => this.useCondition(c));
  }

  /** Freezes the plan. @throws RangeError when the route reads more than MAX_ROUTE_SLOTS attributes. */
  slots(): Slot[] {
    if (this.order.length > MAX_ROUTE_SLOTS) throw new RangeError(`a route's policies read more than ${MAX_ROUTE_SLOTS} attributes`);
    this.final = new Map();
    return this.order.map((attr, index) => {
      const uses = this.uses.get(attributeKey(attr)) as Set<Use>;
      let mode = 0;
      if (uses.has("bytes")) mode |= SLOT_MODE.BYTES;
      else if (uses.has("intern")) mode |= SLOT_MODE.INTERN;
      if (uses.has("double")) mode |= SLOT_MODE.DOUBLE;
      if (uses.has("int")) mode |= SLOT_MODE.INT;
      this.final?.set(attributeKey(attr), { index, mode });
      return { attr, mode };
    });
  }

  /** Slot index and mode of `attr` (after slots()). */
  slotOf(attr: AttributeRef): { index: number; mode: number } {
    const s = this.final?.get(attributeKey(attr));
    if (!s) throw new Error(`attribute ${attr.source}:${attr.name} has no slot`);
    return s;
  }
}
