/**
 * A minimal Redis client for the cluster limits: one Lua script per check (EVALSHA, falling back
 * to EVAL on NOSCRIPT), over a SocketConnect the runtime provides (socket.ts), each check bounded
 * by `timeoutMs` (connect included). With `reuseConnection` one connection is kept and checks are
 * pipelined on it (Bun, Deno); without, each check opens and closes its own (workerd, whose
 * sockets belong to one request). A broken or timed-out connection is dropped and the next check
 * connects again, so the limits recover when Redis returns.
 */
import { encodeCommand, RespError, RespParser, type RespReply } from "./resp.ts";
import type { ByteSocket, SocketConnect } from "./socket.ts";

/** Where Redis is: REDIS_URL parsed. */
export interface RedisEndpoint {
  host: string;
  port: number;
  /** AUTH password (the URL's password; a username is ignored), or null. */
  password: string | null;
  /** SELECT database (the URL's path, default 0). */
  db: number;
}

/**
 * `redis://[[user]:password@]host[:port][/db]` → RedisEndpoint (port 6379, db 0 by default).
 * @throws Error naming REDIS_URL when it is not such a URL.
 */
export function parseRedisUrl(text: string): RedisEndpoint {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`binding REDIS_URL is not a URL: "${text}"`);
  }
  if (url.protocol !== "redis:" || !url.hostname) throw new Error(`binding REDIS_URL is not redis://[:password@]host:port[/db]: "${text}"`);
  const dbText = url.pathname.replace(/^\//, "");
  if (dbText !== "" && !/^[0-9]+$/.test(dbText)) throw new Error(`binding REDIS_URL has a database that is not a number: "${dbText}"`);
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  return {
    host,
    port: url.port ? Number(url.port) : 6379,
    password: url.password ? decodeURIComponent(url.password) : null,
    db: dbText ? Number(dbText) : 0,
  };
}

/** Why a check could not reach an answer: Redis unreachable, too slow, or answering with an error. */
export class RedisUnavailableError extends Error {}

/** A Lua script and its SHA-1 (computed once, for EVALSHA). */
export class RedisScript {
  private digest: Promise<string> | null = null;
  readonly source: string;
  constructor(source: string) {
    this.source = source;
  }

  /** The script's SHA-1, lowercase hex. */
  sha(): Promise<string> {
    this.digest ??= crypto.subtle
      .digest("SHA-1", new TextEncoder().encode(this.source))
      .then((bytes) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join(""));
    return this.digest;
  }
}

export interface RedisClientOptions {
  endpoint: RedisEndpoint;
  /** Per check, connect and script included, ms (REDIS_TIMEOUT_MS, default 50). */
  timeoutMs: number;
  connect: SocketConnect;
  /** Keep one pipelined connection (true: Bun, Deno, Node) or open one per check (false: workerd). */
  reuseConnection: boolean;
}

/** One connection: commands are written as they come, replies matched to them in order. */
class Connection {
  private readonly pending: { resolve(reply: RespReply): void; reject(error: Error): void }[] = [];
  private readonly parser = new RespParser((reply) => this.pending.shift()?.resolve(reply));
  private socket: ByteSocket | null = null;
  broken: Error | null = null;

  static async open(options: RedisClientOptions): Promise<Connection> {
    const connection = new Connection();
    const { host, port, password, db } = options.endpoint;
    connection.socket = await options.connect(host, port, {
      data: (bytes) => {
        try {
          connection.parser.push(bytes);
        } catch (error) {
          connection.fail(error as Error);
        }
      },
      closed: (error) => connection.fail(error ?? new RedisUnavailableError("redis closed the connection")),
    });
    // Pipelined before the first command; an error reply breaks the connection.
    const setup: (string | number)[][] = [];
    if (password !== null) setup.push(["AUTH", password]);
    if (db !== 0) setup.push(["SELECT", db]);
    for (const args of setup) {
      void connection.send(args).then(
        (reply) => {
          if (reply instanceof RespError) connection.fail(new RedisUnavailableError(`redis ${String(args[0])}: ${reply.message}`));
        },
        () => {},
      );
    }
    return connection;
  }

  send(args: readonly (string | number)[]): Promise<RespReply> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.socket?.write(encodeCommand(args));
    });
  }

  /** Ends the connection: every command still waiting fails with `error`. */
  fail(error: Error): void {
    if (this.broken) return;
    this.broken = error instanceof RedisUnavailableError ? error : new RedisUnavailableError(error.message);
    for (const waiting of this.pending.splice(0)) waiting.reject(this.broken);
    this.socket?.close();
  }
}

/** Runs scripts on one Redis (see the module's comment). Never throws synchronously. */
export class RedisClient {
  private shared: Promise<Connection> | null = null;
  readonly options: RedisClientOptions;

  constructor(options: RedisClientOptions) {
    this.options = options;
  }

  /**
   * EVALSHA of `script` with `keys` and `args`, EVAL when Redis does not have it yet.
   * @throws RedisUnavailableError when Redis cannot be reached, takes longer than timeoutMs, or
   *   answers with an error.
   */
  evalScript(script: RedisScript, keys: readonly string[], args: readonly (string | number)[]): Promise<RespReply> {
    let connection: Connection | null = null;
    let settled = false;
    const attempt = (async () => {
      const opened = await this.connection();
      // Opened after the check gave up: a per-check connection would otherwise stay open.
      if (settled && !this.options.reuseConnection) opened.fail(new RedisUnavailableError("check timed out"));
      connection = opened;
      const sha = await script.sha();
      let reply = await connection.send(["EVALSHA", sha, keys.length, ...keys, ...args]);
      if (reply instanceof RespError && reply.message.startsWith("NOSCRIPT")) {
        reply = await connection.send(["EVAL", script.source, keys.length, ...keys, ...args]);
      }
      if (reply instanceof RespError) throw new RedisUnavailableError(`redis script: ${reply.message}`);
      return reply;
    })();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RedisUnavailableError(`redis did not answer within ${this.options.timeoutMs} ms`)),
        this.options.timeoutMs,
      );
    });
    return Promise.race([attempt, timeout]).then(
      (reply) => {
        settled = true;
        if (timer !== null) clearTimeout(timer);
        if (!this.options.reuseConnection) (connection as Connection | null)?.fail(new RedisUnavailableError("check done"));
        return reply;
      },
      (error: unknown) => {
        settled = true;
        if (timer !== null) clearTimeout(timer);
        const failure =
          error instanceof RedisUnavailableError ? error : new RedisUnavailableError(String((error as Error)?.message ?? error));
        // A slow or broken connection is not trusted again: the next check connects anew.
        void attempt.catch(() => {});
        this.drop(connection, failure);
        return Promise.reject(failure);
      },
    );
  }

  /** Closes the kept connection (the next check opens another). */
  close(): void {
    const shared = this.shared;
    this.shared = null;
    void shared?.then(
      (c) => c.fail(new RedisUnavailableError("client closed")),
      () => {},
    );
  }

  private connection(): Promise<Connection> {
    if (!this.options.reuseConnection) return Connection.open(this.options);
    if (this.shared === null) {
      const opening = Connection.open(this.options);
      this.shared = opening;
      opening.catch(() => {
        if (this.shared === opening) this.shared = null;
      });
    }
    return this.shared.then((c) => {
      if (c.broken === null) return c;
      this.shared = null;
      return this.connection();
    });
  }

  /** Forgets `connection` (and closes it) after a failed check; a check still connecting drops the kept one. */
  private drop(connection: Connection | null, failure: Error): void {
    if (connection !== null) {
      connection.fail(failure);
      return;
    }
    if (!this.options.reuseConnection) return;
    const shared = this.shared;
    this.shared = null;
    void shared?.then(
      (c) => c.fail(failure),
      () => {},
    );
  }
}
