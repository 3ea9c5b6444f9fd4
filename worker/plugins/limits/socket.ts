/**
 * The TCP connection the cluster store needs, injected by the runtime host: workerd's
 * `connect()` from `cloudflare:sockets` (workerd-socket.ts, bundled for workerd only), Bun's
 * `Bun.connect` (worker/runtime/bun-socket.ts), Deno's `Deno.connect`
 * (worker/runtime/deno-socket.ts). The limits import none of them, so the module graph of each
 * runtime holds only its own.
 */

/** What the socket reports: bytes as they arrive, and its end (with the error that ended it, if any). */
export interface SocketHandlers {
  data(bytes: Uint8Array): void;
  closed(error?: Error): void;
}

/** An open byte stream. `write` never throws: a failed write ends the socket through `closed`. */
export interface ByteSocket {
  write(bytes: Uint8Array): void;
  close(): void;
}

/**
 * Opens a TCP connection to `host`:`port`; resolves once it is open.
 * @throws (rejects) when it cannot be opened.
 */
export type SocketConnect = (host: string, port: number, handlers: SocketHandlers) => Promise<ByteSocket>;

/**
 * A ByteSocket over a pair of web streams (workerd's and Deno's sockets): reads until the
 * stream ends, reporting `closed` once.
 */
export function streamSocket(
  readable: ReadableStream<Uint8Array>,
  writable: WritableStream<Uint8Array>,
  closeSocket: () => void,
  handlers: SocketHandlers,
): ByteSocket {
  let ended = false;
  const end = (error?: Error) => {
    if (ended) return;
    ended = true;
    handlers.closed(error);
  };
  const writer = writable.getWriter();
  const reader = readable.getReader();
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        handlers.data(value);
      }
      end();
    } catch (error) {
      end(error instanceof Error ? error : new Error(String(error)));
    }
  })();
  return {
    write(bytes) {
      writer.write(bytes).catch((error: unknown) => end(error instanceof Error ? error : new Error(String(error))));
    },
    close() {
      end();
      try {
        closeSocket();
      } catch {
        // Already closed.
      }
    },
  };
}
