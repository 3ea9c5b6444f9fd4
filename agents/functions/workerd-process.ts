/**
 * One `workerd serve` process: spawned with an EMPTY environment (no agent token or other Sluice
 * secret reaches a function), listening on 127.0.0.1:<port>; ready once its health socket
 * answers HTTP (workerd-config.ts says why a TCP connect is not enough). Its stderr's last lines are kept for the `error` of an instance that fails to start
 * (e.g. a module that throws at top level). The start path is lean on purpose: workerd answers
 * ~20–30 ms after spawn on this machine kind (/work/shared/TOOLCHAIN.md), so readiness is polled
 * every READY_POLL_MS (a refused connect is retried at once after it; an accepted one waits for
 * the answer, which comes when the modules have loaded or never, if the process exits).
 */
import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import { fileURLToPath } from "node:url";

/** The workerd binary from the `workerd` npm package (as worker/launcher/workerd.ts finds it). */
export const WORKERD_BIN = fileURLToPath(new URL("../../node_modules/.bin/workerd", import.meta.url));
/** Interval between TCP connect attempts while waiting for readiness, ms. */
export const READY_POLL_MS = 3;
/** Bytes of stderr kept (the tail). */
const STDERR_TAIL_BYTES = 4096;
/** Lines of stderr an error message carries. */
const ERROR_LINES = 10;

/** How a process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class WorkerdProcess {
  readonly port: number;
  private readonly healthPort: number;
  readonly pid: number | undefined;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<Exit>;
  private readonly child: ChildProcess;
  private tail = "";
  private exit: Exit | null = null;

  private constructor(child: ChildProcess, port: number, healthPort: number) {
    this.child = child;
    this.port = port;
    this.healthPort = healthPort;
    this.pid = child.pid;
    child.stderr?.on("data", (chunk: Buffer) => {
      this.tail = (this.tail + chunk.toString("utf8")).slice(-STDERR_TAIL_BYTES);
    });
    this.exited = new Promise((resolve) => {
      child.once("error", (err) => {
        this.tail += `\n${err.message}`;
        this.exit ??= { code: null, signal: null };
        resolve(this.exit);
      });
      child.once("exit", (code, signal) => {
        this.exit ??= { code, signal };
        // stderr may still hold buffered lines after 'exit'; 'close' follows once it is drained.
        child.once("close", () => resolve(this.exit as Exit));
      });
    });
  }

  /** Spawns `workerd serve <configPath>` on 127.0.0.1:`port` (health: `healthPort`) with an empty environment. */
  static spawn(configPath: string, port: number, healthPort: number): WorkerdProcess {
    const args = ["serve", configPath, "--socket-addr", `http=127.0.0.1:${port}`, "--socket-addr", `health=127.0.0.1:${healthPort}`];
    const child = spawn(WORKERD_BIN, args, { env: {}, stdio: ["ignore", "ignore", "pipe"] });
    return new WorkerdProcess(child, port, healthPort);
  }

  /** Whether the process has exited. */
  get done(): boolean {
    return this.exit !== null;
  }

  /** The last lines of stderr, trimmed, for an error message ("" when it wrote nothing). */
  stderrTail(): string {
    return this.tail.trim().split("\n").slice(-ERROR_LINES).join("\n");
  }

  /**
   * Polls the health socket every READY_POLL_MS until it answers HTTP.
   * @returns `ready`, `exited` when the process ended first, or `timeout` after `timeoutMs`.
   */
  async waitReady(timeoutMs: number): Promise<"ready" | "exited" | "timeout"> {
    const deadline = performance.now() + timeoutMs;
    while (!this.done) {
      if (await answersHttp(this.healthPort, Math.max(1, deadline - performance.now()))) return "ready";
      if (performance.now() > deadline) return "timeout";
      await Promise.race([sleep(READY_POLL_MS), this.exited]);
    }
    return "exited";
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  async stop(graceMs: number): Promise<void> {
    if (this.done) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** True when 127.0.0.1:`port` answers a GET with an HTTP status line within `timeoutMs`. */
function answersHttp(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const done = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => socket.write("GET /ready HTTP/1.1\r\nhost: health\r\nconnection: close\r\n\r\n"));
    socket.once("data", (chunk: Buffer) => done(chunk.toString("latin1").startsWith("HTTP/1.1 ")));
    socket.once("error", () => done(false));
    socket.once("close", () => done(false));
  });
}

/** A TCP port free on 127.0.0.1 now (the kernel picks it; a tiny race with other binders remains). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
