/**
 * Agent token scoping: an agent token acts only on the services (appkeys) it was minted for;
 * the admin token acts on all. Handlers call requireScope() before touching a service.
 */
import type { Context } from "hono";
import { forbidden } from "./errors.ts";
import type { ApiEnv } from "./openapi.ts";

/** @throws ApiError 403 when the request's agent token does not cover `appkey`. */
export function requireScope(c: Context<ApiEnv>, appkey: string): void {
  if (c.var.role === "admin") return;
  if (c.var.role === "agent" && c.var.agent?.appkeys.has(appkey)) return;
  throw forbidden(`this token may not act on service "${appkey}"`);
}

/** True when the request may act on `appkey`. */
export function inScope(c: Context<ApiEnv>, appkey: string): boolean {
  return c.var.role === "admin" || (c.var.role === "agent" && (c.var.agent?.appkeys.has(appkey) ?? false));
}

/** The actor revisions record: `admin`, or `agent:<token name>`. */
export function actorOf(c: Context<ApiEnv>): string {
  return c.var.role === "agent" ? `agent:${c.var.agent?.name ?? "?"}` : c.var.role;
}
