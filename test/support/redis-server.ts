/**
 * A private `redis-server` for tests (no persistence), on a free port, started and stopped by
 * PID: stop it mid-test, start it again on the same port, or freeze it (SIGSTOP) to make it slow.
 */
import { freePort } from "../../worker/launcher/ports.ts";
import { type Child, spawnTracked } from "./processes.ts";

export interface TestRedis {
  port: number;
  /** Starts it (again) on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** SIGKILLs it and waits for its exit. */
  stop(): Promise<void>;
  /** SIGSTOP / SIGCONT: connections stay open and nothing answers. */
  freeze(): void;
  thaw(): void;
}

export async function startTestRedis(): Promise<TestRedis> {
  const port = await freePort();
  let child: Child | null = null;
  const redis: TestRedis = {
    port,
    async start() {
      child = spawnTracked("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
      await child.waitFor(/Ready to accept connections/, 10_000);
    },
    async stop() {
      if (child === null) return;
      const running = child;
      child = null;
      running.kill("SIGCONT");
      running.kill("SIGKILL");
      await running.exited;
    },
    freeze() {
      child?.kill("SIGSTOP");
    },
    thaw() {
      child?.kill("SIGCONT");
    },
  };
  await redis.start();
  return redis;
}
