/**
 * The consumers of one snapshot (wasm/plugins-section.ts ConsumerEntry, APISIX consumers) indexed
 * for the auth plugins: key-auth finds a consumer by the SHA-256 of the presented key, jwt-auth by
 * its credential's `key` and verifies with the consumer's key material, imported once per snapshot.
 * Built once per snapshot by the pipeline; a new snapshot builds a new directory, so nothing here
 * outlives the consumers it was built from (the presented-key hashes, which cannot go stale, are
 * the isolate's: key-hash-cache.ts).
 */
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import type { ConsumerEntry, JwtCredential } from "../../../wasm/plugins-section.ts";
import { ISOLATE_KEY_HASHES, type KeyHashCache } from "./key-hash-cache.ts";
import { VerifiedTokens } from "./verified-tokens.ts";

/**
 * What jose's jwtVerify checks a consumer's tokens with: the HS256 secret's bytes, or the
 * consumer's JWK set (RS256/ES256), which picks the key by the token's `kid` (and kty/alg) and
 * imports each key once.
 */
export type JwtVerificationKey = { kind: "secret"; secret: Uint8Array } | { kind: "jwks"; keys: JWTVerifyGetKey };

export class ConsumerDirectory {
  /** All consumers of the snapshot, in section order. */
  readonly consumers: readonly ConsumerEntry[];
  private readonly byKeyHash = new Map<string, ConsumerEntry>();
  private readonly byJwtKey = new Map<string, ConsumerEntry>();
  private readonly jwtKeys = new Map<ConsumerEntry, JwtVerificationKey | null>();
  private readonly hashes: KeyHashCache;
  /** JWTs verified in this snapshot (verified-tokens.ts), shared by its jwt-auth plugins. */
  readonly verifiedTokens = new VerifiedTokens();

  /**
   * @param consumers the snapshot's PLUGINS consumers. Control refuses duplicate keys (409); if
   *   two entries still share one, the first wins.
   * @param hashes the presented-key hash cache (default: the isolate's).
   */
  constructor(consumers: readonly ConsumerEntry[], hashes: KeyHashCache = ISOLATE_KEY_HASHES) {
    this.consumers = consumers;
    this.hashes = hashes;
    for (const consumer of consumers) {
      const keyHash = consumer.keyHash?.toLowerCase();
      if (keyHash && !this.byKeyHash.has(keyHash)) this.byKeyHash.set(keyHash, consumer);
      if (consumer.jwt && !this.byJwtKey.has(consumer.jwt.key)) this.byJwtKey.set(consumer.jwt.key, consumer);
    }
  }

  /**
   * The consumer whose key-auth key is `presented`, or null when none is. Synchronous when the
   * key was hashed before in this isolate (the steady state); a promise on its first use.
   */
  findByApiKey(presented: string): ConsumerEntry | null | Promise<ConsumerEntry | null> {
    const known = this.hashes.get(presented);
    if (known !== undefined) return this.byKeyHash.get(known) ?? null;
    return this.hashes.hash(presented).then((hex) => this.byKeyHash.get(hex) ?? null);
  }

  /** The consumer whose jwt-auth credential's `key` is `key` (the token's key claim), or undefined. */
  findByJwtKey(key: string): ConsumerEntry | undefined {
    return this.byJwtKey.get(key);
  }

  /**
   * The key material `consumer`'s tokens are verified with, built on first use and kept for the
   * snapshot's life; null when the credential has none for its algorithm (control does not write
   * such a credential; the token is then refused).
   */
  verificationKey(consumer: ConsumerEntry): JwtVerificationKey | null {
    let key = this.jwtKeys.get(consumer);
    if (key === undefined) {
      key = consumer.jwt ? buildVerificationKey(consumer.jwt) : null;
      this.jwtKeys.set(consumer, key);
    }
    return key;
  }
}

/** A credential's verification key: HS256 → the UTF-8 secret (APISIX `secret`), else its JWKs. */
function buildVerificationKey(credential: JwtCredential): JwtVerificationKey | null {
  if (credential.algorithm === "HS256") {
    return credential.secret ? { kind: "secret", secret: new TextEncoder().encode(credential.secret) } : null;
  }
  if (credential.jwks.length === 0) return null;
  const set = createLocalJWKSet({ keys: credential.jwks } as JSONWebKeySet);
  if (credential.jwks.some((jwk) => jwk.kid !== undefined)) return { kind: "jwks", keys: set };
  // Keys without `kid` (a PEM converted by control): a token's `kid` cannot name one, so it is
  // not used to choose (jose would otherwise find no key for any token that carries one).
  return { kind: "jwks", keys: (header, token) => set({ ...header, kid: undefined }, token) };
}
