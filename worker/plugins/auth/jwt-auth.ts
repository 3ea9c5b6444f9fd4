/**
 * APISIX jwt-auth (apisix/plugins/jwt-auth.lua): the token is read from header `header`
 * (`Bearer ` optional), else query parameter `query`, else cookie `cookie`; its `keyClaim` claim
 * names the consumer's jwt-auth credential, and the token must be signed with that consumer's
 * algorithm and key (no `alg` confusion: the header's `alg` must be the credential's algorithm,
 * and jose is given only that one). `exp` and `nbf` are checked when present, with
 * `clockSkewSeconds` of tolerance, against the request's time; `iss` / `aud` when the credential
 * sets them. RS256/ES256 keys come from the consumer's JWK set, chosen by the token's `kid`.
 *
 * 401 `{"error":"unauthorized","message":…}` with APISIX's messages ("Missing JWT token in
 * request", "JWT token invalid", "missing user key in JWT token", "Invalid user key in JWT
 * token") and, for verification, "failed to verify jwt: <which check>" (jwt-failure.ts), with
 * `WWW-Authenticate: Bearer realm="jwt"`. `anonymous`: a request without a token goes on
 * without a consumer. hideCredentials removes the token's header, parameter or cookie upstream.
 */
import { decodeJwt, decodeProtectedHeader, errors, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions, jwtVerify } from "jose";
import type { JwtAuthPlugin } from "../../../wasm/plugins-section.ts";
import { Source } from "../../../wasm/snapshot-info.ts";
import { type AccessPlugin, type PluginContext, pluginResponse } from "../context.ts";
import type { ConsumerDirectory } from "./consumer-directory.ts";
import { JWT_VERIFY_FAILED, jwtFailureMessage } from "./jwt-failure.ts";
import { cookieRemover, forwardConsumerName, headerRemover, hideQueryParameter, upstreamEdit } from "./upstream-credentials.ts";

/** APISIX's 401 messages before verification. */
export const JWT_MISSING = "Missing JWT token in request";
export const JWT_INVALID = "JWT token invalid";
export const JWT_NO_KEY_CLAIM = "missing user key in JWT token";
export const JWT_UNKNOWN_KEY = "Invalid user key in JWT token";

const CHALLENGE = { "www-authenticate": 'Bearer realm="jwt"' };

type TokenSource = "header" | "query" | "cookie";

/** The request's token and where it came from, or undefined when it carries none. */
export function readJwtToken(c: PluginContext, config: JwtAuthPlugin): { token: string; from: TokenSource } | undefined {
  const header = c.request.headers.get(config.header);
  if (header !== null) {
    const prefix = header.slice(0, 7);
    return { token: prefix === "Bearer " || prefix === "bearer " ? header.slice(7) : header, from: "header" };
  }
  const query = c.attributes.attribute(Source.QUERY, config.query);
  if (query !== undefined) return { token: query, from: "query" };
  const cookie = c.attributes.attribute(Source.COOKIE, config.cookie);
  if (cookie !== undefined) return { token: cookie, from: "cookie" };
  return undefined;
}

/** jwtVerify with one key: null when the token is good, else jose's error. */
async function verifyWith(token: string, key: Uint8Array | CryptoKey, options: JWTVerifyOptions): Promise<unknown> {
  try {
    await jwtVerify(token, key, options);
    return null;
  } catch (error) {
    return error;
  }
}

/**
 * jwtVerify with a consumer's JWK set: the key the token's `kid` names; a token without `kid`
 * is tried with each of the consumer's keys of its algorithm (jose's JWKSMultipleMatchingKeys),
 * and the answer is that of the first key whose signature holds (a signature mismatch if none).
 */
async function verifyWithJwks(token: string, keys: JWTVerifyGetKey, options: JWTVerifyOptions): Promise<unknown> {
  try {
    await jwtVerify(token, keys, options);
    return null;
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) return error;
    let last: unknown = error;
    for await (const candidate of error) {
      last = await verifyWith(token, candidate, options);
      if (!(last instanceof errors.JWSSignatureVerificationFailed)) return last;
    }
    return last;
  }
}

/**
 * Builds a route's jwt-auth from its PLUGINS entry and the snapshot's consumers. `access` sets
 * `c.consumer` and registers X-Consumer-Username; it is async (signature verification) except
 * for a token already verified in this snapshot (verified-tokens.ts), answered synchronously.
 */
export function createJwtAuth(config: JwtAuthPlugin, consumers: ConsumerDirectory): AccessPlugin {
  const removeHeader = headerRemover(config.header.toLowerCase());
  const removeCookie = cookieRemover(config.cookie);
  const deny = (message: string) => pluginResponse(401, "unauthorized", message, CHALLENGE);

  /** Decodes, finds the consumer and verifies: null when `token` is good (c.consumer set), else the 401. */
  const verify = async (c: PluginContext, token: string): Promise<Response | null> => {
    let alg: string | undefined;
    let claims: JWTPayload;
    try {
      alg = decodeProtectedHeader(token).alg;
      claims = decodeJwt(token);
    } catch {
      return deny(JWT_INVALID);
    }
    const keyValue = claims[config.keyClaim];
    if (typeof keyValue !== "string" || keyValue === "") return deny(JWT_NO_KEY_CLAIM);
    const consumer = consumers.findByJwtKey(keyValue);
    const credential = consumer?.jwt;
    if (!consumer || !credential) return deny(JWT_UNKNOWN_KEY);
    if (alg !== credential.algorithm) return deny(`${JWT_VERIFY_FAILED}: algorithm mismatch, expected ${credential.algorithm}`);
    const key = consumers.verificationKey(consumer);
    if (!key) return deny(JWT_VERIFY_FAILED);

    const options: JWTVerifyOptions = {
      algorithms: [credential.algorithm],
      clockTolerance: config.clockSkewSeconds,
      currentDate: new Date(c.nowMs),
    };
    if (credential.issuer !== null) options.issuer = credential.issuer;
    if (credential.audience !== null) options.audience = credential.audience;
    const failure = key.kind === "secret" ? await verifyWith(token, key.secret, options) : await verifyWithJwks(token, key.keys, options);
    if (failure !== null) return deny(jwtFailureMessage(failure));
    consumers.verifiedTokens.remember(config.keyClaim, token, consumer, claims.exp, claims.nbf);
    c.consumer = consumer;
    return null;
  };

  return {
    access(c) {
      forwardConsumerName(c);
      const found = readJwtToken(c, config);
      if (!found) return config.anonymous ? null : deny(JWT_MISSING);
      if (config.hideCredentials) {
        if (found.from === "header") upstreamEdit(c).headers.push(removeHeader);
        else if (found.from === "query") hideQueryParameter(c, config.query);
        else upstreamEdit(c).headers.push(removeCookie);
      }
      // A token that verified before in this snapshot, still within exp/nbf: synchronous.
      const known = consumers.verifiedTokens.get(config.keyClaim, found.token, c.nowMs, config.clockSkewSeconds);
      if (known) {
        c.consumer = known;
        return null;
      }
      return verify(c, found.token);
    },
  };
}
