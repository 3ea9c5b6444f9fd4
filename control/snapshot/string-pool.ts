/** Deduplicating UTF-8 string pool for the STRINGS section, addressed by absolute file offsets. */
export class StringPool {
  private readonly encoder = new TextEncoder();
  private readonly index = new Map<string, { offset: number; length: number }>();
  private readonly chunks: Uint8Array[] = [];
  private size = 0;
  private readonly baseOffset: number;

  /** @param baseOffset absolute file offset where the STRINGS section will be written. */
  constructor(baseOffset: number) {
    this.baseOffset = baseOffset;
  }

  /** Absolute offset and byte length of `value`, adding it on first use. */
  intern(value: string): { offset: number; length: number } {
    let ref = this.index.get(value);
    if (!ref) {
      const bytes = this.encoder.encode(value);
      ref = { offset: this.baseOffset + this.size, length: bytes.length };
      this.chunks.push(bytes);
      this.size += bytes.length;
      this.index.set(value, ref);
    }
    return ref;
  }

  get byteLength(): number {
    return this.size;
  }

  /** The section's bytes. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
