/**
 * The SHA-256 (lowercase hex) of presented API keys, remembered per isolate so that key-auth's
 * steady state is one Map lookup and stays synchronous: crypto.subtle.digest is async, and a
 * promise per request costs more than the rest of key-auth. What is cached is a pure function of
 * the presented key (its hash), not a consumer, so it never goes stale when a snapshot swaps its
 * consumers: the consumer is looked up in the current snapshot's ConsumerDirectory by this hash.
 * Bounded: at `capacity` entries the oldest is dropped (insertion order), so a client presenting
 * random keys costs memory ≤ capacity × (key + 64 bytes) and only evicts, never grows.
 */

/** Default number of presented keys remembered per isolate. */
export const KEY_HASH_CACHE_CAPACITY = 10_000;

/** Keys longer than this are hashed every time rather than cached (bounds the cache's bytes). */
export const KEY_HASH_CACHE_MAX_KEY_CHARS = 512;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** SHA-256 of the UTF-8 bytes of `text`, lowercase hex (64 characters), as control stores key-auth keys. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  let out = "";
  for (const byte of digest) out += HEX[byte];
  return out;
}

/** A bounded map presented key → SHA-256 hex, shared by every snapshot of an isolate. */
export class KeyHashCache {
  /** Entries kept; the oldest is dropped beyond. */
  readonly capacity: number;
  private readonly hashes = new Map<string, string>();

  /** @param capacity entries kept (≥ 1). */
  constructor(capacity: number = KEY_HASH_CACHE_CAPACITY) {
    this.capacity = capacity;
  }

  /** Entries held now. */
  get size(): number {
    return this.hashes.size;
  }

  /** The hash of `key` when it was hashed before, else undefined (no hashing here). */
  get(key: string): string | undefined {
    return this.hashes.get(key);
  }

  /** Hashes `key` and remembers it (long keys are hashed, not remembered). */
  async hash(key: string): Promise<string> {
    const hex = await sha256Hex(key);
    if (key.length <= KEY_HASH_CACHE_MAX_KEY_CHARS && !this.hashes.has(key)) {
      if (this.hashes.size >= this.capacity) {
        const oldest = this.hashes.keys().next();
        if (!oldest.done) this.hashes.delete(oldest.value);
      }
      this.hashes.set(key, hex);
    }
    return hex;
  }
}

/** The isolate's cache: module state, created once when the gateway's bundle loads. */
export const ISOLATE_KEY_HASHES = new KeyHashCache();
