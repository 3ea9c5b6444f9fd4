/**
 * worker/request-target.ts: what the gateway refuses before routing, as a plain table — method,
 * Host, path — and the URL it routes otherwise.
 */
import { describe, expect, it } from "vitest";
import { requestTarget } from "../../worker/request-target.ts";

/** A Request as a runtime hands it over: method and Host as the client sent them. */
function incoming(method: string, target: string, host: string | null = "gw.test"): Request {
  const request = new Request(`http://gw.test${target}`, { method: method === "CONNECT" || method === "TRACE" ? "GET" : method });
  const headers = new Headers(host === null ? {} : { host });
  // Node's Request refuses CONNECT and TRACE and normalises case; a runtime passes them as sent.
  return new Proxy(request, {
    get: (r, key) => (key === "method" ? method : key === "headers" ? headers : Reflect.get(r, key, r)),
  });
}

describe("requestTarget", () => {
  it.each([
    // [method, target, Host, status or the routed path]
    ["GET", "/a/b", "gw.test", "/a/b"],
    ["GET", "/a/../b/%61", "gw.test:8080", "/b/a"],
    ["PROPFIND", "/dav", "gw.test", "/dav"],
    ["M-SEARCH", "/", "gw.test", "/"],
    ["GET", "/x", null, "/x"],
    ["get", "/x", "gw.test", 400],
    ["Get", "/x", "gw.test", 400],
    ["GET1", "/x", "gw.test", 400],
    ["TRACE", "/x", "gw.test", 405],
    ["CONNECT", "/x", "gw.test", 405],
    ["GET", "/x", "a@secret.internal", 400],
    ["GET", "/x", "gw.test:99999", 400],
    ["GET", "/x", "gw.test/admin", 400],
    ["GET", "/a%2Fb", "gw.test", 400],
  ] as const)("%s %s (Host %s) → %s", (method, target, host, expected) => {
    const result = requestTarget(incoming(method, target, host));
    if (typeof expected === "string") {
      expect(result.ok && result.url.pathname).toBe(expected);
    } else {
      expect(result.ok ? 200 : result.response.status).toBe(expected);
    }
  });

  it("names what it refuses in a JSON body, with Allow on a 405", async () => {
    const lower = requestTarget(incoming("get", "/x"));
    expect(lower.ok).toBe(false);
    if (!lower.ok) expect(await lower.response.json()).toMatchObject({ error: "bad_request", message: expect.stringMatching(/uppercase/) });
    const trace = requestTarget(incoming("TRACE", "/x"));
    if (!trace.ok) expect(trace.response.headers.get("allow")).toBe("GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS");
  });
});
