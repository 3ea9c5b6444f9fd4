/**
 * The limits' answers: the IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers, its
 * structured-field form: `RateLimit-Policy: "limit-count";q=100;w=60`, `RateLimit:
 * "limit-count";r=42;t=17`) and the rejection body (docs/edge-protection.md "Rate limit fields").
 */
import { pluginResponse } from "../context.ts";

/** `"<plugin>";q=<quota>;w=<window seconds>`. */
export function policyField(plugin: string, quota: number, windowSeconds: number): string {
  return `"${plugin}";q=${quota};w=${windowSeconds}`;
}

/** `"<plugin>";r=<remaining>;t=<seconds until the quota resets, rounded up>`. */
export function rateLimitField(plugin: string, remaining: number, resetMs: number): string {
  return `"${plugin}";r=${remaining};t=${Math.ceil(resetMs / 1000)}`;
}

/** Retry-After, whole seconds (at least 1) for a wait of `ms`. */
export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

/** `status` with `{"error":"rate_limited","message":…,"plugin":…}` and `headers`. */
export function rateLimited(status: number, message: string, plugin: string, headers: Record<string, string>): Response {
  return pluginResponse(status, "rate_limited", message, headers, { plugin });
}

/** 503 `{"error":"rate_limit_unavailable",…}`: a cluster limit could not reach its store and does not fail open. */
export function storeUnavailable(plugin: string): Response {
  return pluginResponse(503, "rate_limit_unavailable", "the rate limit store is unavailable", { "retry-after": "1" }, { plugin });
}

/** Resolves after `ms` (limit-req's and limit-conn's delays). */
export function sleep(ms: number): Promise<null> {
  return new Promise((resolve) => setTimeout(() => resolve(null), ms));
}
