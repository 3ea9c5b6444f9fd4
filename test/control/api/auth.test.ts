/**
 * Token resolution (environment → file → generated 0600 file) and the bearer checker.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createTokenChecker, isAllowed, resolveTokens } from "../../../control/api/auth.ts";

const dirs: string[] = [];
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-auth-"));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("resolveTokens", () => {
  it("takes both tokens from the environment and writes nothing", () => {
    const dir = freshDir();
    const tokens = resolveTokens({
      dataDir: dir,
      env: { SLUICE_ADMIN_TOKEN: "a".repeat(32), SLUICE_GATEWAY_TOKEN: "g".repeat(32) },
    });
    expect(tokens).toMatchObject({ adminToken: "a".repeat(32), gatewayToken: "g".repeat(32) });
    expect(tokens.admin).toEqual({ from: "env", path: null });
    expect(() => statSync(join(dir, "admin-token"))).toThrow();
  });

  it("takes the metrics token from SLUICE_METRICS_TOKEN, else generates metrics-token 0600", () => {
    const fromEnv = resolveTokens({ dataDir: freshDir(), env: { SLUICE_METRICS_TOKEN: "m".repeat(32) } });
    expect(fromEnv.metricsToken).toBe("m".repeat(32));
    expect(fromEnv.metrics).toEqual({ from: "env", path: null });
    const dir = freshDir();
    const generated = resolveTokens({ dataDir: dir, env: {} });
    expect(generated.metrics).toEqual({ from: "generated", path: join(dir, "metrics-token") });
    expect(generated.metricsToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(join(dir, "metrics-token")).mode & 0o777).toBe(0o600);
    expect(new Set([generated.adminToken, generated.gatewayToken, generated.metricsToken]).size).toBe(3);
    const same = "the-same-token-0123456789";
    expect(() => resolveTokens({ dataDir: freshDir(), env: { SLUICE_ADMIN_TOKEN: same, SLUICE_METRICS_TOKEN: same } })).toThrow(/differ/);
  });

  it("generates 0600 token files once, then reads them back", () => {
    const dir = join(freshDir(), "nested");
    const first = resolveTokens({ dataDir: dir, env: {} });
    expect(first.admin).toEqual({ from: "generated", path: join(dir, "admin-token") });
    expect(first.gateway).toEqual({ from: "generated", path: join(dir, "gateway-token") });
    // 32 random bytes in base64url: 43 characters.
    expect(first.adminToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.gatewayToken).not.toBe(first.adminToken);
    expect(statSync(join(dir, "admin-token")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "gateway-token")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, "admin-token"), "utf8").trim()).toBe(first.adminToken);

    const second = resolveTokens({ dataDir: dir, env: {} });
    expect(second.admin.from).toBe("file");
    expect(second.adminToken).toBe(first.adminToken);
    expect(second.gatewayToken).toBe(first.gatewayToken);
  });

  it("prefers the environment over the file, per token", () => {
    const dir = freshDir();
    writeFileSync(join(dir, "admin-token"), "from-the-file-0123456789\n");
    const tokens = resolveTokens({
      dataDir: dir,
      env: { SLUICE_GATEWAY_TOKEN: "gateway-from-env-0123456789" },
    });
    expect(tokens.adminToken).toBe("from-the-file-0123456789");
    expect(tokens.admin.from).toBe("file");
    expect(tokens.gatewayToken).toBe("gateway-from-env-0123456789");
  });

  it("treats an empty variable as unset, never as an empty token", () => {
    const tokens = resolveTokens({ dataDir: freshDir(), env: { SLUICE_ADMIN_TOKEN: "" } });
    expect(tokens.admin.from).toBe("generated");
  });

  it("refuses short tokens and equal admin and gateway tokens", () => {
    expect(() => resolveTokens({ dataDir: freshDir(), env: { SLUICE_ADMIN_TOKEN: "short" } })).toThrow(/shorter/);
    const dir = freshDir();
    writeFileSync(join(dir, "gateway-token"), "\n");
    expect(() => resolveTokens({ dataDir: dir, env: {} })).toThrow(/shorter/);
    const same = "the-same-token-0123456789";
    expect(() => resolveTokens({ dataDir: freshDir(), env: { SLUICE_ADMIN_TOKEN: same, SLUICE_GATEWAY_TOKEN: same } })).toThrow(/differ/);
  });
});

describe("createTokenChecker", () => {
  const roleOf = createTokenChecker({
    adminToken: "admin-token-0123456789",
    gatewayToken: "gateway-token-0123456789",
  });
  const cases: [string | undefined, string | null][] = [
    ["Bearer admin-token-0123456789", "admin"],
    ["bearer admin-token-0123456789", "admin"],
    ["Bearer gateway-token-0123456789", "gateway"],
    ["Bearer admin-token-012345678", null],
    ["Bearer admin-token-0123456789x", null],
    ["Basic admin-token-0123456789", null],
    ["admin-token-0123456789", null],
    ["Bearer ", null],
    ["", null],
    [undefined, null],
  ];
  it.each(cases)("%j → %s", (header, role) => {
    expect(roleOf(header)).toBe(role);
  });

  it("grants the metrics role to the metrics token only when one is configured", () => {
    const withMetrics = createTokenChecker({
      adminToken: "admin-token-0123456789",
      gatewayToken: "gateway-token-0123456789",
      metricsToken: "metrics-token-0123456789",
    });
    expect(withMetrics("Bearer metrics-token-0123456789")).toBe("metrics");
    expect(withMetrics("Bearer admin-token-0123456789")).toBe("admin");
    expect(roleOf("Bearer metrics-token-0123456789")).toBeNull();
  });
});

describe("isAllowed for the metrics scope", () => {
  it("lets the metrics token read /metrics and nothing else; the admin token too; no other role", () => {
    expect(isAllowed("metrics", "GET", "/metrics")).toBe(true);
    expect(isAllowed("metrics", "HEAD", "/metrics")).toBe(true);
    expect(isAllowed("metrics", "POST", "/metrics")).toBe(false);
    expect(isAllowed("metrics", "GET", "/v1/snapshot")).toBe(false);
    expect(isAllowed("metrics", "GET", "/v1/services")).toBe(false);
    expect(isAllowed("admin", "GET", "/metrics")).toBe(true);
    expect(isAllowed("gateway", "GET", "/metrics")).toBe(false);
    expect(isAllowed("agent", "GET", "/metrics")).toBe(false);
  });
});

describe("isAllowed for the function runtime", () => {
  const cases: { role: "gateway" | "agent" | "metrics"; method: string; path: string; want: boolean }[] = [
    { role: "gateway", method: "POST", path: "/v1/gateway/activations", want: true },
    { role: "gateway", method: "GET", path: "/v1/gateway/activations", want: false },
    { role: "gateway", method: "GET", path: "/v1/agents/functions/assignments", want: false },
    { role: "agent", method: "GET", path: "/v1/agents/functions/assignments", want: true },
    { role: "agent", method: "POST", path: "/v1/agents/functions/report", want: true },
    { role: "agent", method: "POST", path: "/v1/gateway/activations", want: false },
    { role: "metrics", method: "GET", path: "/v1/agents/functions/assignments", want: false },
  ];
  it.each(cases)("$role $method $path → $want", ({ role, method, path, want }) => {
    expect(isAllowed(role, method, path)).toBe(want);
  });
});

describe("isAllowed for the config center", () => {
  const cases: { role: "gateway" | "agent" | "metrics"; method: string; path: string; want: boolean }[] = [
    { role: "agent", method: "GET", path: "/v1/config/fetch", want: true },
    { role: "agent", method: "GET", path: "/v1/config/watch", want: true },
    { role: "agent", method: "POST", path: "/v1/config/fetch", want: false },
    { role: "agent", method: "GET", path: "/v1/config/namespaces", want: false },
    { role: "agent", method: "POST", path: "/v1/config/namespaces/a/prod/n/releases", want: false },
    { role: "gateway", method: "GET", path: "/v1/config/fetch", want: false },
    { role: "metrics", method: "GET", path: "/v1/config/watch", want: false },
  ];
  it.each(cases)("$role $method $path → $want", ({ role, method, path, want }) => {
    expect(isAllowed(role, method, path)).toBe(want);
  });
});
