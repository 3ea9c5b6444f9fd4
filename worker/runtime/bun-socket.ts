/**
 * The cluster store's SocketConnect on Bun (worker/plugins/limits/socket.ts): `Bun.connect`.
 * Bun's write may take only part of the bytes when the kernel's buffer is full; the rest waits
 * for `drain`, in order.
 */
import type { SocketConnect } from "../plugins/limits/socket.ts";

export const bunConnect: SocketConnect = async (host, port, handlers) => {
  let queued: Uint8Array[] = [];
  let ended = false;
  const end = (error?: Error) => {
    if (ended) return;
    ended = true;
    handlers.closed(error);
  };
  const flush = (socket: Bun.TcpSocket) => {
    while (queued.length > 0) {
      const head = queued[0] as Uint8Array;
      const written = socket.write(head);
      if (written < head.length) {
        queued[0] = head.subarray(Math.max(0, written));
        return;
      }
      queued.shift();
    }
  };
  const socket = await Bun.connect({
    hostname: host,
    port,
    socket: {
      data: (_socket, bytes) => handlers.data(bytes),
      drain: (s) => flush(s),
      close: () => end(),
      end: () => end(),
      error: (_socket, error) => end(error),
    },
  });
  return {
    write(bytes) {
      if (ended) return;
      queued.push(bytes);
      if (queued.length === 1) flush(socket);
    },
    close() {
      end();
      queued = [];
      socket.end();
    },
  };
};
