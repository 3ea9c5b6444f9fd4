/** The part of autocannon 9's programmatic API the benchmark uses (the package ships no types). */
declare module "autocannon" {
  export interface RequestSpec {
    method?: string;
    /** Path and query, e.g. `/bench?uid=7`. */
    path?: string;
    headers?: Record<string, string>;
    /** Called before every request on a connection; returns the request to send. */
    setupRequest?: (request: RequestSpec, context: Record<string, unknown>) => RequestSpec;
  }

  export interface Options {
    url: string;
    connections?: number;
    /** Seconds. */
    duration?: number;
    /** Seconds without an answer before a request counts as a timeout (default 10). */
    timeout?: number;
    requests?: RequestSpec[];
  }

  export interface Result {
    /** Seconds. */
    duration: number;
    /** `total`: responses received (any status). */
    requests: { total: number; sent: number };
    errors: number;
    timeouts: number;
    non2xx: number;
    statusCodeStats: Record<string, { count: number }>;
  }

  export interface Instance extends PromiseLike<Result> {
    stop(): void;
    /** Every response; `responseTime` is in ms, unrounded (the result's histogram keeps whole ms). */
    on(event: "response", listener: (client: unknown, statusCode: number, responseBytes: number, responseTime: number) => void): this;
  }

  export default function autocannon(options: Options): Instance;
}
