/**
 * The DATA section's objects (docs/bytecode.md, "Data objects"): hashed sets for `in` lists and
 * graylists, switch tables, regex DFAs and CIDR prefixes, each 8-byte aligned and addressed by
 * its offset from the start of DATA; identical objects are stored once. Also the snapshot's
 * intern table (INTERN): string constants compared only by ==/in, numbered from 1.
 */

import type { Cidr } from "../../../wasm/cel/cidr.ts";
import type { IrConst } from "../../../wasm/cel/ir.ts";
import { fmix32, murmur3Utf8 } from "../../../wasm/reference/bucket.ts";
import { DATA_KIND } from "../opcodes.ts";
import type { Dfa } from "../regex/dfa.ts";
import { ByteBuffer } from "./buffer.ts";

/** A strref: absolute file offset and byte length of UTF-8 in STRINGS. */
export interface StrRef {
  offset: number;
  length: number;
}

/** MurmurHash3's 64-bit finalizer (fmix64) over the two's complement bits: the hash of INTS/UINTS entries. */
export function fmix64(v: bigint): bigint {
  const M = 0xffffffffffffffffn;
  let h = BigInt.asUintN(64, v);
  h ^= h >> 33n;
  h = (h * 0xff51afd7ed558ccdn) & M;
  h ^= h >> 33n;
  h = (h * 0xc4ceb9fe1a85ec53n) & M;
  h ^= h >> 33n;
  return h;
}

/** The smallest power of two ≥ 2 × count (≥ 1): open addressing keeps probes short and always finds an empty slot. */
const capacityFor = (count: number) => {
  let c = 1;
  while (c < count * 2 || c <= count) c *= 2;
  return c;
};

export class DataWriter {
  private readonly buffer = new ByteBuffer();
  private readonly seen = new Map<string, number>();

  /** Appends `object` (deduplicated by `key`) and returns its DATA offset. */
  private add(key: string, write: (b: ByteBuffer) => void): number {
    const known = this.seen.get(key);
    if (known !== undefined) return known;
    this.buffer.align(8);
    const at = this.buffer.length;
    write(this.buffer);
    this.seen.set(key, at);
    return at;
  }

  /** An IDS set of intern ids (open addressing, slot = fmix32(id) & (capacity − 1), 0 = empty). */
  ids(ids: number[]): number {
    const unique = [...new Set(ids)];
    return this.add(`ids:${unique.join(",")}`, (b) => {
      const cap = capacityFor(unique.length);
      const table = new Uint32Array(cap);
      for (const id of unique) {
        let s = fmix32(id) & (cap - 1);
        while (table[s] !== 0) s = (s + 1) & (cap - 1);
        table[s] = id;
      }
      header(b, DATA_KIND.IDS, unique.length, cap);
      for (const v of table) b.u32(v);
    });
  }

  /** A switch table: intern id → route-local binding (first binding of the run whose test holds). */
  switchTable(entries: Map<number, number>): number {
    const list = [...entries];
    return this.add(`switch:${list.join(";")}`, (b) => {
      const cap = capacityFor(list.length);
      const table = new Uint32Array(cap * 2);
      for (const [id, binding] of list) {
        let s = fmix32(id) & (cap - 1);
        while (table[2 * s] !== 0) s = (s + 1) & (cap - 1);
        table[2 * s] = id;
        table[2 * s + 1] = binding;
      }
      header(b, DATA_KIND.SWITCH, list.length, cap);
      for (const v of table) b.u32(v);
    });
  }

  /** A STRS set: entries {u32 murmur3 hash, strref}; empty entries have length 0xFFFFFFFF. */
  strings(values: string[], intern: (s: string) => StrRef): number {
    const unique = [...new Set(values)];
    return this.add(`strs:${JSON.stringify(unique)}`, (b) => {
      const cap = capacityFor(unique.length);
      const table: ({ hash: number; ref: StrRef } | null)[] = new Array(cap).fill(null);
      for (const v of unique) {
        const hash = murmur3Utf8(v);
        let s = hash & (cap - 1);
        while (table[s] !== null) s = (s + 1) & (cap - 1);
        table[s] = { hash, ref: intern(v) };
      }
      header(b, DATA_KIND.STRS, unique.length, cap);
      for (const e of table) {
        b.u32(e ? e.hash : 0);
        b.u32(e ? e.ref.offset : 0);
        b.u32(e ? e.ref.length : 0xffffffff);
      }
    });
  }

  /** A set for `in` over int, uint, double or bool constants (strings use strings()). */
  scalars(type: "int" | "uint" | "double" | "bool", values: IrConst[]): number {
    if (type === "double") {
      const list = values.map((v) => v.value as number);
      return this.add(`dbl:${list.map((d) => (Object.is(d, -0) ? "-0" : String(d))).join(",")}`, (b) => {
        header(b, DATA_KIND.DOUBLES, list.length, list.length);
        for (const d of list) b.f64(d);
      });
    }
    if (type === "bool") {
      const mask = values.reduce((m, v) => m | (v.value ? 2 : 1), 0);
      return this.add(`bool:${mask}`, (b) => {
        header(b, DATA_KIND.BOOLS, mask, 0); // count = bit 0 false, bit 1 true
      });
    }
    const unique = [...new Set(values.map((v) => BigInt.asUintN(64, v.value as bigint)))];
    return this.add(`${type}:${unique.join(",")}`, (b) => {
      const cap = capacityFor(unique.length);
      const table: (bigint | null)[] = new Array(cap).fill(null);
      for (const v of unique) {
        let s = Number(fmix64(v) & BigInt(cap - 1));
        while (table[s] !== null) s = (s + 1) & (cap - 1);
        table[s] = v;
      }
      header(b, type === "int" ? DATA_KIND.INTS : DATA_KIND.UINTS, unique.length, cap);
      for (const v of table) {
        b.u32(v === null ? 0 : 1);
        b.u32(0);
        b.i64(v ?? 0n);
      }
    });
  }

  /** A DFA: u32 kind, u16 states, u16 classes, u8[256] class map, u8[states] flags (padded to 2), u16[states × classes] next. */
  dfa(pattern: string, dfa: Dfa): number {
    return this.add(`dfa:${pattern}`, (b) => {
      b.u32(DATA_KIND.DFA);
      b.u16(dfa.stateCount);
      b.u16(dfa.classCount);
      b.raw(dfa.classMap);
      b.raw(dfa.flags);
      b.align(2);
      for (const n of dfa.next) b.u16(n);
    });
  }

  /** A prefix: u32 kind, u8 family (4/6), u8 prefix length, u16 0, u8[16] bytes. */
  cidr(cidr: Cidr): number {
    return this.add(`cidr:${cidr.family}/${cidr.prefix}/${cidr.bytes.join(".")}`, (b) => {
      b.u32(DATA_KIND.CIDR);
      b.u8(cidr.family);
      b.u8(cidr.prefix);
      b.u16(0);
      b.raw(cidr.bytes);
    });
  }

  get byteLength(): number {
    return this.buffer.length;
  }

  bytes(): Uint8Array {
    return this.buffer.finish();
  }
}

/** Object header: u32 kind, u32 count, u32 capacity (power of two; entries for linear kinds), u32 0. */
function header(b: ByteBuffer, kind: number, count: number, capacity: number): void {
  b.u32(kind);
  b.u32(count);
  b.u32(capacity);
  b.u32(0);
}

/** Intern ids for string constants compared only by ==/in: id = index in INTERN + 1 (0: not a constant). */
export class InternTable {
  private readonly ids = new Map<string, number>();
  readonly strings: string[] = [];

  id(value: string): number {
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.strings.push(value);
      this.ids.set(value, id);
    }
    return id;
  }
}
