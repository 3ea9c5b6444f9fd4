/**
 * Keeps control's current snapshot in step with the database: every committed write schedules a
 * rebuild (debounced), a rebuild compiles the whole config, and only a change of content mints a
 * new version. Versions come from the `snapshots` table's sequence, so they stay monotonic across
 * restarts and replicas; each sealed snapshot is stored there too (the last KEEP_SNAPSHOTS).
 * A rebuild that fails (a condition the compiler now refuses, a database error) keeps the
 * previous snapshot serving and is logged: gateways never see a half-built one.
 */
import { desc, lt, sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { SnapshotView } from "../api/snapshot.ts";
import { loadConfigModel } from "../db/config.ts";
import type { Database } from "../db/connect.ts";
import { snapshots } from "../db/schema.ts";
import { HEADER, HEADER_BYTES } from "./layout.ts";
import { sealSnapshot } from "./seal.ts";
import { writeSnapshot } from "./writer.ts";

/** How many past snapshots the table keeps (rollback and audit). */
export const KEEP_SNAPSHOTS = 100;

export interface BuilderOptions {
  db: Database;
  privateKey: CryptoKey;
  logger: Logger;
  /** Quiet time after the last change before a rebuild, ms (default 50). */
  debounceMs?: number;
  /** A rebuild starts at most this long after the first pending change, ms (default 250). */
  maxDelayMs?: number;
}

export interface BuiltSnapshot extends SnapshotView {
  /** Hex SHA-256 of the content (docs/snapshot-format.md, contentHash). */
  contentHash: string;
}

export class SnapshotBuilder {
  private readonly options: Required<BuilderOptions>;
  private currentSnapshot: BuiltSnapshot | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private firstPendingMs: number | null = null;
  private running: Promise<void> | null = null;
  private rerun = false;
  private readonly listeners = new Set<(s: BuiltSnapshot) => void>();

  constructor(options: BuilderOptions) {
    this.options = { ...options, debounceMs: options.debounceMs ?? 50, maxDelayMs: options.maxDelayMs ?? 250 };
  }

  /** The snapshot served to gateways, or null before the first successful build. */
  get current(): BuiltSnapshot | null {
    return this.currentSnapshot;
  }

  /** Calls `listener` after each new version is published. @returns an unsubscribe function. */
  onPublish(listener: (s: BuiltSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Schedules a debounced rebuild (call after a committed write). */
  schedule(): void {
    const now = Date.now();
    this.firstPendingMs ??= now;
    if (this.timer) clearTimeout(this.timer);
    const wait = Math.min(this.options.debounceMs, Math.max(0, this.firstPendingMs + this.options.maxDelayMs - now));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.firstPendingMs = null;
      void this.rebuild();
    }, wait);
  }

  /**
   * Rebuilds now; concurrent calls coalesce into at most one more run. Never rejects.
   * @returns when the build that covers every change made before the call has finished.
   */
  rebuild(): Promise<void> {
    if (this.running) {
      this.rerun = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.rerun = false;
        try {
          await this.buildOnce();
        } catch (err) {
          this.options.logger.error({ err }, "snapshot rebuild failed; still serving the previous snapshot");
        }
      } while (this.rerun);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Cancels a pending rebuild and waits for a running one. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private async buildOnce(): Promise<void> {
    const { db, privateKey, logger } = this.options;
    const started = performance.now();
    const model = await loadConfigModel(db);
    const file = writeSnapshot(model, { version: 0n, builtAtMs: Date.now() });
    const contentHash = await hashContent(file);
    if (this.currentSnapshot?.contentHash === contentHash) return;

    // On start, a stored snapshot with the same content keeps its version: gateways get a 304.
    if (!this.currentSnapshot) {
      const [latest] = await db.select().from(snapshots).orderBy(desc(snapshots.version)).limit(1);
      if (latest && latest.contentHash === contentHash) {
        return this.publish({ version: latest.version, contentHash, body: latest.body, etag: etagOf(latest.version, contentHash) });
      }
    }
    const built = await db.transaction(async (tx) => {
      const seq = await tx.execute<{ version: string }>(
        sql`select nextval(pg_get_serial_sequence('snapshots', 'version'))::text as version`,
      );
      const version = BigInt((seq as unknown as { rows: { version: string }[] }).rows[0]?.version ?? "0");
      new DataView(file.buffer).setBigUint64(HEADER.snapshotVersion, version, true);
      const sealed = await sealSnapshot(file, privateKey);
      await tx.insert(snapshots).values({ version, contentHash, size: sealed.file.length, body: sealed.file });
      await tx.delete(snapshots).where(lt(snapshots.version, version - BigInt(KEEP_SNAPSHOTS)));
      return { version, contentHash, body: sealed.file, etag: etagOf(version, contentHash) };
    });
    logger.info(
      { version: String(built.version), bytes: built.body.length, ms: Math.round(performance.now() - started) },
      "snapshot published",
    );
    this.publish(built);
  }

  private publish(snapshot: BuiltSnapshot): void {
    this.currentSnapshot = snapshot;
    for (const listener of this.listeners) listener(snapshot);
  }
}

/** Hex SHA-256 of bytes [64, totalLength): the header's contentHash. */
async function hashContent(file: Uint8Array<ArrayBuffer>): Promise<string> {
  const total = new DataView(file.buffer).getUint32(HEADER.totalLength, true);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", file.subarray(HEADER_BYTES, total)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

const etagOf = (version: bigint, contentHash: string) => `"v${version}-${contentHash.slice(0, 16)}"`;
