/**
 * Consumers (docs/edge-protection.md "Consumers"): their stored rows, their API representation
 * (never a secret or a key hash: key-auth shows only `{configured: true}`, jwt-auth its key,
 * algorithm, public JWKs, JWKS URL, issuer and audience) and the credential material admission
 * prepares from the API's input — the key-auth key hashed (SHA-256, hex), jwt-auth public keys
 * converted to JWKs and checked, a JWKS URL fetched — before the write transaction starts, so no
 * network wait happens under the configuration write lock.
 */
import { createHash } from "node:crypto";
import { eq } from "drizzle-orm";
import type { JsonWebKeyLike } from "../../wasm/plugins-section.ts";
import type { Queryable } from "../db/connect.ts";
import { consumerJwtCredentials, consumers } from "../db/schema.ts";
import { invalidField, unprocessable } from "./errors.ts";
import { checkHs256Secret, type FetchText, fetchJwks, importPublicKey, type JwtAlgorithm, JwtKeyError } from "./jwt-keys.ts";

export type ConsumerRow = typeof consumers.$inferSelect;
export type JwtCredentialRow = typeof consumerJwtCredentials.$inferSelect;

/** A consumer's jwt-auth credential as the API shows it (the HS256 secret is write-only). */
export interface JwtCredentialDto {
  key: string;
  algorithm: JwtAlgorithm;
  /** The public keys given at admission, as JWKs; null for HS256 or a JWKS URL alone. */
  publicKey: JsonWebKeyLike[] | null;
  jwksUrl: string | null;
  /** The keys last fetched from jwksUrl (public); [] when none. */
  jwks: JsonWebKeyLike[];
  /** When jwksUrl was last fetched with a change or at admission, ISO 8601; null when none. */
  jwksFetchedAt: string | null;
  issuer: string | null;
  audience: string | null;
}

export interface ConsumerDto {
  name: string;
  description: string;
  labels: Record<string, string>;
  credentials: {
    "key-auth"?: { configured: true };
    "jwt-auth"?: JwtCredentialDto;
  };
  createdAt: string;
  updatedAt: string;
}

/** The API representation of a consumer: no secret, no key hash. */
export function toConsumerDto(row: ConsumerRow, jwt: JwtCredentialRow | null): ConsumerDto {
  const credentials: ConsumerDto["credentials"] = {};
  if (row.keyAuthHash !== null) credentials["key-auth"] = { configured: true };
  if (jwt) {
    credentials["jwt-auth"] = {
      key: jwt.key,
      algorithm: jwt.algorithm as JwtAlgorithm,
      publicKey: jwt.publicKeys.length > 0 ? (jwt.publicKeys as unknown as JsonWebKeyLike[]) : null,
      jwksUrl: jwt.jwksUrl,
      jwks: jwt.jwks as unknown as JsonWebKeyLike[],
      jwksFetchedAt: jwt.jwksFetchedAt?.toISOString() ?? null,
      issuer: jwt.issuer,
      audience: jwt.audience,
    };
  }
  return {
    name: row.name,
    description: row.description,
    labels: row.labels,
    credentials,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** Lowercase hex SHA-256 of a key-auth key, as stored and as the gateway hashes presented keys. */
export function hashConsumerKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** The consumer named `name` and its jwt-auth credential, or null. */
export async function findConsumer(db: Queryable, name: string): Promise<{ row: ConsumerRow; jwt: JwtCredentialRow | null } | null> {
  const [found] = await db
    .select({ row: consumers, jwt: consumerJwtCredentials })
    .from(consumers)
    .leftJoin(consumerJwtCredentials, eq(consumerJwtCredentials.consumerId, consumers.id))
    .where(eq(consumers.name, name));
  return found ?? null;
}

/** jwt-auth as the API takes it (control/api/consumers.ts validates the shape). */
export interface JwtCredentialInput {
  key: string;
  algorithm: JwtAlgorithm;
  secret?: string;
  publicKey?: unknown;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
}

/** Credentials as the API takes them: a key-auth key absent means "keep the stored one" (PUT). */
export interface CredentialsInput {
  "key-auth"?: { key?: string; configured?: boolean };
  "jwt-auth"?: JwtCredentialInput;
}

/** What the write stores: key-auth hash (null: none) and the jwt-auth columns (null: none). */
export interface PreparedCredentials {
  keyAuthHash: string | null;
  jwt: Omit<JwtCredentialRow, "consumerId" | "createdAt" | "updatedAt"> | null;
}

const FIELD = "credentials.jwt-auth";

/**
 * Turns credential input into stored material: hashes the key-auth key, checks an HS256 secret,
 * imports public keys (jose) and fetches a JWKS URL. `current` is the stored consumer on PUT: a
 * key-auth entry without `key` keeps its hash, an HS256 credential without `secret` keeps its secret.
 * @throws ConfigError invalid (400) naming `credentials.key-auth.key`, `credentials.jwt-auth.secret`,
 *   `credentials.jwt-auth.publicKey` …; unprocessable (422) `jwks_unavailable` naming
 *   `credentials.jwt-auth.jwksUrl` when the JWKS cannot be fetched or has no usable key.
 */
export async function prepareCredentials(
  input: CredentialsInput,
  current: { row: ConsumerRow; jwt: JwtCredentialRow | null } | null,
  fetchBody?: FetchText,
): Promise<PreparedCredentials> {
  let keyAuthHash: string | null = null;
  const keyAuth = input["key-auth"];
  if (keyAuth) {
    if (keyAuth.key !== undefined) keyAuthHash = hashConsumerKey(keyAuth.key);
    else if (current?.row.keyAuthHash) keyAuthHash = current.row.keyAuthHash;
    else throw invalidField("credentials.key-auth.key", "required (the key is stored only as its hash and cannot be kept)");
  }
  const jwtInput = input["jwt-auth"];
  if (!jwtInput) return { keyAuthHash, jwt: null };
  const jwt: PreparedCredentials["jwt"] = {
    key: jwtInput.key,
    algorithm: jwtInput.algorithm,
    secret: null,
    publicKeys: [],
    jwksUrl: null,
    jwks: [],
    jwksFetchedAt: null,
    issuer: jwtInput.issuer ?? null,
    audience: jwtInput.audience ?? null,
  };
  if (jwtInput.algorithm === "HS256") {
    if (jwtInput.publicKey !== undefined) throw invalidField(`${FIELD}.publicKey`, "HS256 takes a secret, not a public key");
    if (jwtInput.jwksUrl !== undefined) throw invalidField(`${FIELD}.jwksUrl`, "HS256 takes a secret, not a JWKS URL");
    if (jwtInput.secret !== undefined) {
      try {
        checkHs256Secret(jwtInput.secret);
      } catch (error) {
        throw invalidField(`${FIELD}.secret`, (error as Error).message);
      }
      jwt.secret = jwtInput.secret;
    } else if (current?.jwt?.algorithm === "HS256" && current.jwt.secret !== null) {
      jwt.secret = current.jwt.secret;
    } else {
      throw invalidField(`${FIELD}.secret`, "required for HS256");
    }
    return { keyAuthHash, jwt };
  }
  if (jwtInput.secret !== undefined)
    throw invalidField(`${FIELD}.secret`, `${jwtInput.algorithm} takes a public key or a JWKS URL, not a secret`);
  if (jwtInput.publicKey === undefined && jwtInput.jwksUrl === undefined) {
    throw invalidField(`${FIELD}.publicKey`, `${jwtInput.algorithm} needs publicKey or jwksUrl`);
  }
  if (jwtInput.publicKey !== undefined) {
    try {
      jwt.publicKeys = (await importPublicKey(jwtInput.publicKey, jwtInput.algorithm)) as unknown as Record<string, unknown>[];
    } catch (error) {
      if (!(error instanceof JwtKeyError)) throw error;
      throw invalidField(`${FIELD}.publicKey`, error.message);
    }
  }
  if (jwtInput.jwksUrl !== undefined) {
    jwt.jwksUrl = jwtInput.jwksUrl;
    try {
      jwt.jwks = (await fetchJwks(jwtInput.jwksUrl, jwtInput.algorithm, fetchBody)) as unknown as Record<string, unknown>[];
    } catch (error) {
      if (!(error instanceof JwtKeyError)) throw error;
      throw unprocessable("jwks_unavailable", error.message, `${FIELD}.jwksUrl`);
    }
    jwt.jwksFetchedAt = new Date();
  }
  return { keyAuthHash, jwt };
}

/**
 * `prepared` with what the input leaves to the stored consumer (a key-auth entry without `key`,
 * an HS256 credential without `secret`) taken from `current` — the row as read inside the write
 * transaction, so a concurrent change is not undone.
 * @throws ConfigError invalid naming the field when there is nothing to keep any more.
 */
export function keepStoredSecrets(
  input: CredentialsInput,
  prepared: PreparedCredentials,
  current: { row: ConsumerRow; jwt: JwtCredentialRow | null },
): PreparedCredentials {
  let { keyAuthHash } = prepared;
  if (input["key-auth"] && input["key-auth"].key === undefined) {
    keyAuthHash = current.row.keyAuthHash;
    if (keyAuthHash === null) throw invalidField("credentials.key-auth.key", "required (the consumer has no key-auth key to keep)");
  }
  let { jwt } = prepared;
  if (jwt && jwt.algorithm === "HS256" && input["jwt-auth"]?.secret === undefined) {
    const secret = current.jwt?.algorithm === "HS256" ? current.jwt.secret : null;
    if (secret === null) throw invalidField(`${FIELD}.secret`, "required for HS256");
    jwt = { ...jwt, secret };
  }
  return { keyAuthHash, jwt };
}
