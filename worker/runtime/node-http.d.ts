// The part of node:http and node:https that worker/runtime/upstream-fetch.ts uses, as Bun and
// Deno implement it, declared here because @types/node redeclares the Web globals that
// @cloudflare/workers-types declares. Only worker/runtime/tsconfig.json sees this; the root
// tsconfig checks the same module (through its tests) against @types/node itself.
declare module "node:http" {
  interface AgentOptions {
    keepAlive: boolean;
    maxSockets: number;
    maxFreeSockets: number;
  }
  class Agent {
    constructor(options: AgentOptions);
  }
  interface RequestOptions {
    protocol: string;
    hostname: string;
    port: string | number;
    method: string;
    /** Path and query, sent as they are. */
    path: string;
    headers: Record<string, string | string[]>;
    agent: Agent;
    /** Largest response header block, bytes. */
    maxHeaderSize: number;
  }
  interface ErrnoError extends Error {
    code?: string;
  }
  class IncomingMessage {
    statusCode?: number;
    statusMessage?: string;
    /** Name, value, name, value … as received. */
    rawHeaders: string[];
    /** The whole body arrived. */
    complete: boolean;
    on(event: "data", listener: (chunk: Uint8Array) => void): this;
    on(event: "error", listener: (err: Error) => void): this;
    once(event: "end" | "close", listener: () => void): this;
    pause(): this;
    resume(): this;
    destroy(): this;
  }
  class ClientRequest {
    destroyed: boolean;
    /** The request went out on a kept-alive connection that served an earlier one. */
    reusedSocket: boolean;
    on(event: "error", listener: (err: ErrnoError) => void): this;
    on(event: "drain" | "close", listener: () => void): this;
    off(event: "drain" | "close", listener: () => void): this;
    once(event: "response", listener: (res: IncomingMessage) => void): this;
    /** Before the header is sent: leaves the field out, including one node:http would add. */
    removeHeader(name: string): void;
    setHeader(name: string, value: string | string[]): this;
    /** @returns false when the buffer is full: wait for 'drain'. */
    write(chunk: Uint8Array): boolean;
    end(): this;
    destroy(error?: Error): this;
  }
  function request(options: RequestOptions): ClientRequest;
  const http: { Agent: typeof Agent; request: typeof request };
  export default http;
  export type { Agent, ClientRequest, ErrnoError, IncomingMessage, RequestOptions };
}

declare module "node:https" {
  import type { AgentOptions, ClientRequest, Agent as HttpAgent, RequestOptions } from "node:http";

  class Agent extends HttpAgent {
    constructor(options: AgentOptions);
  }
  const https: { Agent: typeof Agent; request(options: RequestOptions): ClientRequest };
  export default https;
}
