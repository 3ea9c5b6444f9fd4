/**
 * A Bun or Deno process of cluster-processes.test.ts: runs cluster-probe.ts with that runtime's
 * SocketConnect (worker/runtime/bun-socket.ts, deno-socket.ts) and prints its result as a line
 * of JSON. Argument: the ProbeSpec as JSON (its `runtime` is filled in here).
 */
import type { SocketConnect } from "../../../../worker/plugins/limits/socket.ts";
import { fireChecks, type ProbeSpec } from "./cluster-probe.ts";

interface DenoLike {
  args: string[];
  exit(code: number): never;
}
const deno = (globalThis as { Deno?: DenoLike }).Deno;
const spec = JSON.parse((deno ? deno.args : process.argv.slice(2))[0] as string) as ProbeSpec;

// Loaded by computed path: each runtime's connector uses globals only its runtime has (and tsc knows neither).
const connector = deno ? "../../../../worker/runtime/deno-socket.ts" : "../../../../worker/runtime/bun-socket.ts";
const module = (await import(new URL(connector, import.meta.url).href)) as Record<string, SocketConnect>;
const connect = (deno ? module.denoConnect : module.bunConnect) as SocketConnect;

console.log(JSON.stringify(await fireChecks(connect, { ...spec, runtime: deno ? "deno" : "bun", reuseConnection: true })));
if (deno) deno.exit(0);
else process.exit(0);
