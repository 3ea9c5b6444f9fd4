/**
 * Why jose refused a token, as the 401 message jwt-auth answers with: says which check failed
 * (signature, algorithm, exp, nbf, iss, aud, key) so a client can tell an expired token from a
 * forged one, and never echoes the token, a claim value or key material. APISIX answers "failed
 * to verify jwt" for all of them and logs the reason; Sluice puts the reason after that prefix.
 */
import { errors } from "jose";

/** The prefix of every verification failure (APISIX's message). */
export const JWT_VERIFY_FAILED = "failed to verify jwt";

/** The 401 message for an error thrown by jose's jwtVerify (anything else: the bare prefix). */
export function jwtFailureMessage(error: unknown): string {
  if (error instanceof errors.JWTExpired) return `${JWT_VERIFY_FAILED}: token expired (exp)`;
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case "nbf":
        return error.reason === "check_failed"
          ? `${JWT_VERIFY_FAILED}: token not yet valid (nbf)`
          : `${JWT_VERIFY_FAILED}: invalid nbf claim`;
      case "iss":
        return `${JWT_VERIFY_FAILED}: issuer mismatch (iss)`;
      case "aud":
        return `${JWT_VERIFY_FAILED}: audience mismatch (aud)`;
      case "exp":
        return `${JWT_VERIFY_FAILED}: invalid exp claim`;
      default:
        return `${JWT_VERIFY_FAILED}: invalid ${error.claim} claim`;
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return `${JWT_VERIFY_FAILED}: signature mismatch`;
  if (error instanceof errors.JOSEAlgNotAllowed) return `${JWT_VERIFY_FAILED}: algorithm mismatch`;
  if (error instanceof errors.JWKSNoMatchingKey) return `${JWT_VERIFY_FAILED}: no key of the consumer matches the token (kid)`;
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return "JWT token invalid";
  return JWT_VERIFY_FAILED;
}
