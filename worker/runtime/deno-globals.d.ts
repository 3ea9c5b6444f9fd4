// The few Deno APIs worker/runtime/deno.ts uses (Deno 2.9), declared here because Deno's own
// typings (`deno types`) redeclare the Web globals that @cloudflare/workers-types and lib.dom
// declare. Only worker/runtime/tsconfig.json sees them: worker/*.ts cannot type-check a use of Deno.
declare namespace Deno {
  const env: {
    /** The variable's value, undefined when unset. @throws NotCapable without --allow-env for it. */
    get(name: string): string | undefined;
  };
  const permissions: {
    querySync(descriptor: { name: "env"; variable: string }): { state: "granted" | "denied" | "prompt" };
  };
  /** @throws NotFound, NotCapable (no --allow-read for the path). */
  function readFile(path: string): Promise<Uint8Array<ArrayBuffer>>;
  /** Standard input (worker/runtime/parent-guard.ts reads it to its end). */
  const stdin: { readonly readable: ReadableStream<Uint8Array> };
  function exit(code?: number): never;
  interface NetAddr {
    transport: "tcp" | "udp";
    /** IP address as text; IPv6 without brackets. */
    hostname: string;
    port: number;
  }
  interface ServeHandlerInfo {
    /** The connection's peer. */
    remoteAddr: NetAddr;
  }
  /** A TCP connection as web streams (worker/runtime/deno-socket.ts). */
  interface TcpConn {
    readonly readable: ReadableStream<Uint8Array>;
    readonly writable: WritableStream<Uint8Array>;
    close(): void;
  }
  /** @throws ConnectionRefused, NotCapable (no --allow-net). */
  function connect(options: { hostname: string; port: number }): Promise<TcpConn>;
  function serve(
    options: {
      hostname: string;
      port: number;
      /** SO_REUSEPORT (Linux): each process binds the port, the kernel spreads connections. */
      reusePort: boolean;
      onListen(addr: NetAddr): void;
    },
    handler: (request: Request, info: ServeHandlerInfo) => Response | Promise<Response>,
  ): { finished: Promise<void> };
}
