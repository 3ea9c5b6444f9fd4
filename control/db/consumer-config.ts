/**
 * Consumers as the PLUGINS section carries them (wasm/plugins-section.ts ConsumerEntry): name,
 * labels, key-auth key hash and the jwt-auth credential with its public keys — those given at
 * admission followed by the last fetched JWKS of its `jwks_url` (control/config/jwks-refresher.ts).
 */
import { asc, eq } from "drizzle-orm";
import type { ConsumerEntry, JsonWebKeyLike } from "../../wasm/plugins-section.ts";
import type { Queryable } from "./connect.ts";
import { consumerJwtCredentials, consumers } from "./schema.ts";

/** Every consumer, by id (the section sorts them by name). */
export async function loadConsumerEntries(db: Queryable): Promise<ConsumerEntry[]> {
  const rows = await db
    .select({ consumer: consumers, jwt: consumerJwtCredentials })
    .from(consumers)
    .leftJoin(consumerJwtCredentials, eq(consumerJwtCredentials.consumerId, consumers.id))
    .orderBy(asc(consumers.id));
  return rows.map(({ consumer, jwt }) => ({
    name: consumer.name,
    labels: consumer.labels,
    keyHash: consumer.keyAuthHash,
    jwt: jwt
      ? {
          key: jwt.key,
          algorithm: jwt.algorithm as "HS256" | "RS256" | "ES256",
          secret: jwt.secret,
          jwks: [...jwt.publicKeys, ...jwt.jwks] as unknown as JsonWebKeyLike[],
          issuer: jwt.issuer,
          audience: jwt.audience,
        }
      : null,
  }));
}
