/**
 * Bundles a Worker for workerd: `<outDir>/worker.js` (ESM) beside `<outDir>/hotpath.wasm`, a copy
 * of build/hotpath.wasm, which the bundle imports as `./hotpath.wasm` (a workerd `wasm` module:
 * Workers may not compile WASM at run time). Used for the gateway (worker/build.ts) and the
 * policy bench's Worker (bench/policy.ts).
 */
import { copyFile, mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const HOTPATH_WASM = fileURLToPath(new URL("../../build/hotpath.wasm", import.meta.url));

/**
 * @param entry the Worker's entry module (path)
 * @param outDir the directory to write worker.js and hotpath.wasm to (created if missing)
 * @throws when esbuild fails or build/hotpath.wasm is missing (`npm run build:wasm` first)
 */
export async function bundleWorker(entry: string, outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [entry],
    outfile: `${outDir}/worker.js`,
    bundle: true,
    format: "esm",
    platform: "neutral",
    // npm packages the bench's Worker imports (@bufbuild/cel) resolve by these fields.
    mainFields: ["module", "main"],
    target: "es2022",
    minify: false,
    sourcemap: false,
    logLevel: "warning",
    // workerd's own modules (`cloudflare:sockets` for the cluster limits' Redis): workerd provides them.
    external: ["cloudflare:*"],
    plugins: [
      {
        name: "wasm-module",
        setup(b) {
          b.onResolve({ filter: /\.wasm$/ }, () => ({ path: "./hotpath.wasm", external: true }));
        },
      },
    ],
  });
  await copyFile(HOTPATH_WASM, `${outDir}/hotpath.wasm`);
}
