/**
 * The cluster store's SocketConnect on Deno (worker/plugins/limits/socket.ts): `Deno.connect`,
 * whose connection is a pair of web streams (needs --allow-net, which the gateway has).
 */
import { type SocketConnect, streamSocket } from "../plugins/limits/socket.ts";

export const denoConnect: SocketConnect = async (host, port, handlers) => {
  const conn = await Deno.connect({ hostname: host, port });
  return streamSocket(conn.readable, conn.writable, () => conn.close(), handlers);
};
