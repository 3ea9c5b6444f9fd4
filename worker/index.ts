/**
 * Sluice's edge gateway Worker: runs under self-hosted `workerd serve`, `wrangler dev` or on
 * Cloudflare. The WASM hot path is imported as a compiled module because Workers forbid
 * compiling WASM at request time.
 */
import hotpathModule from "../build/hotpath.wasm";
import { type Env, readConfig } from "./env.ts";
import type { LoaderBinding } from "./functions/loader.ts";
import { Gateway } from "./gateway.ts";
import { workerdConnect } from "./plugins/limits/workerd-socket.ts";

let gateway: Gateway | undefined;

export default {
  fetch(request, env, ctx) {
    // A workerd socket belongs to the request that opened it: one connection per cluster check.
    gateway ??= new Gateway(readConfig(env), hotpathModule, env.LOADER, { connect: workerdConnect, reuseConnection: false });
    return gateway.handle(request, ctx);
  },
  /**
   * An HTTP CONNECT. workerd hands CONNECT to this handler rather than to fetch(), and has
   * already answered `200` by then (without the handler it answers 500), so the gateway cannot
   * send the 405 it sends elsewhere (worker/request-target.ts): it closes the tunnel at once,
   * proxying nothing.
   */
  async connect(socket: Socket) {
    await socket.close();
  },
} satisfies ExportedHandler<Env & { LOADER?: LoaderBinding }> & { connect(socket: Socket): Promise<void> };
