/**
 * Helpers for declaring routes with @hono/zod-openapi: the app's environment type, JSON
 * request/response blocks and the standard error responses, so each resource module states only
 * what is particular to it.
 */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { AgentPrincipal } from "../config/agent-token-store.ts";
import type { Role } from "./auth.ts";
import { ErrorBodySchema, validationHook } from "./errors.ts";

/**
 * Hono environment of the API: the role the auth middleware granted, and for agent tokens the
 * principal (its name and appkeys).
 */
export interface ApiEnv {
  Variables: { role: Role; agent: AgentPrincipal | null };
}

/** The app type every resource module registers its routes on. */
export type ApiApp = OpenAPIHono<ApiEnv>;

/** A new OpenAPIHono whose validation failures answer with our 400 shape. */
export function createApiApp(): ApiApp {
  return new OpenAPIHono<ApiEnv>({ defaultHook: validationHook });
}

/** `{content: {"application/json": {schema}}, description}` */
export function json<T extends z.ZodType>(schema: T, description: string) {
  return { content: { "application/json": { schema } }, description };
}

/** A required JSON request body. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { body: { content: { "application/json": { schema } }, required: true } };
}

const ERROR_DESCRIPTIONS = {
  400: "Invalid input; `fields` names each invalid field",
  401: "Missing or wrong bearer token",
  403: "The agent token does not cover this service",
  404: "Unknown appkey, name or id",
  409: "Duplicate, or still referenced (`referrers`)",
  413: "Request body over the endpoint's cap",
  422: "Well-formed but refused: a reference does not resolve, or a limit would be passed (`reason`, `field`)",
  503: "Not available yet",
} as const;

/** Error responses for the given statuses, all with the Error schema. */
export function errors<const S extends keyof typeof ERROR_DESCRIPTIONS>(...statuses: S[]) {
  const out = {} as Record<S, ReturnType<typeof json<typeof ErrorBodySchema>>>;
  for (const status of [401, ...statuses] as S[]) {
    out[status] = json(ErrorBodySchema, ERROR_DESCRIPTIONS[status]);
  }
  return out;
}

/** `{items: T[]}`: list responses are wrapped so fields can be added later. */
export function listOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item) });
}

/** Bearer security requirement, referenced by every /v1 route. */
export const BEARER = [{ bearerAuth: [] }];
