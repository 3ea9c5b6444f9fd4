/**
 * Keeps an isolate's hot path on control's latest snapshot: conditional GETs of
 * `/v1/snapshot` (If-None-Match, gateway token), verification, and the double-buffered load.
 * Static stability: any failure keeps the last good snapshot serving and is only recorded.
 * Workers cannot run timers outside a request, so refreshes ride on traffic: at most one in
 * flight, at most one per `pollMs`, run after the response via `waitUntil`.
 */
import type { GatewayConfig } from "./env.ts";
import { importPublicKey, readSnapshotHeader, verifySnapshot } from "./verify.ts";

/** What the source needs of the hot path: a verified file in, ok or a reason out. */
export interface SnapshotLoader {
  load(file: Uint8Array<ArrayBuffer>): { ok: true } | { ok: false; reason: string };
}

export interface SnapshotState {
  /** Version being served, or null before the first snapshot. */
  version: bigint | null;
  /** When control built the served snapshot, Unix ms. */
  builtAtMs: number | null;
  /** When this isolate last heard from control (200 or 304), Unix ms. */
  lastContactMs: number | null;
  /** The last refresh failure, kept until a refresh succeeds. */
  lastError: string | null;
  /** Snapshots refused (signature, hash, structure, stale version). */
  rejected: number;
}

export class SnapshotSource {
  readonly state: SnapshotState = { version: null, builtAtMs: null, lastContactMs: null, lastError: null, rejected: 0 };
  private readonly config: GatewayConfig;
  private readonly loader: SnapshotLoader;
  private readonly publicKey: Promise<CryptoKey>;
  private etag: string | null = null;
  private lastAttemptMs = 0;
  private inflight: Promise<void> | null = null;

  constructor(config: GatewayConfig, loader: SnapshotLoader) {
    this.config = config;
    this.loader = loader;
    this.publicKey = importPublicKey(config.publicKeyBase64);
    this.publicKey.catch(() => {}); // surfaced by refresh() as lastError
  }

  /** Waits (at most firstWaitMs) for a first snapshot. @returns whether one is being served. */
  async ready(): Promise<boolean> {
    if (this.state.version !== null) return true;
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, this.config.firstWaitMs));
    await Promise.race([this.refresh(), deadline]);
    return this.state.version !== null;
  }

  /** Starts a background refresh when the poll interval has passed. */
  maybeRefresh(ctx: { waitUntil(p: Promise<unknown>): void }): void {
    if (this.inflight || Date.now() - this.lastAttemptMs < this.config.pollMs) return;
    ctx.waitUntil(this.refresh());
  }

  /** One conditional fetch + verify + load; never throws. Concurrent callers share one attempt. */
  refresh(): Promise<void> {
    this.inflight ??= this.fetchAndLoad()
      .catch((err: unknown) => this.fail(`control unreachable: ${(err as Error).message}`))
      .finally(() => {
        this.inflight = null;
      });
    return this.inflight;
  }

  private async fetchAndLoad(): Promise<void> {
    this.lastAttemptMs = Date.now();
    const headers: Record<string, string> = { authorization: `Bearer ${this.config.gatewayToken}` };
    if (this.etag) headers["if-none-match"] = this.etag;
    const res = await fetch(`${this.config.controlUrl}/v1/snapshot`, { headers, signal: AbortSignal.timeout(5000) });
    if (res.status === 304) return this.contact();
    if (res.status !== 200) {
      await res.body?.cancel();
      return this.fail(`control answered ${res.status}`);
    }
    const file = new Uint8Array(await res.arrayBuffer());
    const refusal = await verifySnapshot(file, await this.publicKey);
    if (refusal) return this.reject(refusal);
    const header = readSnapshotHeader(file);
    if (this.state.version !== null && header.version <= this.state.version) {
      return this.reject(`version ${header.version} is not newer than ${this.state.version}`);
    }
    const loaded = this.loader.load(file);
    if (!loaded.ok) return this.reject(loaded.reason);
    this.etag = res.headers.get("etag");
    this.state.version = header.version;
    this.state.builtAtMs = header.builtAtMs;
    this.contact();
    log("info", "snapshot loaded", { version: String(header.version), bytes: file.length });
  }

  private contact(): void {
    this.state.lastContactMs = Date.now();
    this.state.lastError = null;
  }

  private reject(reason: string): void {
    this.state.rejected += 1;
    this.state.lastContactMs = Date.now();
    this.fail(`snapshot rejected: ${reason}`);
  }

  private fail(reason: string): void {
    if (this.state.lastError !== reason) log("warn", reason, { serving: String(this.state.version) });
    this.state.lastError = reason;
  }
}

/** One JSON line per event on the isolate's console (workerd: stderr). */
export function log(level: "info" | "warn" | "error", message: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ level, component: "gateway", message, ...fields }));
}
