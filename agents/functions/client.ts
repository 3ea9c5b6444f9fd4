/**
 * The agent's HTTP client for control's function endpoints (docs/functions-runtime.md, "Agent ↔
 * control"): the assignments long poll, bundles and the node report. Same token and error type as
 * the registry client (../control-client.ts); answers are validated with zod so a malformed one
 * is an error (the caller keeps what it had) rather than a crash later.
 */
import { z } from "zod";
import { CALL_TIMEOUT_MS, ControlError } from "../control-client.ts";
import type { InstanceState } from "./plan.ts";

/** Extra time over the long poll's `wait` before the client gives up on an answer, ms. */
const LONG_POLL_SLACK_MS = 5000;

const AssignmentSchema = z.object({
  appkey: z.string(),
  function: z.string(),
  version: z.number().int(),
  desired: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  main: z.string(),
  compatibilityDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  env: z.record(z.string(), z.string()).default({}),
  allowOutbound: z.boolean().default(false),
  containerConcurrency: z.number().int().min(0).default(0),
});

/** One version control wants on this node, with everything needed to run it. */
export type FunctionAssignment = z.output<typeof AssignmentSchema>;

const AssignmentsSchema = z.object({
  index: z.union([z.string(), z.number()]).transform(String),
  reportIntervalMs: z.number().int().min(50).default(1000),
  assignments: z.array(AssignmentSchema),
});

/** The assignments answer: `index` to send back in the next long poll. */
export type AssignmentsAnswer = z.output<typeof AssignmentsSchema>;

/** One instance in a node report (load fields: see docs/functions-runtime.md). */
export interface InstanceReport {
  key: string;
  appkey: string;
  function: string;
  version: number;
  host: string;
  port: number;
  state: InstanceState;
  error: string | null;
  startedAtMs: number;
  readyAtMs: number | null;
  coldStartMs: number | null;
  inFlight: number;
  concurrency: number;
  requests: number;
  rejected: number;
  crashes: number;
}

/** POST /v1/agents/functions/report's body: the node's whole instance set. */
export interface NodeReport {
  node: string;
  intervalMs: number;
  zone: string;
  region: string;
  cell: string;
  lane: string;
  instances: InstanceReport[];
}

export class FunctionsClient {
  private readonly baseUrl: string;
  private readonly token: string;

  constructor(baseUrl: string, token: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.token = token;
  }

  /**
   * Long poll: @returns the node's assignments once they differ from `index` (null: ask at
   * once), or null when control answered 304 after `waitS` seconds.
   * @throws ControlError on no answer, a non-2xx/304 status or a malformed body.
   */
  async assignments(node: string, index: string | null, waitS: number, signal?: AbortSignal): Promise<AssignmentsAnswer | null> {
    // The first poll has no index to wait on: control answers it at once.
    const query = new URLSearchParams({ node, ...(index === null ? {} : { index, wait: `${waitS}s` }) });
    const res = await this.call("GET", `/v1/agents/functions/assignments?${query}`, undefined, waitS * 1000 + LONG_POLL_SLACK_MS, signal);
    if (res.status === 304) return null;
    const parsed = AssignmentsSchema.safeParse(res.json);
    if (!parsed.success) throw new ControlError(`assignments: malformed answer: ${parsed.error.message}`, res.status, null);
    return parsed.data;
  }

  /** @returns the raw bundle answer (bundle.ts decodes and verifies it). */
  async bundle(sha256: string): Promise<unknown> {
    return (await this.call("GET", `/v1/agents/functions/bundles/${sha256}`, undefined, CALL_TIMEOUT_MS * 6)).json;
  }

  /** @returns the audit revision of the routing change the report made, or null when it made none. */
  async report(report: NodeReport): Promise<number | null> {
    const json = (await this.call("POST", "/v1/agents/functions/report", report, CALL_TIMEOUT_MS)).json;
    return typeof json?.revision === "number" ? json.revision : null;
  }

  private async call(
    method: string,
    path: string,
    body: unknown,
    timeoutMs: number,
    signal?: AbortSignal,
    // biome-ignore lint/suspicious/noExplicitAny: JSON answers, shaped by the callers above.
  ): Promise<{ status: number; json: any }> {
    let res: Response;
    try {
      const timeout = AbortSignal.timeout(timeoutMs);
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      throw new ControlError(`${method} ${path}: ${(err as Error).message}`, 0, null);
    }
    const text = await res.text().catch(() => "");
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON: the status and text say what went wrong.
    }
    if (res.status === 304) return { status: 304, json: null };
    if (!res.ok) {
      const code = typeof json?.error === "string" ? json.error : null;
      throw new ControlError(`${method} ${path} → ${res.status}: ${json?.message ?? text}`, res.status, code);
    }
    return { status: res.status, json };
  }
}
