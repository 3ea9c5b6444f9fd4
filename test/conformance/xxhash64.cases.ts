/**
 * xxHash64 conformance: the official sanity vectors (Cyan4973/xxHash cli/xsum_sanity_check.c,
 * over its generated sanity buffer) and well-known text vectors (python-xxhash docs). Every
 * length branch is covered: empty, 1–3 bytes, 4, 8+, the 32-byte stripe loop (39, 222 bytes).
 * An implementation runs them by providing `(bytes, seed) → u64`.
 */

export type XxHash64Adapter = (bytes: Uint8Array, seed: bigint) => bigint;

const PRIME32 = 2_654_435_761n;
const PRIME64 = 11_400_714_785_074_694_797n;
const MASK_64 = 0xffff_ffff_ffff_ffffn;

/** xsum's sanity buffer: byte i is the top byte of PRIME32 · PRIME64^i (mod 2^64). */
export function sanityBuffer(length: number): Uint8Array {
  const out = new Uint8Array(length);
  let gen = PRIME32;
  for (let i = 0; i < length; i++) {
    out[i] = Number(gen >> 56n);
    gen = (gen * PRIME64) & MASK_64;
  }
  return out;
}

export interface XxHash64Case {
  name: string;
  /** UTF-8 text, or the first `sanityLength` bytes of the sanity buffer. */
  input: { text: string } | { sanityLength: number };
  seed: bigint;
  want: bigint;
}

export const XXHASH64_CASES: XxHash64Case[] = [
  { name: "sanity 0 bytes", input: { sanityLength: 0 }, seed: 0n, want: 0xef46db3751d8e999n },
  { name: "sanity 0 bytes, seed PRIME32", input: { sanityLength: 0 }, seed: PRIME32, want: 0xac75fda2929b17efn },
  { name: "sanity 1 byte", input: { sanityLength: 1 }, seed: 0n, want: 0xe934a84adb052768n },
  { name: "sanity 1 byte, seed PRIME32", input: { sanityLength: 1 }, seed: PRIME32, want: 0x5014607643a9b4c3n },
  { name: "sanity 4 bytes", input: { sanityLength: 4 }, seed: 0n, want: 0x9136a0dca57457een },
  { name: "sanity 14 bytes", input: { sanityLength: 14 }, seed: 0n, want: 0x8282dcc4994e35c8n },
  { name: "sanity 14 bytes, seed PRIME32", input: { sanityLength: 14 }, seed: PRIME32, want: 0xc3bd6bf63deb6df0n },
  { name: "sanity 222 bytes", input: { sanityLength: 222 }, seed: 0n, want: 0xb641ae8cb691c174n },
  { name: "sanity 222 bytes, seed PRIME32", input: { sanityLength: 222 }, seed: PRIME32, want: 0x20cb8ab7ae10c14an },
  { name: '"a"', input: { text: "a" }, seed: 0n, want: 0xd24ec4f1a98c6e5bn },
  { name: '"abc"', input: { text: "abc" }, seed: 0n, want: 0x44bc2cf5ad770999n },
  // 39 bytes: one 32-byte stripe, then a 4-byte and three 1-byte tails.
  {
    name: '"Nobody inspects the spammish repetition"',
    input: { text: "Nobody inspects the spammish repetition" },
    seed: 0n,
    want: 0xfbcea83c8a378bf1n,
  },
];

export function caseBytes(c: XxHash64Case): Uint8Array {
  return "text" in c.input ? new TextEncoder().encode(c.input.text) : sanityBuffer(c.input.sanityLength);
}
