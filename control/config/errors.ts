/**
 * Why a configuration write or lookup was refused: the domain's error vocabulary, free of HTTP.
 * control/api/errors.ts renders a ConfigError as the API's JSON error (not_found → 404,
 * conflict → 409, unprocessable → 422, invalid → 400; body `{error, message}` plus `referrers`, or
 * `reason` and `field`, or, for invalid, `fields` as a validation error's).
 */

/** Something that uses a resource and so blocks its deletion or change. */
export interface Referrer {
  resource: "route" | "policy" | "group" | "traffic_cut" | "function" | "service";
  /** Route id, policy name, group name, traffic cut id, function name or appkey. */
  id: string;
  /** Why it refers, e.g. `defaultGroup` or `policy "beta" targets group "green"`. */
  via: string;
}

/**
 * The kinds of refusal: `not_found` (an unknown appkey, name or id), `conflict` (a duplicate, or
 * a deletion blocked by referrers), `unprocessable` (well-formed input whose references do not
 * resolve), `invalid` (input that is wrong against stored state where the API promises a 400,
 * e.g. a function traffic target naming a version that does not exist).
 */
export type ConfigErrorCode = "not_found" | "conflict" | "unprocessable" | "invalid";

/** A refused lookup or configuration change; thrown inside runWrite, it rolls the write back. */
export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  /** `unprocessable` only: a stable code such as `group_not_found` or `too_many_instances`. */
  readonly reason?: string;
  /** `unprocessable` and `invalid`: the input field at fault, e.g. `policies[1]`. */
  readonly field?: string;
  /** `conflict` only, when a deletion is blocked: what still refers to the resource. */
  readonly referrers?: Referrer[];

  constructor(code: ConfigErrorCode, message: string, details: { reason?: string; field?: string; referrers?: Referrer[] } = {}) {
    super(message);
    this.name = "ConfigError";
    this.code = code;
    this.reason = details.reason;
    this.field = details.field;
    this.referrers = details.referrers;
  }
}

/** An unknown appkey, name or id. */
export function notFound(message: string): ConfigError {
  return new ConfigError("not_found", message);
}

/** A duplicate, or a deletion blocked by `referrers`. */
export function conflict(message: string, referrers?: Referrer[]): ConfigError {
  return new ConfigError("conflict", message, { referrers });
}

/**
 * Well-formed input whose references do not resolve. `reason` is a stable code
 * (`group_not_found`, `policy_not_found`, `private_policy_of_other_service`, …), `field` the input
 * field at fault, e.g. `policies[1]`.
 */
export function unprocessable(reason: string, message: string, field: string): ConfigError {
  return new ConfigError("unprocessable", message, { reason, field });
}

/** Input refused as a 400 naming `field` (e.g. `targets[1].version`), checked against stored state. */
export function invalidField(field: string, message: string): ConfigError {
  return new ConfigError("invalid", message, { field });
}
