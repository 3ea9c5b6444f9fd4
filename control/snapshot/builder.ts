/**
 * Keeps control's current snapshot in step with the database: every committed write schedules a
 * rebuild (debounced), a rebuild compiles the whole config, and only a change of content mints a
 * new version. Versions come from the `snapshots` table's sequence, so they stay monotonic across
 * restarts and replicas; each sealed snapshot is stored there too (publish.ts keeps the last 100).
 * A rebuild that fails (a condition the compiler now refuses, a database error) keeps the
 * previous snapshot serving and is logged: gateways never see a half-built one. It is tried again
 * after a back-off (1 s doubling to 30 s) until one succeeds, so a write whose rebuild met a
 * database outage still reaches the gateways once the database is back, with no new write.
 *
 * Several replicas (one PostgreSQL): each snapshot records the last revision it covers
 * (`covers_revision`); publication runs under an advisory lock and refuses to mint a version that
 * covers no more than the latest stored one, so version order always follows coverage order.
 * A replica that loses that race, or hears of another's snapshot (NOTIFY `sluice_snapshot`,
 * `adopt()`), serves the stored one: every replica serves the same bytes for a version.
 */
import { eq } from "drizzle-orm";
import type { Logger } from "pino";
import { loadConfigSnapshot } from "../db/config.ts";
import { type Database, isDatabaseUnavailable } from "../db/connect.ts";
import { latestRevisionId } from "../db/revisions.ts";
import { snapshots } from "../db/schema.ts";
import type { ControlMetrics } from "../metrics/registry.ts";
import { Waiters } from "../propagation/waiters.ts";
import { HEADER, HEADER_BYTES } from "./layout.ts";
import { etagOf, publishSnapshot } from "./publish.ts";
import { writeSnapshot } from "./writer.ts";

export interface BuilderOptions {
  db: Database;
  privateKey: CryptoKey;
  logger: Logger;
  /** Quiet time after the last change before a rebuild, ms (default 50). */
  debounceMs?: number;
  /** A rebuild starts at most this long after the first pending change, ms (default 250). */
  maxDelayMs?: number;
  /** Where build durations, the served snapshot's size and version, and database errors go. */
  metrics?: Pick<ControlMetrics, "snapshotBuildDuration" | "snapshotBytes" | "snapshotVersion" | "databaseErrors">;
}

/** The snapshot as the builder hands it over (GET /v1/snapshot serves it: control/api/snapshot.ts). */
export interface SnapshotView {
  /** snapshotVersion from the header (docs/snapshot-format.md); monotonic. */
  version: bigint;
  /** Entity tag, quoted or not (`"sha256-…"` / `sha256-…`); sent as a strong ETag. */
  etag: string;
  /** The signed snapshot file. */
  body: Uint8Array;
}

export interface BuiltSnapshot extends SnapshotView {
  /** Hex SHA-256 of the content (docs/snapshot-format.md, contentHash). */
  contentHash: string;
  /** Last revision id the snapshot includes; raised when later writes left the content unchanged. */
  coversRevision: number;
}

/** Back-off between retries of a failed rebuild, ms: doubles from MIN to MAX. */
const REBUILD_RETRY_MIN_MS = 1000;
const REBUILD_RETRY_MAX_MS = 30_000;

export class SnapshotBuilder {
  private readonly options: Required<Omit<BuilderOptions, "metrics">> & Pick<BuilderOptions, "metrics">;
  private currentSnapshot: BuiltSnapshot | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerDueMs = 0;
  private firstPendingMs: number | null = null;
  private running: Promise<void> | null = null;
  private rerun = false;
  /** Wait before retrying a failed rebuild, ms; 0 after a success. */
  private retryMs = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private readonly listeners = new Set<(s: BuiltSnapshot) => void>();
  private readonly waiters = new Waiters<BuiltSnapshot | null>();

  constructor(options: BuilderOptions) {
    this.options = { ...options, debounceMs: options.debounceMs ?? 50, maxDelayMs: options.maxDelayMs ?? 250 };
  }

  /** How long a replica waits before checking a change another replica made, ms (the writer usually publishes first). */
  get followDelayMs(): number {
    return this.options.maxDelayMs;
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

  /**
   * Schedules a debounced rebuild (call after a committed write).
   * @param delayMs quiet time to wait, ms (default: the debounce); an earlier pending rebuild
   *   is never postponed beyond `maxDelayMs` after the first pending change.
   */
  schedule(delayMs = this.options.debounceMs): void {
    const now = Date.now();
    this.firstPendingMs ??= now;
    const due = now + Math.min(delayMs, Math.max(0, this.firstPendingMs + this.options.maxDelayMs - now));
    if (this.timer && this.timerDueMs <= due && delayMs > this.options.debounceMs) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDueMs = due;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.firstPendingMs = null;
      void this.rebuild();
    }, due - now);
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
          this.retryMs = 0;
        } catch (err) {
          if (isDatabaseUnavailable(err)) this.options.metrics?.databaseErrors.inc({ source: "snapshot_build" });
          this.retryMs = Math.min(REBUILD_RETRY_MAX_MS, Math.max(REBUILD_RETRY_MIN_MS, this.retryMs * 2));
          this.options.logger.error({ err, retryInMs: this.retryMs }, "snapshot rebuild failed; still serving the previous snapshot");
          this.retryLater();
        }
      } while (this.rerun);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /**
   * Waits for a snapshot newer than `index` (a Consul-style blocking query on the version).
   * @param index the version the caller has; resolves at once when a newer one is served.
   * @param waitMs longest wait, ms.
   * @param signal resolves early with null when aborted (the client went away).
   * @returns the newer snapshot, or null when none came within `waitMs`.
   */
  waitForNewer(index: bigint, waitMs: number, signal?: AbortSignal): Promise<BuiltSnapshot | null> {
    const newer = () => {
      const current = this.currentSnapshot;
      return current && current.version > index ? current : null;
    };
    return this.waiters.wait(newer, () => null, waitMs, signal);
  }

  /**
   * Serves a snapshot another replica published (NOTIFY payload `<version>:<coversRevision>`):
   * loads it from the table when it is newer than the current one. Never rejects.
   */
  async adopt(payload: string): Promise<void> {
    const [versionText, coversText] = payload.split(":");
    if (!/^[0-9]+$/.test(versionText ?? "") || !/^[0-9]+$/.test(coversText ?? "")) return;
    const version = BigInt(versionText);
    const covers = Number(coversText);
    try {
      const current = this.currentSnapshot;
      if (current && version === current.version) {
        current.coversRevision = Math.max(current.coversRevision, covers);
        return;
      }
      if (current && version < current.version) return;
      await this.adoptStored(version);
    } catch (err) {
      this.options.logger.error({ err, version: versionText }, "could not load a snapshot another replica published");
    }
  }

  /** Cancels a pending rebuild, waits for a running one and releases every blocking query. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await this.running;
    this.waiters.close();
  }

  /** Rebuilds again after `retryMs`, unless a retry is already due or the builder stopped. */
  private retryLater(): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.rebuild();
    }, this.retryMs);
  }

  private async buildOnce(): Promise<void> {
    const { db, privateKey, logger } = this.options;
    const started = performance.now();
    // A write that another replica has already compiled and published needs no work here.
    if (this.currentSnapshot && this.currentSnapshot.coversRevision >= (await latestRevisionId(db))) return;

    const { model, coversRevision } = await loadConfigSnapshot(db);
    if (this.currentSnapshot && this.currentSnapshot.coversRevision >= coversRevision) return;
    const file = writeSnapshot(model, { version: 0n, builtAtMs: Date.now() });
    const contentHash = await hashContent(file);

    const outcome = await publishSnapshot(db, { file, contentHash, coversRevision, privateKey, serving: this.currentSnapshot !== null });
    this.options.metrics?.snapshotBuildDuration.observe((performance.now() - started) / 1000);
    if (outcome.built) {
      logger.info(
        { version: String(outcome.built.version), bytes: outcome.built.body.length, ms: Math.round(performance.now() - started) },
        "snapshot published",
      );
      this.publish(outcome.built);
      return;
    }
    const current = this.currentSnapshot;
    if (current && current.version === outcome.adopt) {
      current.coversRevision = Math.max(current.coversRevision, outcome.coversRevision ?? 0);
      return;
    }
    await this.adoptStored(outcome.adopt as bigint);
  }

  /** Loads stored `version` and serves it if it is newer than the current snapshot. */
  private async adoptStored(version: bigint): Promise<void> {
    const [row] = await this.options.db.select().from(snapshots).where(eq(snapshots.version, version));
    if (!row) return; // pruned meanwhile: a newer one exists and will be announced too
    if (this.currentSnapshot && this.currentSnapshot.version >= row.version) return;
    this.publish({
      version: row.version,
      contentHash: row.contentHash,
      coversRevision: row.coversRevision,
      body: row.body,
      etag: etagOf(row.version, row.contentHash),
    });
  }

  private publish(snapshot: BuiltSnapshot): void {
    this.currentSnapshot = snapshot;
    this.options.metrics?.snapshotVersion.set(Number(snapshot.version));
    this.options.metrics?.snapshotBytes.set(snapshot.body.length);
    this.waiters.wake();
    for (const listener of this.listeners) listener(snapshot);
  }
}

/** Hex SHA-256 of bytes [64, totalLength): the header's contentHash. */
async function hashContent(file: Uint8Array<ArrayBuffer>): Promise<string> {
  const total = new DataView(file.buffer).getUint32(HEADER.totalLength, true);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", file.subarray(HEADER_BYTES, total)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
