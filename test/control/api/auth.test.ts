/**
 * Token resolution (environment → file → generated 0600 file) and the bearer checker.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createTokenChecker, resolveTokens } from "../../../control/api/auth.ts";

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
});
