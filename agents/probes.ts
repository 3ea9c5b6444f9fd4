/**
 * One health probe of an instance from its own host: TCP (the port accepts a connection) or HTTP
 * (GET path answers 2xx/3xx), each bounded by a timeout. Never throws: a probe passes or fails.
 */
import net from "node:net";
import type { CheckSpec } from "./spec.ts";

/** @returns true when the instance at `host`:`port` passes `check` within its timeout. */
export async function probe(check: CheckSpec, host: string, port: number): Promise<boolean> {
  const target = { host: check.host ?? host, port: check.port ?? port };
  return check.type === "tcp"
    ? probeTcp(target.host, target.port, check.timeoutMs)
    : probeHttp(target.host, target.port, check.path, check.timeoutMs);
}

function probeTcp(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

async function probeHttp(host: string, port: number, path: string, timeoutMs: number): Promise<boolean> {
  const hostPart = host.includes(":") ? `[${host}]` : host;
  try {
    const res = await fetch(`http://${hostPart}:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
    await res.body?.cancel();
    return res.status >= 200 && res.status < 400;
  } catch {
    return false;
  }
}
