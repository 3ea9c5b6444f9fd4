/**
 * Verifies a snapshot file before the hot path sees it: length, signature algorithm, Ed25519
 * signature over [0, totalLength), and the SHA-256 content hash of [64, totalLength).
 * docs/snapshot-format.md. Structure and version are then checked by the WASM loader.
 */
const HEADER_BYTES = 64;
const VERSION_AT = 8;
const TOTAL_LENGTH_AT = 16;
const BUILT_AT_MS_AT = 56;
const CONTENT_HASH_AT = 24;
const TRAILER_BYTES = 68;
const ED25519 = 1;
const SIGNATURE_BYTES = 64;

/** Imports the raw base64 Ed25519 public key once. @throws when it is not 32 bytes of base64. */
export async function importPublicKey(base64: string): Promise<CryptoKey> {
  const raw = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  if (raw.length !== 32) throw new Error(`SNAPSHOT_PUBLIC_KEY must be 32 bytes, got ${raw.length}`);
  return crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
}

/** @returns `null` when `file` is authentic, else the reason it is refused. */
export async function verifySnapshot(file: Uint8Array<ArrayBuffer>, publicKey: CryptoKey): Promise<string | null> {
  if (file.length < HEADER_BYTES + TRAILER_BYTES) return `truncated: ${file.length} bytes`;
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const totalLength = view.getUint32(TOTAL_LENGTH_AT, true);
  if (totalLength + TRAILER_BYTES !== file.length) {
    return `length mismatch: header says ${totalLength + TRAILER_BYTES} bytes, got ${file.length}`;
  }
  if (view.getUint16(totalLength, true) !== ED25519 || view.getUint16(totalLength + 2, true) !== SIGNATURE_BYTES) {
    return "unsupported signature algorithm";
  }
  const signature = file.subarray(totalLength + 4, totalLength + 4 + SIGNATURE_BYTES);
  const signed = file.subarray(0, totalLength);
  if (!(await crypto.subtle.verify({ name: "Ed25519" }, publicKey, signature, signed))) return "bad signature";
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", file.subarray(HEADER_BYTES, totalLength)));
  const expected = file.subarray(CONTENT_HASH_AT, CONTENT_HASH_AT + 32);
  return hash.every((b, i) => b === expected[i]) ? null : "content hash mismatch";
}

/** Header fields the gateway reports; call only on a verified file. */
export function readSnapshotHeader(file: Uint8Array<ArrayBuffer>): { version: bigint; builtAtMs: number } {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  return { version: view.getBigUint64(VERSION_AT, true), builtAtMs: Number(view.getBigUint64(BUILT_AT_MS_AT, true)) };
}
