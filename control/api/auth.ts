/**
 * Bearer-token authentication for the control API.
 *
 * Three tokens, no defaults (APISIX CVE-2020-13945 was a default admin key):
 * - admin: full read/write on /v1, and GET /metrics;
 * - gateway: GET /v1/snapshot, POST /v1/gateway/metrics (its metrics push) and POST
 *   /v1/gateway/activations only;
 * - metrics: GET /metrics and GET /v1/metrics/history only (a scraper's or console's credential:
 *   docs/metrics.md).
 * Each comes from its environment variable, else from a file in the data directory, else is
 * generated (32 random bytes, base64url) into that file with mode 0600.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Context } from "hono";

/** The bearer tokens the API accepts. */
export interface ApiTokens {
  adminToken: string;
  gatewayToken: string;
  /** Without it only the admin token reads GET /metrics. */
  metricsToken?: string;
}

/** Where a token came from; `path` is set for `file` and `generated`. */
export interface TokenOrigin {
  from: "env" | "file" | "generated";
  path: string | null;
}

/** Tokens plus their origins, so the caller can print where a generated token was written. */
export interface ResolvedTokens extends ApiTokens {
  metricsToken: string;
  admin: TokenOrigin;
  gateway: TokenOrigin;
  metrics: TokenOrigin;
}

/** Shortest token accepted from the environment or a file (a generated one has 43 chars). */
export const MIN_TOKEN_LENGTH = 16;

const TOKEN_SPECS = {
  admin: { env: "SLUICE_ADMIN_TOKEN", file: "admin-token" },
  gateway: { env: "SLUICE_GATEWAY_TOKEN", file: "gateway-token" },
  metrics: { env: "SLUICE_METRICS_TOKEN", file: "metrics-token" },
} as const;

/**
 * Resolves the admin, gateway and metrics tokens: `SLUICE_ADMIN_TOKEN` / `SLUICE_GATEWAY_TOKEN` /
 * `SLUICE_METRICS_TOKEN` from `env`, else `<dataDir>/admin-token` / `<dataDir>/gateway-token` /
 * `<dataDir>/metrics-token` (trimmed), else a new random token written there (mode 0600,
 * directory created with 0700).
 *
 * @example
 *   const t = resolveTokens({ dataDir: ".sluice", env: process.env });
 *   if (t.admin.from === "generated") console.log(`admin token written to ${t.admin.path}`);
 * @throws Error when a configured token is shorter than MIN_TOKEN_LENGTH, when two tokens are
 *   equal (the gateway or the scraper would hold admin rights), or on file-system errors.
 */
export function resolveTokens(options: { dataDir: string; env: Record<string, string | undefined> }): ResolvedTokens {
  const admin = resolveToken(options.dataDir, options.env, "admin");
  const gateway = resolveToken(options.dataDir, options.env, "gateway");
  const metrics = resolveToken(options.dataDir, options.env, "metrics");
  if (admin.token === gateway.token) {
    throw new Error("the admin and gateway tokens must differ");
  }
  if (metrics.token === admin.token || metrics.token === gateway.token) {
    throw new Error("the metrics token must differ from the admin and gateway tokens");
  }
  return {
    adminToken: admin.token,
    gatewayToken: gateway.token,
    metricsToken: metrics.token,
    admin: admin.origin,
    gateway: gateway.origin,
    metrics: metrics.origin,
  };
}

function resolveToken(
  dataDir: string,
  env: Record<string, string | undefined>,
  role: keyof typeof TOKEN_SPECS,
): { token: string; origin: TokenOrigin } {
  const spec = TOKEN_SPECS[role];
  const fromEnv = env[spec.env];
  // An empty variable counts as unset: it must never mean "no token".
  if (fromEnv) return { token: checkToken(fromEnv, spec.env), origin: { from: "env", path: null } };
  const path = join(dataDir, spec.file);
  let stored: string | undefined;
  try {
    stored = readFileSync(path, "utf8").trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  if (stored !== undefined) return { token: checkToken(stored, path), origin: { from: "file", path } };
  const token = randomBytes(32).toString("base64url");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // `wx`: never overwrite or follow a file created meanwhile.
  writeFileSync(path, `${token}\n`, { mode: 0o600, flag: "wx" });
  return { token, origin: { from: "generated", path } };
}

function checkToken(token: string, source: string): string {
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new Error(`${source}: token shorter than ${MIN_TOKEN_LENGTH} characters`);
  }
  return token;
}

/**
 * Which token a request presented: the configured tokens (createTokenChecker), or an agent
 * token minted by an admin (control/config/agent-token-store.ts).
 */
export type Role = "admin" | "gateway" | "metrics" | "agent";

/** Path of control's metrics exposition (not under /v1: the Prometheus convention). */
export const METRICS_PATH = "/metrics";

/** Path of the gateway metrics push (worker/telemetry/wire.ts METRICS_PUSH_PATH). */
export const GATEWAY_METRICS_PATH = "/v1/gateway/metrics";

/** A function version's code for a gateway in Worker Loader mode (control/api/function-code.ts). */
export const FUNCTION_CODE_PATH = /^\/v1\/gateway\/functions\/[^/]+\/[^/]+\/versions\/[0-9]+\/code$/;

/** Path of a gateway's function activation request (control/api/function-activations.ts). */
export const GATEWAY_ACTIVATIONS_PATH = "/v1/gateway/activations";

/** Prefix of the function agents' endpoints (control/api/function-agents.ts). */
export const FUNCTION_AGENTS_PREFIX = "/v1/agents/functions/";

/** Path of the gateway request history (control/api/gateway-metrics.ts). */
export const METRICS_HISTORY_PATH = "/v1/metrics/history";

/** The config center's delivery endpoints (control/api/config-delivery.ts), open to agent tokens. */
export const CONFIG_DELIVERY_PATHS: ReadonlySet<string> = new Set(["/v1/config/fetch", "/v1/config/watch"]);

/**
 * What each role may call (fail closed: anything not listed needs admin).
 * - admin: everything (under /v1, and /metrics);
 * - gateway: GET/HEAD /v1/snapshot and a function version's code (Worker Loader mode), POST /v1/gateway/metrics and
 *   /v1/gateway/activations;
 * - metrics: GET/HEAD /metrics and /v1/metrics/history;
 * - agent: /v1/registry/* and /v1/agents/functions/* (each handler checks the token's appkeys),
 *   GET /v1/propagation, and GET /v1/config/fetch and /v1/config/watch (the config center's
 *   delivery, docs/config-center.md; scoped to the token's appkeys too).
 */
export function isAllowed(role: Role, method: string, path: string): boolean {
  if (role === "admin") return true;
  const read = method === "GET" || method === "HEAD";
  if (role === "gateway") {
    return (
      (read && (path === "/v1/snapshot" || FUNCTION_CODE_PATH.test(path))) ||
      (method === "POST" && (path === GATEWAY_METRICS_PATH || path === GATEWAY_ACTIVATIONS_PATH))
    );
  }
  if (role === "metrics") return read && (path === METRICS_PATH || path === METRICS_HISTORY_PATH);
  return (
    path.startsWith("/v1/registry/") ||
    path.startsWith(FUNCTION_AGENTS_PREFIX) ||
    (read && (path === "/v1/propagation" || CONFIG_DELIVERY_PATHS.has(path)))
  );
}

/**
 * Builds a checker that maps an `Authorization` header value to the role it grants, or null.
 * Both sides are hashed with SHA-256 first so `timingSafeEqual` compares equal lengths and the
 * time taken reveals nothing about the token.
 */
export function createTokenChecker(tokens: ApiTokens): (authorization: string | undefined) => "admin" | "gateway" | "metrics" | null {
  const adminDigest = sha256(tokens.adminToken);
  const gatewayDigest = sha256(tokens.gatewayToken);
  // Without a metrics token, compare against a digest no token hashes to in practice (random), so
  // the work per request stays the same.
  const metricsDigest = tokens.metricsToken === undefined ? randomBytes(32) : sha256(tokens.metricsToken);
  return (authorization) => {
    const token = bearerToken(authorization);
    if (token === null) return null;
    const presented = sha256(token);
    // Compare against every one so the time does not say which one matched.
    const isAdmin = timingSafeEqual(presented, adminDigest);
    const isGateway = timingSafeEqual(presented, gatewayDigest);
    const isMetrics = timingSafeEqual(presented, metricsDigest);
    if (isAdmin) return "admin";
    if (isGateway) return "gateway";
    if (isMetrics) return "metrics";
    return null;
  };
}

/** The bearer token of an `Authorization` header value, or null. */
export function bearerToken(authorization: string | undefined): string | null {
  return /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? "")?.[1] ?? null;
}

/** The 401 every missing or wrong token gets. */
export function unauthorized(c: Context, message: string): Response {
  c.header("WWW-Authenticate", 'Bearer realm="sluice"');
  return c.json({ error: "unauthorized", message }, 401);
}

function sha256(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}
