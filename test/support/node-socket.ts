/**
 * The limits' SocketConnect (worker/plugins/limits/socket.ts) on Node, for tests that run the
 * Redis client in vitest: node:net. The gateway's runtimes have their own (workerd, Bun, Deno).
 */
import { connect } from "node:net";
import type { SocketConnect } from "../../worker/plugins/limits/socket.ts";

export const nodeConnect: SocketConnect = (host, port, handlers) =>
  new Promise((resolve, reject) => {
    let open = false;
    let ended = false;
    const end = (error?: Error) => {
      if (ended) return;
      ended = true;
      handlers.closed(error);
    };
    const socket = connect({ host, port, noDelay: true });
    socket.on("connect", () => {
      open = true;
      resolve({
        write: (bytes) => void socket.write(bytes),
        close: () => {
          end();
          socket.destroy();
        },
      });
    });
    socket.on("data", (bytes) => handlers.data(bytes));
    socket.on("error", (error) => (open ? end(error) : reject(error)));
    socket.on("close", () => end());
  });
