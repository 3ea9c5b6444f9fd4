/**
 * One function instance: a queue-proxy (queue-proxy.ts) in front of a `workerd serve` process
 * (workerd-process.ts) running one assigned version. States (docs/functions-runtime.md):
 *
 *   starting ──workerd answers HTTP──▶ ready ──beginDrain()──▶ draining ──stop()──▶ gone
 *      └──exit/timeout before ready──▶ failed (error = stderr's last lines)
 *
 * A ready process that exits while the instance is not being stopped is a crash: `crashes`++,
 * the instance goes back to `starting` and a new process is spawned on the same queue-proxy
 * (same key and address, so control sees one instance restarting), at once for the first
 * crash and with exponential back-off after that. Requests reaching the queue-proxy meanwhile
 * wait for readiness (bounded by UPSTREAM_WAIT_MS).
 */
import { randomBytes } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import type { CachedBundle } from "./bundle-cache.ts";
import type { FunctionAssignment, InstanceReport } from "./client.ts";
import type { InstanceState } from "./plan.ts";
import { QueueProxy } from "./queue-proxy.ts";
import { renderInstanceConfig } from "./workerd-config.ts";
import { freePort, WorkerdProcess } from "./workerd-process.ts";

/** Longest wait for a new process to accept connections before it counts as failed, ms. */
export const START_TIMEOUT_MS = 10_000;
/** Longest a request waits in the queue-proxy for a (re)starting process, ms. */
export const UPSTREAM_WAIT_MS = 10_000;
/** Back-off before re-spawning after the second and later crashes: 100 ms doubling up to this, ms. */
const MAX_RESTART_DELAY_MS = 10_000;

/** Where an instance gets its bundle and reports to. */
export interface InstanceDeps {
  /** The bundle's directory and module list (bundle-cache.ts). */
  bundle: (sha256: string) => Promise<CachedBundle>;
  /** Address the queue-proxy listens on and is reported with. */
  host: string;
  /** An empty directory (absolute) for workerd's health socket (workerd-config.ts). */
  emptyDir: string;
  logger: Logger;
  /** Called after every state change (the runtime reports at once). */
  onStateChange: (instance: Instance) => void;
}

export class Instance {
  /** Unique on this node: reported as `key` (control's `instance_key`). */
  readonly key = randomBytes(6).toString("hex");
  readonly assignment: FunctionAssignment;
  readonly specKey: string;
  state: InstanceState | "gone" = "starting";
  error: string | null = null;
  /** Wall clock, ms since the epoch. */
  readonly startedAtMs = Date.now();
  readyAtMs: number | null = null;
  coldStartMs: number | null = null;
  crashes = 0;
  private readonly startedAt = performance.now();
  private readonly deps: InstanceDeps;
  private readonly proxy: QueueProxy;
  private proxyPort = 0;
  private process: WorkerdProcess | null = null;
  /** The process the queue-proxy forwards to: set once it answers, cleared when it exits. */
  private readyProcess: WorkerdProcess | null = null;
  private configPath: string | null = null;
  private stopping = false;
  private waiters: (() => void)[] = [];

  constructor(assignment: FunctionAssignment, specKey: string, deps: InstanceDeps) {
    this.assignment = assignment;
    this.specKey = specKey;
    this.deps = deps;
    this.proxy = new QueueProxy({ host: deps.host, limit: assignment.containerConcurrency, upstream: () => this.upstream() });
  }

  /** The workerd process's pid while one runs (tests and logs). */
  get pid(): number | undefined {
    return this.process?.done === false ? this.process.pid : undefined;
  }

  /** Listens, fetches the bundle, writes the config and starts the process; resolves once ready or failed. Never rejects. */
  async start(): Promise<void> {
    try {
      this.proxyPort = await this.proxy.listen();
      // stop() ran before the listener was up, so its close() could not close it.
      if (this.stopping) {
        await this.proxy.close();
        return;
      }
      const { dir, modules } = await this.deps.bundle(this.assignment.sha256);
      this.configPath = join(dir, `instance-${this.key}.capnp`);
      const config = renderInstanceConfig({ ...this.assignment, modules, emptyDir: this.deps.emptyDir });
      await writeFile(this.configPath, config, { mode: 0o600 });
    } catch (err) {
      this.setState("failed", (err as Error).message);
      return;
    }
    await this.spawn();
  }

  /** Marks the instance `draining`: control drops it from the snapshot; requests still flow meanwhile. */
  beginDrain(): void {
    if (this.state === "starting" || this.state === "ready") this.setState("draining", null);
  }

  /** Resolves once the queue-proxy has nothing in flight or queued. */
  idle(): Promise<void> {
    return this.proxy.idle();
  }

  /** Stops the process (SIGTERM, SIGKILL after `graceMs`) and the queue-proxy; the instance is `gone`. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.process?.stop(graceMs);
    await this.proxy.close();
    if (this.configPath) await rm(this.configPath, { force: true });
    this.setState("gone", null);
  }

  /** This instance's entry in the node report; takes (and resets) the queue-proxy's load. */
  report(): InstanceReport {
    const load = this.proxy.takeLoad();
    const a = this.assignment;
    return {
      key: this.key,
      appkey: a.appkey,
      function: a.function,
      version: a.version,
      host: this.deps.host,
      port: this.proxyPort,
      state: this.state === "gone" ? "draining" : this.state,
      error: this.error,
      startedAtMs: this.startedAtMs,
      readyAtMs: this.readyAtMs,
      coldStartMs: this.coldStartMs,
      inFlight: load.inFlight,
      concurrency: load.concurrency,
      requests: load.requests,
      rejected: load.rejected,
      crashes: this.crashes,
    };
  }

  private async spawn(): Promise<void> {
    const [port, healthPort] = [await freePort(), await freePort()];
    // stop() may have run while the bundle or the port was awaited: spawn nothing it cannot kill.
    if (this.stopping) return;
    const spawnedAt = performance.now();
    const proc = WorkerdProcess.spawn(this.configPath as string, port, healthPort);
    this.process = proc;
    const outcome = await proc.waitReady(START_TIMEOUT_MS);
    if (this.stopping) return;
    if (outcome !== "ready") {
      if (outcome === "timeout") await proc.stop(1000);
      const exit = await proc.exited;
      const why = proc.stderrTail() || `workerd exited (code ${exit.code}, signal ${exit.signal}) before accepting connections`;
      this.setState("failed", outcome === "timeout" ? `not ready after ${START_TIMEOUT_MS} ms: ${why}` : why);
      return;
    }
    if (this.readyAtMs === null) {
      this.readyAtMs = Date.now();
      this.coldStartMs = Math.round(performance.now() - this.startedAt);
    }
    this.deps.logger.info(
      {
        instance: this.key,
        version: `${this.assignment.appkey}/${this.assignment.function}@${this.assignment.version}`,
        pid: proc.pid,
        spawnToReadyMs: Math.round(performance.now() - spawnedAt),
      },
      "function instance ready",
    );
    this.readyProcess = proc;
    this.setState("ready", null);
    void proc.exited.then((exit) => this.onExit(proc, exit.code, exit.signal));
  }

  private async onExit(proc: WorkerdProcess, code: number | null, signal: string | null): Promise<void> {
    if (this.readyProcess === proc) this.readyProcess = null;
    if (this.stopping || proc !== this.process) return;
    this.crashes++;
    this.deps.logger.warn(
      { instance: this.key, code, signal, crashes: this.crashes, stderr: proc.stderrTail() },
      "function instance crashed; replacing it",
    );
    if (this.state === "ready") this.setState("starting", null);
    const delayMs = this.crashes <= 1 ? 0 : Math.min(100 * 2 ** (this.crashes - 2), MAX_RESTART_DELAY_MS);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (!this.stopping) await this.spawn();
  }

  /** The workerd port for the queue-proxy: at once when ready, else when it becomes ready (or null). */
  private async upstream(): Promise<number | null> {
    const deadline = performance.now() + UPSTREAM_WAIT_MS;
    while (!this.stopping && performance.now() < deadline) {
      const proc = this.readyProcess;
      if (proc && !proc.done) return proc.port;
      if (this.state === "failed") return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - performance.now());
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return null;
  }

  private setState(state: Instance["state"], error: string | null): void {
    if (this.state === state && this.error === error) return;
    // Draining is one way: a crash replacement's readiness does not undo it.
    const next = this.state === "draining" && (state === "ready" || state === "starting") ? "draining" : state;
    this.state = next;
    this.error = error;
    this.wake();
    this.deps.onStateChange(this);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
