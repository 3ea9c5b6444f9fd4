/**
 * Worker Loader mode (docs/functions-runtime.md): where Sluice cannot start processes — Cloudflare,
 * `wrangler dev` — a function version runs inside the gateway's own workerd through the Worker
 * Loader binding (Dynamic Workers: `env.LOADER.get(id, getCode)`), each version in an isolate of
 * its own. Its code comes from control (GET /v1/gateway/functions/…/code, gateway token) once per
 * version per isolate; versions are immutable, so the loader's id names the version and its
 * bundle hash, and the runtime may keep that isolate warm.
 *
 * The loaded code sees only its own env vars (never the gateway's bindings or tokens) and no
 * network unless its function allows outbound (`globalOutbound: null` blocks fetch and connect).
 */

/** Which version to run. */
export interface VersionRef {
  appkey: string;
  function: string;
  version: number;
}

/** A version's code as control serves it (control/api/function-code.ts FunctionCodeSchema). */
export interface FunctionCode {
  sha256: string;
  main: string;
  compatibilityDate: string;
  env: Record<string, string>;
  allowOutbound: boolean;
  /** Content base64: esm UTF-8 source, wasm binary. */
  modules: { name: string; type: "esm" | "wasm"; content: string }[];
}

/** What the loader runs (the part of workers-types' WorkerLoaderWorkerCode used here). */
export interface LoaderWorkerCode {
  compatibilityDate: string;
  mainModule: string;
  /** Module name → ES module source, or `{wasm: bytes}`. */
  modules: Record<string, string | { wasm: Uint8Array }>;
  env: Record<string, string>;
  /** null: no network at all; absent: the gateway's own outbound. */
  globalOutbound?: null;
}

/** The binding's surface used here (workers-types WorkerLoader; `LOADER` in worker/launcher/capnp.ts and wrangler.jsonc). */
export interface LoaderBinding {
  get(id: string, getCode: () => Promise<LoaderWorkerCode>): { getEntrypoint(): { fetch(request: Request): Promise<Response> } };
}

/** Fetches a version's code; rejects when control cannot be reached or answers other than 200. */
export type CodeSource = (ref: VersionRef) => Promise<FunctionCode>;

/** Thrown by LoaderRunner.fetch when the version's code cannot be had (control down, version gone). */
export class CodeUnavailableError extends Error {}

/**
 * The path of a version's code on control. Names are URL-safe by their API patterns, encoded anyway.
 * @example codePath({appkey: "shop", function: "hello", version: 3}) // "/v1/gateway/functions/shop/hello/versions/3/code"
 */
export function codePath(ref: VersionRef): string {
  return `/v1/gateway/functions/${encodeURIComponent(ref.appkey)}/${encodeURIComponent(ref.function)}/versions/${ref.version}/code`;
}

/** A CodeSource reading control at `controlUrl` with the gateway token. */
export function controlCodeSource(controlUrl: string, gatewayToken: string): CodeSource {
  return async (ref) => {
    const response = await fetch(new URL(codePath(ref), controlUrl), { headers: { authorization: `Bearer ${gatewayToken}` } });
    if (response.status !== 200) {
      const detail = await response.text().catch(() => "");
      throw new CodeUnavailableError(`control answered ${response.status} for the code of ${label(ref)}: ${detail.slice(0, 200)}`);
    }
    return (await response.json()) as FunctionCode;
  };
}

/**
 * The Worker Loader's code object for `code`: esm modules as source strings, wasm as bytes, env
 * vars as plain strings, and the network cut off unless allowed.
 */
export function workerCode(code: FunctionCode): LoaderWorkerCode {
  const modules: Record<string, string | { wasm: Uint8Array }> = {};
  for (const m of code.modules) {
    const bytes = base64Bytes(m.content);
    modules[m.name] = m.type === "esm" ? new TextDecoder().decode(bytes) : { wasm: bytes };
  }
  return {
    compatibilityDate: code.compatibilityDate,
    mainModule: code.main,
    modules,
    env: { ...code.env },
    // null: no network at all; undefined: the gateway's own outbound (its configured network).
    ...(code.allowOutbound ? {} : { globalOutbound: null }),
  };
}

/** Runs function versions in loaded isolates, one per version, code fetched once per isolate of the gateway. */
export class LoaderRunner {
  private readonly codes = new Map<string, Promise<FunctionCode>>();
  private readonly loader: LoaderBinding;
  private readonly source: CodeSource;

  constructor(loader: LoaderBinding, source: CodeSource) {
    this.loader = loader;
    this.source = source;
  }

  /**
   * Sends `request` to version `ref`. The code is fetched before the loader is asked, so a missing
   * version fails here with CodeUnavailableError (the caller answers 503) rather than inside the
   * loader; a failed fetch is forgotten, so the next request tries again.
   * @throws CodeUnavailableError; whatever the loaded code throws (a module that throws at start,
   *   an uncaught error in its fetch) rejects the returned promise.
   */
  async fetch(ref: VersionRef, request: Request): Promise<Response> {
    const key = label(ref);
    let pending = this.codes.get(key);
    if (!pending) {
      pending = this.source(ref);
      this.codes.set(key, pending);
      pending.catch(() => this.codes.delete(key));
    }
    let code: FunctionCode;
    try {
      code = await pending;
    } catch (error) {
      throw error instanceof CodeUnavailableError ? error : new CodeUnavailableError(`the code of ${key} could not be fetched: ${error}`);
    }
    const stub = this.loader.get(`${key}#${code.sha256}`, async () => workerCode(code));
    return stub.getEntrypoint().fetch(request);
  }
}

function label(ref: VersionRef): string {
  return `${ref.appkey}/${ref.function}@${ref.version}`;
}

function base64Bytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
