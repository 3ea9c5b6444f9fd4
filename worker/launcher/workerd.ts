/**
 * Runs a Worker under self-hosted `workerd serve`, one process per core. workerd runs one
 * request thread per process and sets only SO_REUSEADDR, so a second process cannot bind the
 * same port itself; instead this launcher opens one SO_REUSEPORT listening socket per process
 * and hands each its own with `--socket-fd http=3` (the kernel then spreads connections evenly,
 * unlike one shared fd): a fetch() pass-through went from 5.7k to 9.7k req/s on 2 cores (wrk on
 * loopback, 2026-11-21, this 2-core machine kind).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

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
  /** Where workerd's stdout/stderr go (default: inherit). */
  stdio?: "inherit" | "ignore";
}

export interface WorkerdCluster {
  /** e.g. `http://127.0.0.1:8080`. */
  url: string;
  port: number;
  /** PIDs of the workerd processes this launcher started. */
  pids: number[];
  /** SIGTERM to our own processes, then SIGKILL after 3 s. */
  close(): Promise<void>;
}

/** Launches by this process, to name each launch's config file. */
let launches = 0;

/**
 * Writes the config into `dir` (as `config-<pid>-<n>.capnp`, removed by `close()`), starts the
 * processes and waits until the port answers.
 * @throws when a process exits before the port answers, or after 15 s.
 */
export async function launchWorkerd(launch: WorkerdLaunch): Promise<WorkerdCluster> {
  const host = launch.host ?? "127.0.0.1";
  const count = launch.processes ?? availableParallelism();
  // One file per launch: concurrent launches (test files, benchmarks) share `dir`, and a workerd
  // starting while another launch rewrites a shared config.capnp would serve the wrong config.
  launches += 1;
  const configPath = join(launch.dir, `config-${process.pid}-${launches}.capnp`);
  await writeFile(configPath, launch.config, { mode: 0o600 });

  const sockets: net.Server[] = [];
  let port = launch.port;
  for (let i = 0; i < count; i++) {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port, reusePort: true, exclusive: true }, () => resolve());
    });
    port = (server.address() as net.AddressInfo).port;
    sockets.push(server);
  }

  const children: ChildProcess[] = sockets.map((server) => {
    // The listening socket's descriptor, inherited by workerd as fd 3.
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    return spawn(WORKERD_BIN, ["serve", "--experimental", configPath, "--socket-fd", "http=3"], {
      stdio: ["ignore", launch.stdio ?? "inherit", launch.stdio ?? "inherit", fd],
      env: { ...process.env, ...launch.env },
    });
  });
  // The children hold their own copies; closing ours stops this process from accepting.
  for (const server of sockets) server.close();

  const cluster: WorkerdCluster = {
    url: `http://${host}:${port}`,
    port,
    pids: children.map((c) => c.pid ?? -1),
    close: async () => {
      await stopChildren(children);
      await rm(configPath, { force: true });
    },
  };
  try {
    await waitForPort(host, port, children);
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return cluster;
}

async function waitForPort(host: string, port: number, children: ChildProcess[]): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const exited = children.find((c) => c.exitCode !== null || c.signalCode !== null);
    if (exited) throw new Error(`workerd exited early (code ${exited.exitCode}, signal ${exited.signalCode})`);
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
  throw new Error(`workerd did not open ${host}:${port} within 15 s`);
}

async function stopChildren(children: ChildProcess[]): Promise<void> {
  await Promise.all(children.map(stopChild));
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
