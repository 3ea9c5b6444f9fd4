/**
 * A whole Sluice on 127.0.0.1 for end-to-end tests: control (on a test database), the gateway
 * Worker under real `workerd serve`, and an admin client. Every process started here is stopped
 * by `close()`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { type RunningControl, startControl } from "../../control/server.ts";
import { startGateway } from "../../worker/launcher/gateway.ts";
import type { WorkerdCluster } from "../../worker/launcher/workerd.ts";
import type { Backend } from "./backends.ts";
import { type Client, clientFor, httpTarget } from "./client.ts";

export interface Stack {
  control: RunningControl;
  gateway: WorkerdCluster;
  admin: Client;
  close(): Promise<void>;
}

/** Starts control on `backend` and a gateway of `processes` workerd processes polling every 100 ms. */
export async function startStack(backend: Backend, processes = 2): Promise<Stack> {
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
  });
  const gateway = await startGateway({
    controlUrl: control.url,
    gatewayToken: control.tokens.gatewayToken,
    snapshotPublicKey: control.signingKey.publicKeyBase64,
    port: 0,
    processes,
    snapshotPollMs: 100,
    stdio: "ignore",
  });
  return {
    control,
    gateway,
    admin: clientFor(httpTarget(control.url), control.tokens.adminToken),
    async close() {
      await gateway.close();
      await control.close();
      await database?.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
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
