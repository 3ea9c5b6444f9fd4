/**
 * /v1/agent-tokens (admin only): mint, list and revoke agent credentials. Minting returns the
 * token once; only its SHA-256 is stored, and the revision records the name and appkeys, never
 * the token or its hash. There are no default credentials: until an admin mints one, no agent
 * can register anything.
 *
 * @example
 *   POST /v1/agent-tokens {"name": "orders-hosts", "appkeys": ["com.example.orders"]}
 *   → 201 {"id": 3, "name": "orders-hosts", "appkeys": [...], "token": "sluice_agent_…", "createdAt": …}
 */
import { createRoute, z } from "@hono/zod-openapi";
import { asc, eq } from "drizzle-orm";
import { type AgentTokenStore, hashAgentToken, mintAgentToken } from "../config/agent-token-store.ts";
import { conflict, notFound, unprocessable } from "../config/errors.ts";
import { findService } from "../config/lookup.ts";
import { type ConfigDeps, runWrite } from "../config/write.ts";
import { agentTokens } from "../db/schema.ts";
import { appkeyField, idParam, nameField, timestampField } from "./fields.ts";
import { type ApiApp, BEARER, errors, json, jsonBody, listOf } from "./openapi.ts";

/** Most appkeys one agent token may cover. */
export const MAX_TOKEN_APPKEYS = 100;

const TokenCreate = z
  .strictObject({
    name: nameField,
    appkeys: z
      .array(appkeyField)
      .min(1)
      .max(MAX_TOKEN_APPKEYS)
      .refine((list) => new Set(list).size === list.length, "must not repeat an appkey"),
  })
  .openapi("AgentTokenCreate");

const AgentTokenSchema = z
  .object({ id: z.number().int(), name: z.string(), appkeys: z.array(z.string()), createdAt: timestampField })
  .openapi("AgentToken");
const MintedToken = AgentTokenSchema.extend({
  token: z.string().openapi({ description: "Shown once; store it on the agent's host" }),
}).openapi("MintedAgentToken");

const tags = ["agent tokens"];
const mint = createRoute({
  method: "post",
  path: "/v1/agent-tokens",
  tags,
  security: BEARER,
  request: jsonBody(TokenCreate),
  responses: { 201: json(MintedToken, "Minted"), ...errors(400, 409, 422) },
});
const list = createRoute({
  method: "get",
  path: "/v1/agent-tokens",
  tags,
  security: BEARER,
  responses: { 200: json(listOf(AgentTokenSchema), "Agent tokens, by name (without secrets)"), ...errors() },
});
const revoke = createRoute({
  method: "delete",
  path: "/v1/agent-tokens/{id}",
  tags,
  security: BEARER,
  request: { params: z.object({ id: idParam.openapi({ type: "integer" }) }) },
  responses: { 204: { description: "Revoked" }, ...errors(400, 404) },
});

type Row = typeof agentTokens.$inferSelect;
const toDto = (row: Row) => ({ id: row.id, name: row.name, appkeys: row.appkeys, createdAt: row.createdAt.toISOString() });

/** Registers the agent token routes on `app`; `store` is reloaded after each write. */
export function addAgentTokenRoutes(app: ApiApp, deps: ConfigDeps, store: AgentTokenStore): void {
  app.openapi(mint, async (c) => {
    const input = c.req.valid("json");
    const token = mintAgentToken();
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      const [clash] = await tx.select({ id: agentTokens.id }).from(agentTokens).where(eq(agentTokens.name, input.name));
      if (clash) throw conflict(`agent token "${input.name}" already exists`);
      for (const [i, appkey] of input.appkeys.entries()) {
        if (!(await findService(tx, appkey))) throw unprocessable("service_not_found", `service "${appkey}" not found`, `appkeys[${i}]`);
      }
      const [row] = await tx
        .insert(agentTokens)
        .values({ name: input.name, appkeys: input.appkeys, tokenHash: hashAgentToken(token) })
        .returning();
      const after = toDto(row);
      return { result: after, revision: { action: "create", resource: "agent_token", resourceId: row.name, before: null, after } };
    });
    await store.load();
    return c.json({ ...result, token }, 201);
  });

  app.openapi(list, async (c) => {
    const rows = await deps.db.select().from(agentTokens).orderBy(asc(agentTokens.name));
    return c.json({ items: rows.map(toDto) }, 200);
  });

  app.openapi(revoke, async (c) => {
    const { id } = c.req.valid("param");
    await runWrite(deps, c.var.role, async (tx) => {
      const [row] = await tx.delete(agentTokens).where(eq(agentTokens.id, id)).returning();
      if (!row) throw notFound(`agent token ${id} not found`);
      return {
        result: null,
        revision: { action: "delete", resource: "agent_token", resourceId: row.name, before: toDto(row), after: null },
      };
    });
    await store.load();
    return c.body(null, 204);
  });
}
