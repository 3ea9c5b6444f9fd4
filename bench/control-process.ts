/**
 * Control as a child process for the registry benches (`control/main.ts`, Node 24 as this
 * process), so its CPU and event loop are apart from the load generator's; several of them on
 * one PostgreSQL are replicas. The bench mints the secrets (admin and gateway tokens, Ed25519
 * signing key) and passes them through the environment, so every replica and gateway agrees.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { freePort, stopChild } from "./proc.ts";

const CONTROL_MAIN = fileURLToPath(new URL("../control/main.ts", import.meta.url));

export interface BenchSecrets {
  adminToken: string;
  gatewayToken: string;
  /** PKCS#8 private key, base64 (SLUICE_SIGNING_KEY). */
  signingKey: string;
  /** Raw public key, base64 (the gateways' SNAPSHOT_PUBLIC_KEY). */
  publicKey: string;
}

/** Fresh random tokens and a new Ed25519 key pair. */
export async function benchSecrets(): Promise<BenchSecrets> {
  const pair = (await crypto.subtle.generateKey("Ed25519", true, ["sign", "verify"])) as CryptoKeyPair;
  return {
    adminToken: randomBytes(32).toString("base64url"),
    gatewayToken: randomBytes(32).toString("base64url"),
    signingKey: Buffer.from(await crypto.subtle.exportKey("pkcs8", pair.privateKey)).toString("base64"),
    publicKey: Buffer.from(await crypto.subtle.exportKey("raw", pair.publicKey)).toString("base64"),
  };
}

export interface ControlProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts control/main.ts and waits until it listens. @throws when it exits first or takes 60 s. */
export async function startControlProcess(options: {
  dataDir: string;
  databaseUrl?: string;
  secrets: BenchSecrets;
}): Promise<ControlProcess> {
  const port = await freePort();
  // BENCH_CONTROL_NODE_ARGS: extra Node flags for control, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
  const nodeArgs = (process.env.BENCH_CONTROL_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, CONTROL_MAIN], {
    stdio: ["ignore", "pipe", "inherit"],
    env: {
      ...process.env,
      SLUICE_DATA_DIR: options.dataDir,
      DATABASE_URL: options.databaseUrl ?? "",
      SLUICE_CONTROL_PORT: String(port),
      SLUICE_ADMIN_TOKEN: options.secrets.adminToken,
      SLUICE_GATEWAY_TOKEN: options.secrets.gatewayToken,
      SLUICE_SIGNING_KEY: options.secrets.signingKey,
      SLUICE_LOG_LEVEL: "warn",
    },
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("control did not start within 60 s")), 60_000);
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("listening on")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`control exited (code ${code}) before listening`));
    });
  });
  child.stdout?.resume();
  return { url: `http://127.0.0.1:${port}`, pid: child.pid ?? -1, child, stop: () => stopChild(child) };
}
