/** Little-endian record writing for the snapshot writer's sections. */

/** One section's records: `count` records of `recordBytes` each, zero-filled. */
export class Records {
  readonly view: DataView;
  readonly bytes: Uint8Array;
  constructor(count: number, recordBytes: number) {
    this.bytes = new Uint8Array(count * recordBytes);
    this.view = new DataView(this.bytes.buffer);
  }
  u8(at: number, v: number) {
    this.view.setUint8(at, v);
  }
  u16(at: number, v: number) {
    this.view.setUint16(at, v, true);
  }
  u32(at: number, v: number) {
    this.view.setUint32(at, v, true);
  }
  str(at: number, ref: { offset: number; length: number }) {
    this.u32(at, ref.offset);
    this.u32(at + 4, ref.length);
  }
}

/** The parts one after another. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** u32 values, explicitly little-endian whatever the platform's byte order. */
export function u32Bytes(values: ArrayLike<number>): Uint8Array {
  const r = new Records(values.length, 4);
  for (let i = 0; i < values.length; i++) r.u32(i * 4, values[i] as number);
  return r.bytes;
}

/** Strrefs as 8-byte records. */
export function strrefBytes(refs: { offset: number; length: number }[]): Uint8Array {
  const r = new Records(refs.length, 8);
  refs.forEach((ref, i) => {
    r.str(i * 8, ref);
  });
  return r.bytes;
}

export const align8 = (n: number) => (n + 7) & ~7;
