/**
 * jwt-auth key material at admission (docs/edge-protection.md "Consumers"), through `jose`:
 * a public key given as PEM (SPKI) or JWK(s) becomes public JWKs checked against the credential's
 * algorithm (RS256: RSA of at least 2048 bits, as RFC 7518 §3.3 requires; ES256: EC P-256), an
 * HS256 secret must be at least 32 bytes (RFC 7518 §3.2: a key as long as the hash output), and a
 * JWKS URL is fetched and its usable keys kept. Private members are never kept: only the public
 * fields of each key are stored and published.
 */
import { exportJWK, importJWK, importSPKI, type JWK } from "jose";
import type { JsonWebKeyLike } from "../../wasm/plugins-section.ts";

/** The algorithms of a consumer's jwt-auth credential. */
export type JwtAlgorithm = "HS256" | "RS256" | "ES256";

/** Fewest bytes (UTF-8) of an HS256 secret: 256 bits, RFC 7518 §3.2. */
export const MIN_HS256_SECRET_BYTES = 32;
/** Fewest bits of an RS256 modulus (RFC 7518 §3.3). */
export const MIN_RSA_MODULUS_BITS = 2048;
/** Most keys kept from one public key input or JWKS. */
export const MAX_JWKS_KEYS = 16;
/** Longest wait for a JWKS URL, ms (connect and body). */
export const JWKS_FETCH_TIMEOUT_MS = 5000;
/** Largest JWKS document accepted, bytes. */
export const MAX_JWKS_BYTES = 256 * 1024;

/** Key material that is not a key of the algorithm, or a JWKS that cannot be had; `message` says why. */
export class JwtKeyError extends Error {
  override name = "JwtKeyError";
}

/** The public members of `jwk` for its kty (kid and alg kept), so no private member is ever stored. */
function publicPart(jwk: JWK): JsonWebKeyLike {
  const out: JsonWebKeyLike = { kty: jwk.kty as string };
  if (jwk.kty === "RSA") Object.assign(out, { n: jwk.n, e: jwk.e });
  else if (jwk.kty === "EC") Object.assign(out, { crv: jwk.crv, x: jwk.x, y: jwk.y });
  if (typeof jwk.kid === "string") out.kid = jwk.kid;
  if (typeof jwk.alg === "string") out.alg = jwk.alg;
  return out;
}

/** Checks that `key` (an imported public key) fits `algorithm`. @throws JwtKeyError */
function checkKeyFits(key: CryptoKey, algorithm: "RS256" | "ES256"): void {
  if (key.type !== "public") throw new JwtKeyError("not a public key");
  if (algorithm === "RS256") {
    const bits = (key.algorithm as RsaHashedKeyAlgorithm).modulusLength;
    if (bits < MIN_RSA_MODULUS_BITS) throw new JwtKeyError(`an RSA key of ${bits} bits; RS256 needs at least ${MIN_RSA_MODULUS_BITS}`);
  } else if ((key.algorithm as EcKeyAlgorithm).namedCurve !== "P-256") {
    throw new JwtKeyError("ES256 needs an EC key on curve P-256");
  }
}

/** One JWK as a public JWK of `algorithm`. @throws JwtKeyError */
async function importOneJwk(jwk: unknown, algorithm: "RS256" | "ES256"): Promise<JsonWebKeyLike> {
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) throw new JwtKeyError("a JWK must be a JSON object");
  const given = jwk as JWK;
  if ("d" in given) throw new JwtKeyError("a private key; give the public key only");
  if (given.alg !== undefined && given.alg !== algorithm) throw new JwtKeyError(`a key for ${given.alg}, not ${algorithm}`);
  let key: CryptoKey | Uint8Array;
  try {
    key = await importJWK(given, algorithm, { extractable: true });
  } catch (error) {
    throw new JwtKeyError(`not a ${algorithm} public key: ${(error as Error).message}`);
  }
  if (key instanceof Uint8Array) throw new JwtKeyError(`not a ${algorithm} public key (a symmetric key)`);
  checkKeyFits(key, algorithm);
  return publicPart({ ...(await exportJWK(key)), kid: given.kid, alg: given.alg });
}

/**
 * A public key as given at admission — PEM (SPKI, `-----BEGIN PUBLIC KEY-----`), one JWK, or a
 * list of JWKs — as public JWKs of `algorithm`.
 * @throws JwtKeyError when it is not a public key of the algorithm (a random string, a private
 *   key, an RSA key for ES256, an RSA key under 2048 bits, too many keys).
 */
export async function importPublicKey(input: unknown, algorithm: "RS256" | "ES256"): Promise<JsonWebKeyLike[]> {
  if (typeof input === "string") {
    let key: CryptoKey;
    try {
      key = await importSPKI(input, algorithm, { extractable: true });
    } catch (error) {
      throw new JwtKeyError(`not a PEM (SPKI) public key for ${algorithm}: ${(error as Error).message}`);
    }
    checkKeyFits(key, algorithm);
    return [publicPart(await exportJWK(key))];
  }
  const list = Array.isArray(input) ? input : [input];
  if (list.length === 0 || list.length > MAX_JWKS_KEYS) throw new JwtKeyError(`give 1–${MAX_JWKS_KEYS} keys`);
  return Promise.all(list.map((jwk) => importOneJwk(jwk, algorithm)));
}

/** Checks an HS256 secret's length. @throws JwtKeyError when it is shorter than MIN_HS256_SECRET_BYTES. */
export function checkHs256Secret(secret: string): void {
  const bytes = new TextEncoder().encode(secret).length;
  if (bytes < MIN_HS256_SECRET_BYTES)
    throw new JwtKeyError(`${bytes} bytes; HS256 needs a secret of at least ${MIN_HS256_SECRET_BYTES} bytes`);
}

/** Fetches a URL's body as text; tests and the refresher may substitute it. */
export type FetchText = (url: string, signal: AbortSignal) => Promise<string>;

const fetchText: FetchText = async (url, signal) => {
  const response = await fetch(url, { signal, redirect: "follow", headers: { accept: "application/json" } });
  if (!response.ok) throw new JwtKeyError(`HTTP ${response.status}`);
  const body = await response.text();
  if (body.length > MAX_JWKS_BYTES) throw new JwtKeyError(`larger than ${MAX_JWKS_BYTES} bytes`);
  return body;
};

/**
 * Fetches the JWKS at `url` (RFC 7517 §5, `{"keys": [...]}`) and keeps the public keys usable
 * for `algorithm` (matching kty and curve, `use` absent or `sig`, `alg` absent or the algorithm),
 * at most MAX_JWKS_KEYS, as public JWKs.
 * @throws JwtKeyError when it cannot be fetched within JWKS_FETCH_TIMEOUT_MS, is not a JWKS, or
 *   has no usable key.
 */
export async function fetchJwks(url: string, algorithm: "RS256" | "ES256", fetchBody: FetchText = fetchText): Promise<JsonWebKeyLike[]> {
  let text: string;
  try {
    text = await fetchBody(url, AbortSignal.timeout(JWKS_FETCH_TIMEOUT_MS));
  } catch (error) {
    throw new JwtKeyError(`could not fetch ${url}: ${(error as Error).message}`);
  }
  let keys: unknown;
  try {
    keys = (JSON.parse(text) as { keys?: unknown }).keys;
  } catch {
    throw new JwtKeyError(`${url} is not JSON`);
  }
  if (!Array.isArray(keys)) throw new JwtKeyError(`${url} is not a JWKS (no "keys" list)`);
  const usable: JsonWebKeyLike[] = [];
  for (const candidate of keys) {
    const jwk = candidate as JWK;
    if (usable.length >= MAX_JWKS_KEYS) break;
    if (typeof jwk !== "object" || jwk === null) continue;
    if ((jwk.use !== undefined && jwk.use !== "sig") || (jwk.alg !== undefined && jwk.alg !== algorithm)) continue;
    try {
      // A JWKS may carry private members by mistake; only the public part is imported and kept.
      const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicMembers } = jwk;
      usable.push(await importOneJwk(publicMembers, algorithm));
    } catch {
      // Keys of other types or algorithms are skipped, as a verifier would.
    }
  }
  if (usable.length === 0) throw new JwtKeyError(`${url} has no ${algorithm} signing key`);
  return usable;
}
