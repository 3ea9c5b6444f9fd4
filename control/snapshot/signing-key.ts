/**
 * The snapshot signing key pair: Ed25519, from SLUICE_SIGNING_KEY (a PKCS#8 private key, base64)
 * or `<dataDir>/signing-key.json` (JWK, mode 0600), generated on first start. Gateways get only
 * the public key (raw 32 bytes, base64), so they can verify snapshots but never mint one.
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface SigningKey {
  privateKey: CryptoKey;
  /** Raw Ed25519 public key, base64: the gateway's SNAPSHOT_PUBLIC_KEY binding. */
  publicKeyBase64: string;
  /** Where the key came from, for the start-up log. */
  source: string;
}

/**
 * Loads or creates the signing key.
 * @param dataDir directory for the generated key file (created if missing); ignored when `envKey` is set.
 * @throws when SLUICE_SIGNING_KEY or the key file is not a valid Ed25519 private key.
 */
export async function loadSigningKey(dataDir: string, envKey?: string): Promise<SigningKey> {
  if (envKey) {
    const pkcs8 = Buffer.from(envKey, "base64");
    const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, "Ed25519", true, ["sign"]);
    return { privateKey, publicKeyBase64: await publicKeyOf(privateKey), source: "SLUICE_SIGNING_KEY" };
  }
  const path = join(dataDir, "signing-key.json");
  let jwk: JsonWebKey;
  try {
    jwk = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    const pair = (await crypto.subtle.generateKey("Ed25519", true, ["sign", "verify"])) as CryptoKeyPair;
    jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await writeFile(path, JSON.stringify(jwk), { mode: 0o600, flag: "wx" });
    await chmod(path, 0o600);
  }
  const privateKey = await crypto.subtle.importKey("jwk", jwk, "Ed25519", true, ["sign"]);
  return { privateKey, publicKeyBase64: await publicKeyOf(privateKey), source: path };
}

/** The raw public key of an extractable Ed25519 private key, base64. */
async function publicKeyOf(privateKey: CryptoKey): Promise<string> {
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  const publicJwk: JsonWebKey = { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
  const publicKey = await crypto.subtle.importKey("jwk", publicJwk, "Ed25519", true, ["verify"]);
  return Buffer.from(await crypto.subtle.exportKey("raw", publicKey)).toString("base64");
}
