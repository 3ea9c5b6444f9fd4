/**
 * The agent's HTTP client for control's registry API (the only way agents talk to control):
 * register, heartbeat, set status, deregister and ask how far a revision has propagated. Every
 * call has a timeout; failures throw ControlError with the status and control's JSON error.
 */
import type { InstanceSpec } from "./spec.ts";

/** Per-call timeout, ms. */
export const CALL_TIMEOUT_MS = 5000;

export class ControlError extends Error {
  /** HTTP status (0: no answer). */
  readonly status: number;
  /** control's `error` code, e.g. `not_found`, when it sent one. */
  readonly code: string | null;
  constructor(message: string, status: number, code: string | null) {
    super(message);
    this.name = "ControlError";
    this.status = status;
    this.code = code;
  }
}

export interface Registered {
  /** The instance id control assigned. */
  id: number;
  heartbeat: { intervalMs: number; unhealthyAfterMs: number; removeAfterMs: number };
  revision: number;
}

export interface BeatResult {
  accepted: number;
  rejected: { id: number; reason: "not_found" | "forbidden" }[];
}

export interface Propagation {
  version: number | null;
  acknowledged: boolean;
  gateways: { id: string; version: number; state: string }[];
}

export class ControlClient {
  private readonly baseUrl: string;
  private readonly token: string;

  constructor(baseUrl: string, token: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.token = token;
  }

  /** @param status `starting` when checks must pass first. */
  async register(spec: InstanceSpec, status: "starting" | "alive"): Promise<Registered> {
    const { check: _check, ...fields } = spec;
    const body = await this.call("POST", "/v1/registry/instances", { ...fields, status });
    return { id: body.instance.id, heartbeat: body.heartbeat, revision: body.revision };
  }

  async heartbeat(beats: { id: number; healthy?: boolean }[]): Promise<BeatResult> {
    return this.call("POST", "/v1/registry/heartbeats", { beats });
  }

  /** @returns the revision to wait for. */
  async setStatus(id: number, status: string): Promise<number> {
    return (await this.call("PUT", `/v1/registry/instances/${id}/status`, { status })).revision;
  }

  async deregister(id: number): Promise<void> {
    await this.call("DELETE", `/v1/registry/instances/${id}`);
  }

  async propagation(revision: number): Promise<Propagation> {
    return this.call("GET", `/v1/propagation?revision=${revision}`);
  }

  // biome-ignore lint/suspicious/noExplicitAny: JSON answers, shaped by the callers above.
  private async call(method: string, path: string, body?: unknown): Promise<any> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
    } catch (err) {
      throw new ControlError(`${method} ${path}: ${(err as Error).message}`, 0, null);
    }
    const text = await res.text();
    const json = text ? safeJson(text) : null;
    if (!res.ok) {
      const code = typeof json?.error === "string" ? json.error : null;
      throw new ControlError(`${method} ${path} → ${res.status}: ${json?.message ?? text}`, res.status, code);
    }
    return json;
  }
}

// biome-ignore lint/suspicious/noExplicitAny: see call().
function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
