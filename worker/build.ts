/**
 * Bundles the gateway Worker for workerd: build/worker/worker.js (ESM) beside
 * build/worker/hotpath.wasm, which the bundle imports as `./hotpath.wasm` (a workerd `wasm`
 * module). `wrangler` does its own bundling from worker/index.ts and does not need this.
 */
import { copyFile, mkdir } from "node:fs/promises";
import { build } from "esbuild";

const outDir = "build/worker";
await mkdir(outDir, { recursive: true });
await build({
  entryPoints: ["worker/index.ts"],
  outfile: `${outDir}/worker.js`,
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  minify: false,
  sourcemap: false,
  logLevel: "warning",
  plugins: [
    {
      name: "wasm-module",
      setup(b) {
        b.onResolve({ filter: /\.wasm$/ }, () => ({ path: "./hotpath.wasm", external: true }));
      },
    },
  ],
});
await copyFile("build/hotpath.wasm", `${outDir}/hotpath.wasm`);
