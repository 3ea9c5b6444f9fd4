/** A small JSON client over `app.request` for the API suites. */
import type { ApiApp } from "../../control/api/openapi.ts";

export const ADMIN_TOKEN = "admin-token-for-tests-0123456789";
export const GATEWAY_TOKEN = "gateway-token-for-tests-0123456789";
/** The gateways' status document token in tests (worker/env.ts STATUS_TOKEN). */
export const STATUS_TOKEN = "status-token-for-tests-0123456789";

export interface Reply {
  status: number;
  headers: Headers;
  /** Parsed JSON, or null for an empty or non-JSON body. */
  // biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary JSON.
  body: any;
}

export interface Client {
  call(
    method: string,
    path: string,
    body?: unknown,
    options?: { token?: string | null; raw?: string; headers?: Record<string, string> },
  ): Promise<Reply>;
  get(path: string): Promise<Reply>;
  post(path: string, body: unknown): Promise<Reply>;
  put(path: string, body: unknown): Promise<Reply>;
  patch(path: string, body: unknown): Promise<Reply>;
  del(path: string): Promise<Reply>;
}

/** Anything that answers requests by path: a Hono app in-process, or a fetch to a live server. */
export interface RequestTarget {
  request(path: string, init: RequestInit): Response | Promise<Response>;
}

/** A target that sends requests over HTTP to `baseUrl`. */
export function httpTarget(baseUrl: string): RequestTarget {
  return { request: (path, init) => fetch(`${baseUrl}${path}`, init) };
}

/** Requests go out with the admin token unless `token` says otherwise (null: none). */
export function clientFor(app: ApiApp | RequestTarget, adminToken = ADMIN_TOKEN): Client {
  const call: Client["call"] = async (method, path, body, options = {}) => {
    const token = options.token === undefined ? adminToken : options.token;
    const headers: Record<string, string> = { ...options.headers };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let payload: string | undefined = options.raw;
    if (payload === undefined && body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined) headers["content-type"] ??= "application/json";
    const res = await app.request(path, { method, headers, body: payload });
    const text = await res.text();
    let parsed: unknown = null;
    if ((res.headers.get("content-type") ?? "").includes("json") && text) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed };
  };
  return {
    call,
    get: (path) => call("GET", path),
    post: (path, body) => call("POST", path, body),
    put: (path, body) => call("PUT", path, body),
    patch: (path, body) => call("PATCH", path, body),
    del: (path) => call("DELETE", path),
  };
}
