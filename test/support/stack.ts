/**
 * A whole Sluice on 127.0.0.1 for end-to-end tests: control (on a test database), the gateway
 * Worker under real `workerd serve`, and an admin client. Every process started here is stopped
 * by `close()`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { type ControlOptions, type RunningControl, startControl } from "../../control/server.ts";
import { type GatewayLaunch, startGateway } from "../../worker/launcher/gateway.ts";
import type { WorkerdCluster } from "../../worker/launcher/workerd.ts";
import type { Backend } from "./backends.ts";
import { type Client, clientFor, httpTarget } from "./client.ts";

export interface Stack {
  /** Replaceable: a test may stop control and start it again on the same data. */
  control: RunningControl;
  /** What control was started with, to start it again: its data directory and database. */
  dataDir: string;
  databaseUrl: string | undefined;
  gateway: WorkerdCluster;
  admin: Client;
  close(): Promise<void>;
}

/** Overrides for startStack: control's and the gateway's options. */
export interface StackOptions {
  control?: Partial<ControlOptions>;
  gateway?: Partial<GatewayLaunch>;
}

/** Starts control on `backend` and a gateway of `processes` workerd processes (fallback poll 100 ms). */
export async function startStack(backend: Backend, processes = 2, options: StackOptions = {}): Promise<Stack> {
  const dataDir = await mkdtemp(join(tmpdir(), "sluice-e2e-"));
  // PGlite runs inside control, in the data directory; PostgreSQL gets a fresh database.
  const database = backend.name === "postgres" ? await backend.open() : null;
  const control = await startControl({
    dataDir,
    databaseUrl: database?.url,
    port: 0,
    debounceMs: 10,
    env: {},
    logger: pino({ level: "warn" }),
    ...options.control,
  });
  const gateway = await startGateway({
    controlUrl: control.url,
    gatewayToken: control.tokens.gatewayToken,
    snapshotPublicKey: control.signingKey.publicKeyBase64,
    port: 0,
    processes,
    snapshotPollMs: 100,
    stdio: "ignore",
    ...options.gateway,
  });
  const stack: Stack = {
    control,
    dataDir,
    databaseUrl: database?.url,
    gateway,
    admin: clientFor(httpTarget(control.url), control.tokens.adminToken),
    async close() {
      await gateway.close();
      await stack.control.close();
      await database?.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return stack;
}

/** Polls `probe` every 50 ms until it returns true. @throws after `timeoutMs`. */
export async function eventually(probe: () => Promise<boolean>, timeoutMs = 5000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await probe()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`condition not reached within ${timeoutMs} ms`);
}
