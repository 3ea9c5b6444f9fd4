/**
 * The access log: one JSON line per request (nginx's and APISIX's access log, as a JSON object),
 * on by default, sampled by ACCESS_LOG_SAMPLE, off with ACCESS_LOG=off.
 *
 * Lines are buffered and written together — one console.log of up to FLUSH_LINES lines — when
 * the buffer fills and at each tick of the telemetry loop (worker/telemetry/telemetry.ts, every
 * LOG_FLUSH_MS), because a write per request costs more CPU than the rest of the request's
 * telemetry together. A process that dies loses at most the lines of its last tick.
 */

/** One request as the access log records it. Times in ms, sizes in bytes. */
export interface AccessLogEntry {
  /** Tells access lines from the gateway's other log lines (`{level, component, message}`). */
  log: "access";
  /** When the request arrived, ISO 8601. */
  time: string;
  requestId: string;
  method: string;
  /** The Host as routed; the raw Host field (or null) when the request was refused before routing. */
  host: string | null;
  /** The path as routed (normalised), without the query: a query may carry secrets. Null as for host. */
  path: string | null;
  /** The client's address as the gateway believes it (worker/client-ip.ts), or null. */
  client: string | null;
  /** Route id, or null when no route matched. */
  route: number | null;
  /** Group name, or null when none was decided. */
  group: string | null;
  /** `host:port` of the last instance tried, or null when none was. */
  instance: string | null;
  status: number;
  /** Upstream attempts made (retries included). */
  attempts: number;
  /** The last attempt's time to response headers (or failure), ms; null without an attempt. */
  upstreamMs: number | null;
  /** From arrival to the response headers, ms. */
  totalMs: number;
  /** The request's Content-Length, or null when it had none (no body, or chunked). */
  bytesIn: number | null;
  /**
   * The response's Content-Length when the runtime shows one, else null. Bun, workerd and Deno
   * hide it on a fetched upstream response whose body streams through, so for proxied answers
   * it is mostly null: counting the bytes would take a JS stream per response (docs/metrics.md).
   */
  bytesOut: number | null;
  /** Snapshot version that routed it (decimal), null before the first. */
  snapshotVersion: string | null;
  /** W3C trace id when the request was traced (sampled), else null. */
  traceId: string | null;
}

/** How the access log is configured (worker/env.ts ACCESS_LOG, ACCESS_LOG_SAMPLE). */
export interface AccessLogConfig {
  enabled: boolean;
  /** Share of requests logged, 0 < ratio ≤ 1 (1: all). */
  sampleRatio: number;
}

/**
 * The entry as one JSON line: what `JSON.stringify(entry)` gives, byte for byte
 * (test/worker/telemetry/access-log.test.ts checks it on generated entries), written field by
 * field because the generic stringify was the largest part of the access log's CPU per request
 * in a profile of the Bun gateway (bench/RESULTS.md, "Issue 14").
 */
export function formatEntry(e: AccessLogEntry): string {
  return (
    `{"log":"access","time":${text(e.time)},"requestId":${text(e.requestId)},"method":${text(e.method)},` +
    `"host":${text(e.host)},"path":${text(e.path)},"client":${text(e.client)},"route":${num(e.route)},` +
    `"group":${text(e.group)},"instance":${text(e.instance)},"status":${num(e.status)},"attempts":${num(e.attempts)},` +
    `"upstreamMs":${num(e.upstreamMs)},"totalMs":${num(e.totalMs)},"bytesIn":${num(e.bytesIn)},"bytesOut":${num(e.bytesOut)},` +
    `"snapshotVersion":${text(e.snapshotVersion)},"traceId":${text(e.traceId)}}`
  );
}

/** Printable ASCII but the quote and the backslash: a string of these is its own JSON literal between quotes. */
const NEEDS_NO_ESCAPE = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** A JSON string literal, or `null`. */
function text(s: string | null): string {
  if (s === null) return "null";
  return NEEDS_NO_ESCAPE.test(s) ? `"${s}"` : JSON.stringify(s);
}

/** A JSON number as JSON.stringify writes it (non-finite: null), or `null`. */
function num(n: number | null): string {
  return n !== null && Number.isFinite(n) ? String(n) : "null";
}

let isoMs = Number.NaN;
let isoText = "";

/** `new Date(ms).toISOString()`, computed once per distinct ms (under load many requests arrive in one ms). */
export function isoTime(ms: number): string {
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

/** Lines written by one console.log at most. */
export const FLUSH_LINES = 64;

export class AccessLog {
  private readonly config: AccessLogConfig;
  private readonly write: (text: string) => void;
  private lines: string[] = [];

  /** @param write where a batch of lines goes (default console.log: stdout on Bun and Deno, workerd's log). */
  constructor(config: AccessLogConfig, write: (text: string) => void = (text) => console.log(text)) {
    this.config = config;
    this.write = write;
  }

  /** Whether a request should be logged: decided before the entry is built, so an unsampled request builds nothing. */
  sampled(): boolean {
    return this.config.enabled && (this.config.sampleRatio >= 1 || Math.random() < this.config.sampleRatio);
  }

  /** Buffers one line (call only when sampled() said so); writes the buffer when it is full. */
  record(entry: AccessLogEntry): void {
    this.lines.push(formatEntry(entry));
    if (this.lines.length >= FLUSH_LINES) this.flush();
  }

  /** Writes what is buffered. */
  flush(): void {
    if (this.lines.length === 0) return;
    const text = this.lines.join("\n");
    this.lines = [];
    this.write(text);
  }
}
