/**
 * Bundles the gateway Worker for workerd: build/worker/worker.js beside build/worker/hotpath.wasm
 * (worker/launcher/bundle.ts). `wrangler` does its own bundling from worker/index.ts and does not need this.
 */
import { bundleWorker } from "./launcher/bundle.ts";

await bundleWorker("worker/index.ts", "build/worker");
