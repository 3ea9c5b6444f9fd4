/**
 * JWTs that verified in this snapshot, so that a client presenting the same token again costs a
 * Map lookup and a time check instead of a signature verification (≈ 50 µs of CPU for HS256 with
 * jose and WebCrypto, more for RS256/ES256). Held by the snapshot's ConsumerDirectory, so a new
 * snapshot (new consumers, new keys) starts empty. Keyed by the key-claim name and the exact
 * token text: only a byte-identical token hits, whose signature, algorithm, iss and aud were
 * checked against the same consumer's credential; `exp` / `nbf` are checked again on every hit
 * (with the route's clock skew), as jose checks them. Bounded: the oldest entry is dropped at
 * `capacity`; tokens longer than MAX_TOKEN_CHARS are not kept.
 */
import type { ConsumerEntry } from "../../../wasm/plugins-section.ts";

/** Default number of verified tokens kept per snapshot. */
export const VERIFIED_TOKENS_CAPACITY = 10_000;
/** Tokens longer than this are verified every time (bounds the cache's bytes). */
export const MAX_TOKEN_CHARS = 4096;

interface VerifiedToken {
  consumer: ConsumerEntry;
  /** The token's `exp` / `nbf`, seconds since the epoch, or null when absent. */
  exp: number | null;
  nbf: number | null;
}

export class VerifiedTokens {
  readonly capacity: number;
  private readonly tokens = new Map<string, VerifiedToken>();

  /** @param capacity entries kept (≥ 1). */
  constructor(capacity: number = VERIFIED_TOKENS_CAPACITY) {
    this.capacity = capacity;
  }

  /** Entries held now. */
  get size(): number {
    return this.tokens.size;
  }

  /**
   * The consumer `token` (read with key claim `keyClaim`) verified as, when it did and its
   * `exp` / `nbf` still hold at `nowMs` (Unix ms) with `skewSeconds` of tolerance; else undefined
   * (then verify it in full: that also says why it fails).
   */
  get(keyClaim: string, token: string, nowMs: number, skewSeconds: number): ConsumerEntry | undefined {
    const hit = this.tokens.get(`${keyClaim}\u0000${token}`);
    if (!hit) return undefined;
    const now = Math.floor(nowMs / 1000); // jose's epoch()
    if (hit.exp !== null && hit.exp <= now - skewSeconds) return undefined;
    if (hit.nbf !== null && hit.nbf > now + skewSeconds) return undefined;
    return hit.consumer;
  }

  /** Remembers that `token` verified as `consumer`; `exp` / `nbf` as in its claims (numbers, jose checked them). */
  remember(keyClaim: string, token: string, consumer: ConsumerEntry, exp: unknown, nbf: unknown): void {
    if (token.length > MAX_TOKEN_CHARS) return;
    const key = `${keyClaim}\u0000${token}`;
    if (!this.tokens.has(key) && this.tokens.size >= this.capacity) {
      const oldest = this.tokens.keys().next();
      if (!oldest.done) this.tokens.delete(oldest.value);
    }
    this.tokens.set(key, { consumer, exp: typeof exp === "number" ? exp : null, nbf: typeof nbf === "number" ? nbf : null });
  }
}
