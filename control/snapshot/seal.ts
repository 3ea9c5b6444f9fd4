/**
 * Seals a written snapshot: fills the header's content hash (SHA-256 of bytes [64, totalLength))
 * and the Ed25519 signature trailer over [0, totalLength), via WebCrypto so the same code runs in
 * Node and in Workers. docs/snapshot-format.md, "Signature trailer".
 */
import { HEADER, HEADER_BYTES, SIGNATURE_BYTES, SIGNATURE_ED25519 } from "./layout.ts";

/**
 * Hashes and signs `file` in place and returns it.
 * @param file output of writeSnapshot (zero hash, zero trailer).
 * @param privateKey Ed25519 private CryptoKey with usage "sign".
 * @returns the file and its content hash as lowercase hex.
 */
export async function sealSnapshot(
  file: Uint8Array<ArrayBuffer>,
  privateKey: CryptoKey,
): Promise<{ file: Uint8Array<ArrayBuffer>; contentHash: string }> {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const totalLength = view.getUint32(HEADER.totalLength, true);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", file.subarray(HEADER_BYTES, totalLength)));
  file.set(hash, HEADER.contentHash);
  const signature = new Uint8Array(await crypto.subtle.sign("Ed25519", privateKey, file.subarray(0, totalLength)));
  if (signature.length !== SIGNATURE_BYTES) throw new Error(`unexpected Ed25519 signature length ${signature.length}`);
  view.setUint16(totalLength, SIGNATURE_ED25519, true);
  view.setUint16(totalLength + 2, SIGNATURE_BYTES, true);
  file.set(signature, totalLength + 4);
  return { file, contentHash: Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("") };
}
