/**
 * Agent credentials as the API checks them: an in-memory map from the SHA-256 of each token to
 * its name and appkeys, loaded from `agent_tokens` on first use and reloaded after changes (this
 * replica's writes and other replicas', via `sluice_change`). Tokens are 32 random bytes shown
 * once at minting; only their hash is stored, so a database dump does not leak them.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { Queryable } from "../db/connect.ts";
import { agentTokens } from "../db/schema.ts";

/** Who an agent token speaks for. */
export interface AgentPrincipal {
  tokenId: number;
  name: string;
  /** The services it may register and heartbeat instances of. */
  appkeys: ReadonlySet<string>;
}

/** Prefix of minted agent tokens, so a leaked one is recognisable (as GitHub's `ghp_`). */
export const AGENT_TOKEN_PREFIX = "sluice_agent_";

/** A new agent token: the prefix and 32 random bytes, base64url (56 characters). */
export function mintAgentToken(): string {
  return AGENT_TOKEN_PREFIX + randomBytes(32).toString("base64url");
}

/** Hex SHA-256 of a token, as stored. A token is 256 random bits, so no salt or slow hash is needed. */
export function hashAgentToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export class AgentTokenStore {
  private byHash = new Map<string, AgentPrincipal>();
  private loaded: Promise<void> | null = null;
  private reloadTimer: ReturnType<typeof setTimeout> | null = null;

  private readonly db: Queryable;
  private readonly logger: Logger;

  constructor(db: Queryable, logger: Logger) {
    this.db = db;
    this.logger = logger;
  }

  /** Resolves once the first load is done. @throws when it failed (the next call retries). */
  ready(): Promise<void> {
    this.loaded ??= this.load().catch((err) => {
      this.loaded = null;
      throw err;
    });
    return this.loaded;
  }

  /** The principal of `token`, or null. Call after ready(). */
  find(token: string): AgentPrincipal | null {
    if (!token.startsWith(AGENT_TOKEN_PREFIX)) return null;
    return this.byHash.get(hashAgentToken(token)) ?? null;
  }

  /** Reloads soon; failures are logged and the old map keeps serving. */
  scheduleReload(): void {
    if (this.reloadTimer) return;
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = null;
      this.load().catch((err) => this.logger.error({ err }, "agent token reload failed"));
    }, 10);
  }

  /** Reloads now (after this replica's own token write, so the answer reflects it). */
  async load(): Promise<void> {
    const rows = await this.db.select().from(agentTokens);
    this.byHash = new Map(rows.map((r) => [r.tokenHash, { tokenId: r.id, name: r.name, appkeys: new Set(r.appkeys) }]));
  }

  stop(): void {
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    this.reloadTimer = null;
  }
}
