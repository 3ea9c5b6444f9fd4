/**
 * /v1/consumers: APISIX consumers (docs/edge-protection.md "Consumers") — name, description,
 * labels and credentials (key-auth, jwt-auth). Credentials are prepared before the write
 * (control/config/consumer-store.ts: key hashed, public keys converted with jose, a JWKS URL
 * fetched); the API and revisions never show a secret or a key hash. A key-auth key or a jwt-auth
 * key another consumer uses → 409.
 *
 * @example
 *   POST /v1/consumers {"name": "alice", "labels": {"tier": "gold"}, "credentials": {"key-auth": {"key": "…"}}}
 *   → 201 {"name": "alice", …, "credentials": {"key-auth": {"configured": true}}}
 */
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, ne } from "drizzle-orm";
import {
  type ConsumerRow,
  type CredentialsInput,
  findConsumer,
  keepStoredSecrets,
  type PreparedCredentials,
  prepareCredentials,
  toConsumerDto,
} from "../config/consumer-store.ts";
import { conflict, notFound } from "../config/errors.ts";
import type { FetchText } from "../config/jwt-keys.ts";
import { type ConfigDeps, runWrite } from "../config/write.ts";
import type { Transaction } from "../db/connect.ts";
import { consumerJwtCredentials, consumers, JWT_ALGORITHMS } from "../db/schema.ts";
import { nameField, timestampField } from "./fields.ts";
import { type ApiApp, BEARER, errors, json, jsonBody, listOf } from "./openapi.ts";

/** Fewest characters of a key-auth key (keys are long random strings: plain SHA-256 suffices). */
export const MIN_KEY_AUTH_KEY_LENGTH = 8;

const jwkObject = z.record(z.string(), z.unknown());
const credentialsField = z
  .strictObject({
    "key-auth": z
      .strictObject({
        key: z
          .string()
          .min(MIN_KEY_AUTH_KEY_LENGTH)
          .max(1024)
          .optional()
          .openapi({ description: "Write-only; stored as its SHA-256. Omitted on PUT: the stored key is kept" }),
        configured: z.boolean().optional().openapi({ description: "Ignored (what GET shows)" }),
      })
      .optional(),
    "jwt-auth": z
      .strictObject({
        key: z.string().min(1).max(256).openapi({ description: "Matched against the token's key claim; unique across consumers" }),
        algorithm: z.enum(JWT_ALGORITHMS),
        secret: z
          .string()
          .max(1024)
          .optional()
          .openapi({ description: "HS256 only, write-only, at least 32 bytes. Omitted on PUT: the stored secret is kept" }),
        publicKey: z
          .union([z.string().max(16_384), jwkObject, z.array(jwkObject).max(16)])
          .optional()
          .openapi({ description: "RS256/ES256: PEM (SPKI), a JWK or a list of JWKs" }),
        jwksUrl: z
          .url({ protocol: /^https?$/ })
          .max(2048)
          .optional()
          .openapi({ description: "RS256/ES256: fetched at admission and refreshed every JWKS_REFRESH_MS" }),
        issuer: z.string().min(1).max(1024).optional(),
        audience: z.string().min(1).max(1024).optional(),
      })
      .optional(),
  })
  .default({});

const consumerFields = {
  description: z.string().max(1024).default(""),
  labels: z
    .record(nameField, z.string().max(256))
    .refine((labels) => Object.keys(labels).length <= 32, "at most 32 labels")
    .default({})
    .openapi({ description: "Read by conditions as request.consumer.labels.NAME" }),
  credentials: credentialsField,
};
const ConsumerCreate = z.strictObject({ name: nameField, ...consumerFields }).openapi("ConsumerCreate");
const ConsumerReplace = z.strictObject(consumerFields).openapi("ConsumerReplace");

const JwkSchema = z.record(z.string(), z.unknown());
export const ConsumerSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    labels: z.record(z.string(), z.string()),
    credentials: z.object({
      "key-auth": z.object({ configured: z.literal(true) }).optional(),
      "jwt-auth": z
        .object({
          key: z.string(),
          algorithm: z.enum(JWT_ALGORITHMS),
          publicKey: z.array(JwkSchema).nullable(),
          jwksUrl: z.string().nullable(),
          jwks: z.array(JwkSchema),
          jwksFetchedAt: timestampField.nullable(),
          issuer: z.string().nullable(),
          audience: z.string().nullable(),
        })
        .optional(),
    }),
    createdAt: timestampField,
    updatedAt: timestampField,
  })
  .openapi("Consumer", { description: "A consumer; secrets and key hashes are never shown" });

const NameParams = z.object({ name: nameField });
const tags = ["consumers"];

const createConsumer = createRoute({
  method: "post",
  path: "/v1/consumers",
  tags,
  security: BEARER,
  request: jsonBody(ConsumerCreate),
  responses: { 201: json(ConsumerSchema, "Created"), ...errors(400, 409, 422) },
});
const listConsumers = createRoute({
  method: "get",
  path: "/v1/consumers",
  tags,
  security: BEARER,
  responses: { 200: json(listOf(ConsumerSchema), "All consumers, by name"), ...errors() },
});
const getConsumer = createRoute({
  method: "get",
  path: "/v1/consumers/{name}",
  tags,
  security: BEARER,
  request: { params: NameParams },
  responses: { 200: json(ConsumerSchema, "The consumer"), ...errors(400, 404) },
});
const replaceConsumer = createRoute({
  method: "put",
  path: "/v1/consumers/{name}",
  tags,
  security: BEARER,
  request: { params: NameParams, ...jsonBody(ConsumerReplace) },
  responses: { 200: json(ConsumerSchema, "Replaced"), ...errors(400, 404, 409, 422) },
});
const deleteConsumer = createRoute({
  method: "delete",
  path: "/v1/consumers/{name}",
  tags,
  security: BEARER,
  request: { params: NameParams },
  responses: { 204: { description: "Deleted, with its credentials" }, ...errors(400, 404) },
});

/** Refuses credentials another consumer already uses (the unique indexes are the backstop). */
async function checkCredentialClashes(tx: Transaction, prepared: PreparedCredentials, exceptId: number): Promise<void> {
  if (prepared.keyAuthHash !== null) {
    const [clash] = await tx
      .select({ id: consumers.id })
      .from(consumers)
      .where(and(eq(consumers.keyAuthHash, prepared.keyAuthHash), ne(consumers.id, exceptId)));
    if (clash) throw conflict("the key-auth key is already used by another consumer");
  }
  if (prepared.jwt !== null) {
    const [clash] = await tx
      .select({ name: consumers.name })
      .from(consumerJwtCredentials)
      .innerJoin(consumers, eq(consumerJwtCredentials.consumerId, consumers.id))
      .where(and(eq(consumerJwtCredentials.key, prepared.jwt.key), ne(consumerJwtCredentials.consumerId, exceptId)));
    if (clash) throw conflict(`jwt-auth key "${prepared.jwt.key}" is already used by consumer "${clash.name}"`);
  }
}

/** Replaces the consumer's jwt-auth row with `prepared.jwt` (none when null). */
async function storeJwt(tx: Transaction, consumer: ConsumerRow, prepared: PreparedCredentials) {
  await tx.delete(consumerJwtCredentials).where(eq(consumerJwtCredentials.consumerId, consumer.id));
  if (prepared.jwt === null) return null;
  const [row] = await tx
    .insert(consumerJwtCredentials)
    .values({ ...prepared.jwt, consumerId: consumer.id })
    .returning();
  return row;
}

/**
 * Registers the /v1/consumers routes on `app`.
 * @param fetchBody how JWKS URLs are fetched (default: fetch with a timeout).
 */
export function addConsumerRoutes(app: ApiApp, deps: ConfigDeps, fetchBody?: FetchText): void {
  app.openapi(createConsumer, async (c) => {
    const input = c.req.valid("json");
    // Keys are converted and JWKS fetched before the transaction: no network wait under the write lock.
    const prepared = await prepareCredentials(input.credentials as CredentialsInput, null, fetchBody);
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      if (await findConsumer(tx, input.name)) throw conflict(`consumer "${input.name}" already exists`);
      await checkCredentialClashes(tx, prepared, 0);
      const [row] = await tx
        .insert(consumers)
        .values({ name: input.name, description: input.description, labels: input.labels, keyAuthHash: prepared.keyAuthHash })
        .returning();
      const after = toConsumerDto(row, await storeJwt(tx, row, prepared));
      return { result: after, revision: { action: "create", resource: "consumer", resourceId: row.name, before: null, after } };
    });
    return c.json(result, 201);
  });

  app.openapi(listConsumers, async (c) => {
    const rows = await deps.db
      .select({ row: consumers, jwt: consumerJwtCredentials })
      .from(consumers)
      .leftJoin(consumerJwtCredentials, eq(consumerJwtCredentials.consumerId, consumers.id))
      .orderBy(asc(consumers.name));
    return c.json({ items: rows.map(({ row, jwt }) => toConsumerDto(row, jwt)) }, 200);
  });

  app.openapi(getConsumer, async (c) => {
    const { name } = c.req.valid("param");
    const found = await findConsumer(deps.db, name);
    if (!found) throw notFound(`consumer "${name}" not found`);
    return c.json(toConsumerDto(found.row, found.jwt), 200);
  });

  app.openapi(replaceConsumer, async (c) => {
    const { name } = c.req.valid("param");
    const input = c.req.valid("json");
    const stored = await findConsumer(deps.db, name);
    if (!stored) throw notFound(`consumer "${name}" not found`);
    const prepared = await prepareCredentials(input.credentials as CredentialsInput, stored, fetchBody);
    const { result } = await runWrite(deps, c.var.role, async (tx) => {
      const current = await findConsumer(tx, name);
      if (!current) throw notFound(`consumer "${name}" not found`);
      // What the PUT keeps (a key-auth hash, an HS256 secret) is taken again from the row read under the lock.
      const final = keepStoredSecrets(input.credentials as CredentialsInput, prepared, current);
      await checkCredentialClashes(tx, final, current.row.id);
      const [row] = await tx
        .update(consumers)
        .set({ description: input.description, labels: input.labels, keyAuthHash: final.keyAuthHash, updatedAt: new Date() })
        .where(eq(consumers.id, current.row.id))
        .returning();
      const before = toConsumerDto(current.row, current.jwt);
      const after = toConsumerDto(row, await storeJwt(tx, row, final));
      return { result: after, revision: { action: "update", resource: "consumer", resourceId: name, before, after } };
    });
    return c.json(result, 200);
  });

  app.openapi(deleteConsumer, async (c) => {
    const { name } = c.req.valid("param");
    await runWrite(deps, c.var.role, async (tx) => {
      const current = await findConsumer(tx, name);
      if (!current) throw notFound(`consumer "${name}" not found`);
      await tx.delete(consumers).where(eq(consumers.id, current.row.id));
      const before = toConsumerDto(current.row, current.jwt);
      return { result: null, revision: { action: "delete", resource: "consumer", resourceId: name, before, after: null } };
    });
    return c.body(null, 204);
  });
}
