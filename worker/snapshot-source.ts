/**
 * Keeps an isolate's hot path on control's latest snapshot: a long poll of `/v1/snapshot`
 * (`?index=<served version>&wait=…`, gateway token, `Sluice-Gateway: <isolate id>`), signature
 * and hash verification, and the double-buffered load. Static stability: any failure keeps the
 * last good snapshot serving and is only recorded.
 *
 * Workers run code only inside a request, so the poll loop is started by a request and runs in
 * its `waitUntil`; it keeps polling while requests keep coming and stops `idleStopMs` after the
 * last one. Hence two cases, which together bound how stale a routed request can be:
 * - a poll loop is running and in contact: control answers the held poll as soon as a newer
 *   version exists, so the isolate swaps within a round trip of the publication;
 * - no loop (the isolate was idle, so its snapshot may be stale): the request that starts one,
 *   and those arriving before its first answer, wait (at most `syncWaitMs`) for that first,
 *   immediate answer before they are routed — unless control failed within the last `pollMs`.
 * Static stability: once a loop runs, no request waits for control, whatever control does. When
 * control fails, requests are routed at once on the last good snapshot, and the loop retries
 * every `pollMs` with an immediate check (not a held poll), so it is in contact again within one
 * round trip of control's return, and only then goes back to held polls. A control that does not
 * hold polls is asked at most once per `pollMs` (the periodic fallback).
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
  /**
   * When control last confirmed that the served snapshot is the latest — a 200 whose snapshot was
   * loaded, or a 304 — Unix ms; null before the first. A refused snapshot does not confirm.
   */
  confirmedMs: number | null;
  /** The last refresh failure, kept until a refresh succeeds. */
  lastError: string | null;
  /** Snapshots refused (signature, hash, structure, stale version). */
  rejected: number;
  /** This isolate's id, sent to control so it can tell which version each isolate serves. */
  gatewayId: string;
  /** True while a poll loop runs and its last request reached control. */
  polling: boolean;
}

type Outcome = "changed" | "unchanged" | "rejected" | "failed";
/** What the gateway needs of a request context: ExecutionContext on Workers, the entry's own elsewhere (worker/runtime/). */
export type WaitUntil = { waitUntil(p: Promise<unknown>): void };

/** Slack on top of a poll's `wait` before the fetch is abandoned, ms. */
const FETCH_SLACK_MS = 5000;

export class SnapshotSource {
  readonly state: SnapshotState;
  private readonly config: GatewayConfig;
  private readonly loader: SnapshotLoader;
  private readonly publicKey: Promise<CryptoKey>;
  private etag: string | null = null;
  private loopGeneration = 0;
  private loopRunning = false;
  /** True from a loop's start until its first answer (or failure): the isolate may be stale. */
  private syncing = false;
  /** Last sign of life of the loop, Unix ms: a loop silent far beyond its wait was cancelled. */
  private loopBeatMs = 0;
  private lastRequestMs = 0;
  /** A loop that has not beaten for this long is taken for dead (its request context ended). */
  private readonly stuckAfterMs: number;
  private lastFailureMs = 0;
  private contactWaiters: (() => void)[] = [];

  constructor(config: GatewayConfig, loader: SnapshotLoader) {
    this.config = config;
    this.loader = loader;
    this.state = {
      version: null,
      builtAtMs: null,
      lastContactMs: null,
      confirmedMs: null,
      lastError: null,
      rejected: 0,
      gatewayId: crypto.randomUUID(),
      polling: false,
    };
    this.stuckAfterMs = config.waitMs * 2 + FETCH_SLACK_MS + config.pollMs;
    this.publicKey = importPublicKey(config.publicKeyBase64);
    this.publicKey.catch(() => {}); // surfaced by the poll as lastError
  }

  /** Waits (at most firstWaitMs) for a first snapshot. @returns whether one is being served. */
  async ready(ctx: WaitUntil): Promise<boolean> {
    if (this.state.version !== null) return true;
    this.lastRequestMs = Date.now();
    this.ensureLoop(ctx, this.lastRequestMs);
    // Control failed a moment ago: answer now rather than queue every request behind the retry.
    if (!this.state.polling && Date.now() - this.lastFailureMs < this.config.pollMs) return false;
    await this.nextContact(this.config.firstWaitMs);
    return this.state.version !== null;
  }

  /**
   * Call before routing each request: starts the poll loop if none runs, and while a new loop has
   * not had its first answer, waits at most `syncWaitMs` for it — unless control failed within the
   * last `pollMs` (then the last good snapshot serves at once). A running loop never delays a
   * request, in or out of contact with control.
   */
  beforeRoute(ctx: WaitUntil): Promise<void> | undefined {
    const now = this.keepAlive(ctx);
    if (!this.syncing || now - this.lastFailureMs < this.config.pollMs) return undefined;
    return this.nextContact(this.config.syncWaitMs);
  }

  /**
   * A request (`ctx`) is still in the isolate — e.g. waiting in the activation buffer for the
   * snapshot this loop brings: counts as activity, so the loop does not stop for idleness, and
   * restarts a loop whose context ended. Never waits. @returns now, Unix ms.
   */
  keepAlive(ctx: WaitUntil): number {
    const now = Date.now();
    this.lastRequestMs = now;
    this.ensureLoop(ctx, now);
    return now;
  }

  /** Starts the poll loop unless one is running and beat within stuckAfterMs of `now` (Unix ms). */
  private ensureLoop(ctx: WaitUntil, now: number): void {
    if (this.loopRunning && now - this.loopBeatMs < this.stuckAfterMs) return;
    // No loop, or one whose request context was cancelled (Cloudflare ends waitUntil after 30 s).
    this.loopGeneration += 1;
    this.loopRunning = true;
    this.syncing = true;
    this.loopBeatMs = now;
    ctx.waitUntil(this.runLoop(this.loopGeneration));
  }

  private async runLoop(generation: number): Promise<void> {
    let waitMs = 0; // the first request is an immediate check
    try {
      while (generation === this.loopGeneration && Date.now() - this.lastRequestMs < this.config.idleStopMs) {
        const started = Date.now();
        this.loopBeatMs = started;
        const outcome = await this.poll(waitMs);
        if (generation !== this.loopGeneration) return;
        this.state.polling = outcome !== "failed";
        this.syncing = false;
        if (outcome === "failed") this.lastFailureMs = Date.now();
        this.settleContact();
        const heldPoll = waitMs > 0;
        // After a failure, check at once rather than hold: a held poll to a control that has just
        // come back would keep this isolate out of contact for a whole wait.
        waitMs = outcome === "failed" ? 0 : this.config.waitMs;
        const elapsed = Date.now() - started;
        // Back off after a failure or a refused snapshot; and when control answered a held poll at
        // once without news (it does not hold polls), ask at most once per pollMs.
        if (outcome === "failed" || outcome === "rejected" || (heldPoll && outcome === "unchanged" && elapsed < this.config.pollMs)) {
          await sleep(Math.max(0, this.config.pollMs - elapsed));
        }
      }
    } finally {
      if (generation === this.loopGeneration) {
        this.loopRunning = false;
        this.syncing = false;
        this.state.polling = false;
      }
    }
  }

  /** One conditional, possibly held, fetch + verify + load. Never throws. */
  private async poll(waitMs: number): Promise<Outcome> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.config.gatewayToken}`,
      "sluice-gateway": this.state.gatewayId,
    };
    if (this.etag) headers["if-none-match"] = this.etag;
    const index = this.state.version ?? 0n;
    const url = `${this.config.controlUrl}/v1/snapshot?index=${index}&wait=${waitMs}ms`;
    try {
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(waitMs + waitMs / 8 + FETCH_SLACK_MS) });
      if (res.status === 304) {
        this.contact();
        return "unchanged";
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        this.fail(`control answered ${res.status}`);
        return "failed";
      }
      return await this.load(new Uint8Array(await res.arrayBuffer()), res.headers.get("etag"));
    } catch (err) {
      this.fail(`control unreachable: ${(err as Error).message}`);
      return "failed";
    }
  }

  private async load(file: Uint8Array<ArrayBuffer>, etag: string | null): Promise<Outcome> {
    const refusal = await verifySnapshot(file, await this.publicKey);
    if (refusal) return this.reject(refusal);
    const header = readSnapshotHeader(file);
    if (this.state.version !== null && header.version <= this.state.version) {
      return this.reject(`version ${header.version} is not newer than ${this.state.version}`);
    }
    const loaded = this.loader.load(file);
    if (!loaded.ok) return this.reject(loaded.reason);
    this.etag = etag;
    this.state.version = header.version;
    this.state.builtAtMs = header.builtAtMs;
    this.contact();
    log("info", "snapshot loaded", { version: String(header.version), bytes: file.length });
    return "changed";
  }

  /** Resolves at the loop's next answer (or failure), or after `timeoutMs`. */
  private nextContact(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.contactWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private settleContact(): void {
    const waiters = this.contactWaiters;
    this.contactWaiters = [];
    for (const wake of waiters) wake();
  }

  private contact(): void {
    this.state.lastContactMs = Date.now();
    this.state.confirmedMs = this.state.lastContactMs;
    this.state.lastError = null;
  }

  private reject(reason: string): Outcome {
    this.state.rejected += 1;
    this.state.lastContactMs = Date.now();
    this.fail(`snapshot rejected: ${reason}`);
    return "rejected";
  }

  private fail(reason: string): void {
    if (this.state.lastError !== reason) log("warn", reason, { serving: String(this.state.version) });
    this.state.lastError = reason;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One JSON line per event on the isolate's console (workerd: stderr). */
export function log(level: "info" | "warn" | "error", message: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ level, component: "gateway", message, ...fields }));
}
