/**
 * Sluice's edge gateway Worker: runs under self-hosted `workerd serve`, `wrangler dev` or on
 * Cloudflare. The WASM hot path is imported as a compiled module because Workers forbid
 * compiling WASM at request time.
 */
import hotpathModule from "../build/hotpath.wasm";
import { type Env, readConfig } from "./env.ts";
import { Gateway } from "./gateway.ts";

let gateway: Gateway | undefined;

export default {
  fetch(request, env, ctx) {
    gateway ??= new Gateway(readConfig(env), hotpathModule);
    return gateway.handle(request, ctx);
  },
} satisfies ExportedHandler<Env>;
