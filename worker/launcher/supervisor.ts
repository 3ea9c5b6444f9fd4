/**
 * Runs and supervises a gateway's processes, whatever the runtime (workerd: worker/launcher/
 * workerd.ts, Bun: worker/launcher/bun.ts, Deno: worker/launcher/deno.ts): N processes serving
 * one port, started by the runtime's own `start(place)`. A process that exits without being told to is logged and started
 * again in its slot, after a back-off that doubles from 100 ms to 10 s while it keeps crashing
 * (Kubernetes' CrashLoopBackOff, reset after 10 s of running), so a killed process costs
 * capacity for a moment, not for good. Each start is told its place (worker/env.ts ProcessPlace:
 * slot, that slot's restarts, the cluster's restarts, start time), which the runtime passes to the
 * process as bindings (processBindings) for its status document.
 */
import type { ChildProcess } from "node:child_process";
import net from "node:net";
import type { Logger } from "pino";
import type { ProcessPlace } from "../env.ts";

export type { ProcessPlace } from "../env.ts";

/**
 * Where a gateway process's stdout and stderr (its log and access log) go: the launcher's own
 * (`inherit`), nowhere (`ignore`), or an open file's descriptor (tests read the log from it).
 */
export type ProcessOutput = "inherit" | "ignore" | number;

export interface ProcessCluster {
  /** e.g. `http://127.0.0.1:8080`. */
  url: string;
  port: number;
  /** PIDs of the running processes, one per slot; updated in place when one is restarted. */
  pids: number[];
  /** Processes started again after an unplanned exit, since launch. */
  readonly restarts: number;
  /** The same per slot; updated in place. */
  readonly slotRestarts: readonly number[];
  /** Stops supervising; SIGTERM to our own processes, then SIGKILL after 3 s. */
  close(): Promise<void>;
}

export interface ClusterSpec {
  /** The runtime's name, in log lines and errors (`workerd`, `bun`, `deno`). */
  name: string;
  /** Where the processes listen: the cluster is up once host:port accepts a connection. */
  host: string;
  port: number;
  /** Processes, one per slot. */
  processes: number;
  /**
   * Spawns the process for `place.slot`: at launch (restarts 0), and again after it died. The
   * runtime passes `place` to the process as bindings (worker/env.ts processBindings).
   * @throws when it cannot.
   */
  start(place: ProcessPlace): Promise<ChildProcess>;
  /** Where restarts are reported. */
  logger: Logger;
  /** Runs once the processes have stopped (removes what the launch wrote). */
  cleanUp?: () => Promise<void>;
}

/** First wait before starting a crashed process again, ms; doubles per crash in a row. */
export const RESTART_BACKOFF_MIN_MS = 100;
/** Longest wait between restarts, ms. */
export const RESTART_BACKOFF_MAX_MS = 10_000;
/** A process that ran this long before exiting starts its back-off from the minimum again, ms. */
const RESTART_BACKOFF_RESET_MS = 10_000;
/** How long the processes have to open the port at launch, ms. */
const START_TIMEOUT_MS = 15_000;

/**
 * The wait before restart number `crashesInARow` (1 for the first), ms: 100, 200, 400 … 10 000.
 * @example restartDelayMs(1) // → 100; restartDelayMs(9) // → 10000
 */
export function restartDelayMs(crashesInARow: number): number {
  return Math.min(RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_MIN_MS * 2 ** Math.max(0, crashesInARow - 1));
}

/**
 * Starts `spec.processes` processes, waits until the port answers, then supervises them.
 * @throws when a process cannot be spawned, exits before the port answers, or after 15 s (the
 *   processes started are stopped first).
 */
export async function runCluster(spec: ClusterSpec): Promise<ProcessCluster> {
  const { name, host, port, logger } = spec;
  const children: ChildProcess[] = [];
  let closing = false;
  let restarts = 0;
  const slotRestarts: number[] = Array.from({ length: spec.processes }, () => 0);
  const pending = new Set<ReturnType<typeof setTimeout>>();
  /** Starts slot `slot` again after the back-off for `crashes` crashes in a row. */
  const restartLater = (slot: number, crashes: number) => {
    const timer = setTimeout(async () => {
      pending.delete(timer);
      if (closing) return;
      // Counted before the spawn, so two slots restarting at once are told different cluster totals.
      restarts += 1;
      const slotCount = (slotRestarts[slot] ?? 0) + 1;
      slotRestarts[slot] = slotCount;
      const place = { slot, restarts: slotCount, clusterRestarts: restarts, startedAtMs: Date.now() };
      try {
        const next = await spec.start(place);
        children[slot] = next;
        cluster.pids[slot] = next.pid ?? -1;
        logger.info({ pid: next.pid, slot, restarts: place.restarts, clusterRestarts: place.clusterRestarts }, `${name} restarted`);
        supervise(slot, crashes);
      } catch (error) {
        restarts -= 1;
        slotRestarts[slot] = slotCount - 1;
        logger.error({ err: error, slot }, `could not start ${name} again; retrying`);
        restartLater(slot, crashes + 1);
      }
    }, restartDelayMs(crashes));
    pending.add(timer);
  };
  /** Watches slot `slot`'s process: an exit nobody asked for is logged and restarted. */
  const supervise = (slot: number, crashesInARow: number) => {
    const child = children[slot] as ChildProcess;
    const startedAt = Date.now();
    child.once("exit", (code, signal) => {
      if (closing) return;
      const crashes = Date.now() - startedAt >= RESTART_BACKOFF_RESET_MS ? 1 : crashesInARow + 1;
      logger.warn(
        { pid: child.pid, code, signal, slot, restartInMs: restartDelayMs(crashes) },
        `${name} exited unexpectedly; restarting it`,
      );
      restartLater(slot, crashes);
    });
  };

  const cluster: ProcessCluster = {
    url: `http://${host}:${port}`,
    port,
    pids: [],
    get restarts() {
      return restarts;
    },
    slotRestarts,
    close: async () => {
      closing = true;
      for (const timer of pending) clearTimeout(timer);
      await Promise.all(children.map(stopChild));
      await spec.cleanUp?.();
    },
  };
  try {
    for (let slot = 0; slot < spec.processes; slot++) {
      children.push(await spec.start({ slot, restarts: 0, clusterRestarts: 0, startedAtMs: Date.now() }));
    }
    cluster.pids.push(...children.map((c) => c.pid ?? -1));
    await waitForPort(name, host, port, children);
  } catch (err) {
    await cluster.close();
    throw err;
  }
  for (let slot = 0; slot < children.length; slot++) supervise(slot, 0);
  return cluster;
}

async function waitForPort(name: string, host: string, port: number, children: ChildProcess[]): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const exited = children.find((c) => c.exitCode !== null || c.signalCode !== null);
    if (exited) throw new Error(`${name} exited early (code ${exited.exitCode}, signal ${exited.signalCode})`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${name} did not open ${host}:${port} within ${START_TIMEOUT_MS / 1000} s`);
}

/** SIGTERM to `child` by its PID, SIGKILL after 3 s; resolves once it has exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const killTimer = setTimeout(() => child.kill("SIGKILL"), 3000);
    child.once("exit", () => {
      clearTimeout(killTimer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
