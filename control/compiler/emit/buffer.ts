/** A growable little-endian byte buffer with forward labels, for programs and data objects. */
export class ByteBuffer {
  private bytes = new Uint8Array(256);
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
  // reserve() may replace this.view, so it runs before the view is used.
  u8(v: number): void {
    const at = this.reserve(1);
    this.view.setUint8(at, v);
  }
  u16(v: number): void {
    const at = this.reserve(2);
    this.view.setUint16(at, v, true);
  }
  /** @returns the position written, for patching. */
  u32(v: number): number {
    const at = this.reserve(4);
    this.view.setUint32(at, v, true);
    return at;
  }
  i64(v: bigint): void {
    const at = this.reserve(8);
    this.view.setBigInt64(at, BigInt.asIntN(64, v), true);
  }
  f64(v: number): void {
    const at = this.reserve(8);
    this.view.setFloat64(at, v, true);
  }
  raw(b: Uint8Array): void {
    const at = this.reserve(b.length);
    this.bytes.set(b, at);
  }
  /** Pads with zeros to a multiple of `n`. */
  align(n: number): void {
    while (this.length % n !== 0) this.u8(0);
  }
  patchU32(at: number, v: number): void {
    this.view.setUint32(at, v, true);
  }
  finish(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}
