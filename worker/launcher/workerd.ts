/**
 * Runs a Worker under self-hosted `workerd serve`, one process per core. workerd runs one
 * request thread per process and sets only SO_REUSEADDR, so a second process cannot bind the
 * same port itself; instead this launcher opens one SO_REUSEPORT listening socket per process
 * and hands each its own with `--socket-fd http=3` (the kernel then spreads connections evenly,
 * unlike one shared fd): a fetch() pass-through went from 5.7k to 9.7k req/s on 2 cores (wrk on
 * loopback, 2026-11-21, this 2-core machine kind). The processes are supervised
 * (worker/launcher/supervisor.ts): one that dies is started again on a fresh socket of the same port.
 * All processes share one config; what differs per process, its place in the cluster
 * (worker/env.ts PROCESS_BINDINGS), reaches it through its own environment, as SLUICE_<binding>,
 * which the config binds with `fromEnvironment` (processEnvBindings).
 */
import { spawn } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import type net from "node:net";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pino, { type Logger } from "pino";
import { PROCESS_BINDINGS, processBindings } from "../env.ts";
import { listenReusePort } from "./ports.ts";
import { type ProcessCluster, type ProcessOutput, type ProcessPlace, runCluster } from "./supervisor.ts";

/** The workerd binary from the `workerd` npm package (pinned in package.json). */
export const WORKERD_BIN = fileURLToPath(new URL("../../node_modules/.bin/workerd", import.meta.url));

export interface WorkerdLaunch {
  /** Directory holding the config and the modules it embeds. */
  dir: string;
  /** Cap'n Proto config text (worker/launcher/capnp.ts). */
  config: string;
  /** Listening address (default 127.0.0.1); port 0 picks a free one. */
  host?: string;
  port: number;
  /** Processes (default: one per core). */
  processes?: number;
  /** Extra environment for workerd (fromEnvironment bindings). */
  env?: Record<string, string>;
  /** Where workerd's stdout/stderr go (default: inherit; ProcessOutput). */
  stdio?: ProcessOutput;
  /** Where restarts are reported (default: pino to stdout, name `sluice-launcher`). */
  logger?: Logger;
}

/** The environment variable a per-process binding is read from under workerd: SLUICE_<binding>. */
const processEnvName = (binding: string) => `SLUICE_${binding}`;

/**
 * The `fromEnvironment` bindings (binding → variable) a config needs for each process to see its
 * place in the cluster (worker/env.ts PROCESS_BINDINGS); launchWorkerd sets the variables per process.
 */
export function processEnvBindings(): Record<string, string> {
  return Object.fromEntries(Object.values(PROCESS_BINDINGS).map((name) => [name, processEnvName(name)]));
}

/** Launches by this process, to name each launch's config file. */
let launches = 0;

/**
 * Writes the config into `dir` (as `config-<pid>-<n>.capnp`, removed by `close()`), starts the
 * processes and waits until the port answers.
 * @throws as runCluster (worker/launcher/supervisor.ts), or when the port cannot be bound.
 */
export async function launchWorkerd(launch: WorkerdLaunch): Promise<ProcessCluster> {
  const host = launch.host ?? "127.0.0.1";
  // One file per launch: concurrent launches (test files, benchmarks) share `dir`, and a workerd
  // starting while another launch rewrites a shared config.capnp would serve the wrong config.
  launches += 1;
  const configPath = join(launch.dir, `config-${process.pid}-${launches}.capnp`);
  await writeFile(configPath, launch.config, { mode: 0o600 });

  // The first socket fixes the port (port 0 picks one); the other slots and any restart reuse it.
  let first: net.Server | undefined = await listenReusePort(host, launch.port);
  const port = (first.address() as net.AddressInfo).port;
  const start = async (place: ProcessPlace) => {
    const placeEnv = Object.fromEntries(Object.entries(processBindings(place)).map(([name, value]) => [processEnvName(name), value]));
    const server = first ?? (await listenReusePort(host, port));
    first = undefined;
    // The listening socket's descriptor, inherited by workerd as fd 3.
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    const child = spawn(WORKERD_BIN, ["serve", "--experimental", configPath, "--socket-fd", "http=3"], {
      stdio: ["ignore", launch.stdio ?? "inherit", launch.stdio ?? "inherit", fd],
      env: { ...process.env, ...launch.env, ...placeEnv },
    });
    // The child holds its own copy; closing ours stops this process from accepting.
    server.close();
    return child;
  };
  return runCluster({
    name: "workerd",
    host,
    port,
    processes: launch.processes ?? availableParallelism(),
    start,
    logger: launch.logger ?? pino({ name: "sluice-launcher" }),
    cleanUp: () => rm(configPath, { force: true }),
  });
}
