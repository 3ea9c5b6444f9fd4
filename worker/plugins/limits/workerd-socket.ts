/**
 * The cluster store's SocketConnect on workerd and Cloudflare: `connect()` from
 * `cloudflare:sockets`. Only worker/index.ts (the Worker entry) imports this module, so Bun and
 * Deno never load `cloudflare:sockets`; the workerd bundle keeps it external
 * (worker/launcher/bundle.ts). A socket belongs to the request that opened it, so on workerd
 * the Redis client opens one per check (RedisClientOptions.reuseConnection false). The worker's
 * network must allow `local` to reach 127.0.0.1 (worker/launcher/capnp.ts does).
 */
import { connect } from "cloudflare:sockets";
import { type SocketConnect, streamSocket } from "./socket.ts";

export const workerdConnect: SocketConnect = async (host, port, handlers) => {
  const socket = connect({ hostname: host, port });
  await socket.opened;
  return streamSocket(socket.readable, socket.writable, () => void socket.close().catch(() => {}), handlers);
};
