/**
 * Sluice's `bucket(x, n)`: a stable hash of x modulo n, for sticky percentage splits
 * (`bucket(key, 10000) < 50` is the same 0.5 % of keys in control, in every isolate and after
 * every restart). The hash is MurmurHash3_x86_32 (Austin Appleby, public domain; reference
 * smhasher/src/MurmurHash3.cpp) with seed 0 over the UTF-8 bytes of x — of its decimal form when
 * x is an int or uint — and the result is `hash mod n` with the hash read as an unsigned 32-bit
 * integer, so it lies in [0, n). n ≤ 0 is an error. wasm/assembly/murmur.ts is the VM's copy;
 * docs/conditions.md specifies it with test vectors.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/**
 * MurmurHash3_x86_32 of the UTF-8 encoding of `s` (a well-formed string; a lone surrogate is
 * hashed as U+FFFD, as TextEncoder encodes it), seed 0.
 * @returns an unsigned 32-bit integer. Example: murmur3Utf8("hello") === 0x248bfa47.
 */
export function murmur3Utf8(s: string): number {
  // UTF-8 by hand, not TextEncoder: the reference evaluator hashes per request, and encode()
  // allocating a Uint8Array cost 900 ns per short string in Node 24 against 70 ns for this.
  let h = 0;
  let word = 0; // bytes of the current 4-byte block, little-endian
  let filled = 0; // bytes in `word`
  let length = 0;
  const push = (b: number) => {
    word |= b << (filled * 8);
    if (++filled === 4) {
      let k = Math.imul(word, C1);
      k = (k << 15) | (k >>> 17);
      h ^= Math.imul(k, C2);
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
      word = 0;
      filled = 0;
    }
    length++;
  };
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      push(c);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else c = 0xfffd;
    }
    if (c < 0x800) {
      push(0xc0 | (c >> 6));
    } else if (c < 0x10000) {
      push(0xe0 | (c >> 12));
      push(0x80 | ((c >> 6) & 0x3f));
    } else {
      push(0xf0 | (c >> 18));
      push(0x80 | ((c >> 12) & 0x3f));
      push(0x80 | ((c >> 6) & 0x3f));
    }
    push(0x80 | (c & 0x3f));
  }
  if (filled > 0) {
    let k = Math.imul(word, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
  }
  return fmix32(h ^ length);
}

/** MurmurHash3's 32-bit finalizer (fmix32); also the hash of an intern id in IDS sets and switch tables (emit/data.ts). */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * `bucket(s, n)`: murmur3Utf8(s) mod n, or undefined (a CEL error) when n ≤ 0.
 * @param n an int: a number, or a bigint beyond 2^53 (then the result is the hash itself).
 */
export function bucketOf(s: string, n: number | bigint): number | undefined {
  if (n <= 0) return undefined;
  const h = murmur3Utf8(s);
  return typeof n === "bigint" ? h : h % n;
}
