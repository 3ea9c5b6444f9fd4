// The few Bun APIs worker/runtime/bun.ts uses (Bun 1.4), declared here because Bun's own
// typings (@types/bun) redeclare the Web globals that @cloudflare/workers-types declares. Only
// worker/runtime/tsconfig.json sees them: worker/*.ts cannot type-check a use of Bun.
declare namespace Bun {
  const env: Record<string, string | undefined>;
  function file(path: string): { arrayBuffer(): Promise<ArrayBuffer> };
  /** Standard input (worker/runtime/parent-guard.ts reads it to its end). */
  const stdin: { stream(): ReadableStream<Uint8Array> };
  interface SocketAddress {
    address: string;
    port: number;
    family: "IPv4" | "IPv6";
  }
  interface Server {
    readonly url: URL;
    /** The peer of the connection `request` came on; null when it is gone or not a socket. */
    requestIP(request: Request): SocketAddress | null;
  }
  /** A TCP client socket (worker/runtime/bun-socket.ts). */
  interface TcpSocket {
    /** Bytes taken (fewer when the kernel's buffer is full: wait for `drain`); -1 when closed. */
    write(bytes: Uint8Array): number;
    end(): void;
  }
  function connect(options: {
    hostname: string;
    port: number;
    socket: {
      data(socket: TcpSocket, bytes: Uint8Array): void;
      drain(socket: TcpSocket): void;
      close(socket: TcpSocket): void;
      end(socket: TcpSocket): void;
      error(socket: TcpSocket, error: Error): void;
    };
  }): Promise<TcpSocket>;
  function serve(options: {
    hostname: string;
    port: number;
    reusePort: boolean;
    /** Seconds a connection may sit idle; 0 = never closed for it. */
    idleTimeout: number;
    fetch(request: Request, server: Server): Response | Promise<Response>;
  }): Server;
}

interface ImportMeta {
  /** Bun: this module's file: URL. */
  readonly url: string;
}

// Workers forbid compiling WASM at run time, so their typings omit it; Bun allows it.
declare namespace WebAssembly {
  function compile(bytes: ArrayBuffer): Promise<Module>;
}
