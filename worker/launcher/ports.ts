/**
 * Listening sockets for the launchers and the benches that start gateways: a free port, and
 * one SO_REUSEPORT socket per gateway process on a shared port.
 */
import net from "node:net";

/**
 * A TCP port free on `host` a moment ago. Whoever binds it next (a Bun process, a bench's
 * server) does so moments later; should another program take it in between, that bind fails.
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port: 0 }, () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A listening socket on host:port (0 picks one) with SO_REUSEPORT, so each process gets its own. */
export async function listenReusePort(host: string, port: number): Promise<net.Server> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port, reusePort: true, exclusive: true }, () => resolve());
  });
  return server;
}
