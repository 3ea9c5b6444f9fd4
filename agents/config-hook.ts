/**
 * What the agent does when a namespace's config changes (`--config-signal PID:SIGNAL` or
 * `--config-command CMD`): sends the signal to the process, or runs the command. Only the
 * operator's flags say what: nothing from a request or a config's content reaches it. Bounded:
 * one run at a time; changes during a run are coalesced into one more run after it; a command
 * still running after `commandTimeoutMs` is killed (SIGKILL).
 */
import { spawn } from "node:child_process";
import type { Logger } from "pino";

/** The operator's choice of reaction (from args.ts). */
export type ChangeAction = { kind: "signal"; pid: number; signal: NodeJS.Signals } | { kind: "command"; argv: string[] };

/** Longest a change command may run, ms. */
export const COMMAND_TIMEOUT_MS = 60_000;

export class ChangeHook {
  private readonly action: ChangeAction;
  private readonly logger: Logger;
  private readonly env: NodeJS.ProcessEnv;
  private readonly commandTimeoutMs: number;
  private running: Promise<void> | null = null;
  /** Namespaces changed since the running run started (run once more after it). */
  private pending = new Set<string>();
  private stopped = false;

  /**
   * @param env the command's environment (main.ts passes the agent's without its token); the
   *   hook adds SLUICE_CONFIG_CHANGED (the changed namespaces, comma-separated).
   */
  constructor(action: ChangeAction, logger: Logger, env: NodeJS.ProcessEnv, commandTimeoutMs = COMMAND_TIMEOUT_MS) {
    this.action = action;
    this.logger = logger;
    this.env = env;
    this.commandTimeoutMs = commandTimeoutMs;
  }

  /** Runs the action for `namespaces` now, or once more after the run in progress. */
  trigger(namespaces: string[]): void {
    if (this.stopped) return;
    for (const n of namespaces) this.pending.add(n);
    if (this.running) return;
    this.running = (async () => {
      while (this.pending.size > 0 && !this.stopped) {
        const changed = [...this.pending];
        this.pending = new Set();
        await this.runOnce(changed);
      }
    })().finally(() => {
      this.running = null;
    });
  }

  /** No new runs; resolves when the one in progress (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async runOnce(changed: string[]): Promise<void> {
    const action = this.action;
    if (action.kind === "signal") {
      try {
        process.kill(action.pid, action.signal);
        this.logger.info({ pid: action.pid, signal: action.signal, changed }, "config change signalled");
      } catch (err) {
        this.logger.warn({ pid: action.pid, signal: action.signal, err: (err as Error).message }, "config change signal failed");
      }
      return;
    }
    const [program, ...args] = action.argv as [string, ...string[]];
    await new Promise<void>((resolve) => {
      const child = spawn(program, args, {
        stdio: ["ignore", "ignore", "pipe"],
        env: { ...this.env, SLUICE_CONFIG_CHANGED: changed.join(",") },
      });
      let stderr = "";
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-2000);
      });
      const timer = setTimeout(() => child.kill("SIGKILL"), this.commandTimeoutMs);
      child.once("error", (err) => {
        clearTimeout(timer);
        this.logger.warn({ command: action.argv, err: err.message }, "config change command failed to start");
        resolve();
      });
      child.once("close", (code, signal) => {
        clearTimeout(timer);
        const fields = { command: action.argv, changed, code, signal, stderr: stderr.trim() || undefined };
        if (code === 0) this.logger.info(fields, "config change command ran");
        else this.logger.warn(fields, "config change command failed");
        resolve();
      });
    });
  }
}
