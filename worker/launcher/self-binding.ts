/**
 * What the Bun and Deno launchers share: processes of a runtime that binds the gateway's port
 * itself (`reusePort`: SO_REUSEPORT spreads connections over them; workerd instead gets its
 * sockets from its launcher), given the gateway's bindings as environment variables and their
 * place in the cluster (worker/env.ts PROCESS_BINDINGS), supervised by runCluster.
 */
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import pino, { type Logger } from "pino";
import { PROCESS_BINDINGS, processBindings } from "../env.ts";
import { freePort } from "./ports.ts";
import { type ProcessCluster, type ProcessOutput, type ProcessPlace, runCluster } from "./supervisor.ts";

/** How a launcher of a self-binding runtime is asked to start the gateway. */
export interface SelfBindingLaunch {
  /** Binding name → value (worker/env.ts), passed as environment variables of those names. */
  bindings: Record<string, string>;
  /** Listening address (default 127.0.0.1); port 0 picks a free one. */
  host?: string;
  port: number;
  /** Processes (default: one per core). */
  processes?: number;
  /** Where the processes' stdout/stderr go (default: inherit; ProcessOutput). */
  stdio?: ProcessOutput;
  /** Where restarts are reported (default: pino to stdout, name `sluice-launcher`). */
  logger?: Logger;
}

/** One runtime's way of running the entry. */
export interface SelfBindingRuntime {
  /** `bun`, `deno`: in log lines and errors. */
  name: string;
  bin: string;
  /** The command line, given every variable name the process is passed (Deno allows exactly those). */
  args(envNames: string[]): string[];
  /** Launcher variables the runtime itself reads (its cache, temp dir …), inherited as they are. */
  inherits(name: string): boolean;
}

/**
 * Starts `launch.processes` processes of `runtime` and waits until the port answers. Only what the
 * runtime itself reads is inherited from the launcher's environment: the gateway's bindings are
 * exactly `launch.bindings`, as under workerd, not whatever CONTROL_URL or ZONE the launcher's own
 * environment holds. SLUICE_GATEWAY_HOST and SLUICE_GATEWAY_PORT say where to listen.
 * @throws as runCluster (worker/launcher/supervisor.ts).
 */
export async function launchSelfBinding(runtime: SelfBindingRuntime, launch: SelfBindingLaunch): Promise<ProcessCluster> {
  const host = launch.host ?? "127.0.0.1";
  const port = launch.port || (await freePort(host));
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => runtime.inherits(name)));
  // SLUICE_EXIT_WITH_LAUNCHER: each process watches the stdin pipe below (worker/runtime/parent-guard.ts).
  const gatewayEnv = { ...launch.bindings, SLUICE_GATEWAY_HOST: host, SLUICE_GATEWAY_PORT: String(port), SLUICE_EXIT_WITH_LAUNCHER: "1" };
  const args = runtime.args([...Object.keys(gatewayEnv), ...Object.values(PROCESS_BINDINGS)]);
  const start = async (place: ProcessPlace) =>
    spawn(runtime.bin, args, {
      // A pipe never written to: it closes when this process exits, however it exits, and the
      // gateway process then exits too (no orphans serving after their launcher is gone).
      stdio: ["pipe", launch.stdio ?? "inherit", launch.stdio ?? "inherit"],
      env: { ...inherited, ...gatewayEnv, ...processBindings(place) },
    });
  return runCluster({
    name: runtime.name,
    host,
    port,
    processes: launch.processes ?? availableParallelism(),
    start,
    logger: launch.logger ?? pino({ name: "sluice-launcher" }),
  });
}
