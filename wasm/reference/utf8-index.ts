/**
 * A string's UTF-8 bytes with the string index of each character's first byte, for matchers that
 * run over bytes but report string positions (pike.ts). Lone surrogates read as U+FFFD, as
 * search-dfa.ts and bucket.ts read them. Pure.
 */

/**
 * The UTF-8 bytes of `s` (lone surrogates as U+FFFD, as runDfa reads them) and, for each byte
 * offset that starts a character (and the end), the string index it came from.
 */
export function utf8WithIndex(s: string): { bytes: Uint8Array; index: Int32Array; length: number } {
  const bytes = new Uint8Array(s.length * 3 + 1);
  const index = new Int32Array(s.length * 3 + 2);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const at = i;
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = s.charCodeAt(i + 1);
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else c = 0xfffd;
    }
    index[n] = at;
    if (c < 0x80) bytes[n++] = c;
    else if (c < 0x800) {
      bytes[n++] = 0xc0 | (c >> 6);
      bytes[n++] = 0x80 | (c & 0x3f);
    } else if (c < 0x10000) {
      bytes[n++] = 0xe0 | (c >> 12);
      bytes[n++] = 0x80 | ((c >> 6) & 0x3f);
      bytes[n++] = 0x80 | (c & 0x3f);
    } else {
      bytes[n++] = 0xf0 | (c >> 18);
      bytes[n++] = 0x80 | ((c >> 12) & 0x3f);
      bytes[n++] = 0x80 | ((c >> 6) & 0x3f);
      bytes[n++] = 0x80 | (c & 0x3f);
    }
  }
  index[n] = s.length;
  return { bytes, index, length: n };
}
