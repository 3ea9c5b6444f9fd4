/** The shared field rules: route hosts, instance hosts and location paths. */
import { describe, expect, it } from "vitest";
import { instanceHostField, isRouteHost, pathField } from "../../../control/api/fields.ts";

describe("isRouteHost", () => {
  const cases: [string, boolean][] = [
    ["*", true],
    ["example.com", true],
    ["api.example.com", true],
    ["*.example.com", true],
    ["a-b.c0.example", true],
    ["localhost", true],
    ["10.0.0.1", true],
    ["fd00::1", true],
    ["FD00::1", false],
    ["[fd00::1]", false],
    ["fe80::1%eth0", false],
    ["API.example.com", false],
    ["*.*.example.com", false],
    ["api.*.com", false],
    ["*example.com", false],
    ["example.com.", false],
    ["-a.example.com", false],
    ["a_b.example.com", false],
    ["example.com:8080", false],
    ["1.2.3", false],
    ["10.0.0.256", false],
    [`${"a".repeat(64)}.com`, false],
    ["", false],
  ];
  it.each(cases)("%s → %s", (host, ok) => {
    expect(isRouteHost(host)).toBe(ok);
  });
});

describe("instanceHostField", () => {
  it.each([
    ["10.0.0.1", true],
    ["::1", true],
    ["Backend.Internal", true],
    ["*.example.com", false],
    ["host name", false],
    ["10.0.0.1:80", false],
  ])("%s → %s", (host, ok) => {
    expect(instanceHostField.safeParse(host).success).toBe(ok);
  });
});

describe("pathField", () => {
  it.each([
    ["/", true],
    ["/api/v1/orders", true],
    ["/%E4%B8%AD", true],
    ["api", false],
    ["", false],
    ["/a b", false],
    ["/a\tb", false],
    ["/a\u0000", false],
    ["/a\u007f", false],
    ["/a\u00a0b", false],
    ["/a?b=1", false],
    ["/a#frag", false],
    [`/${"a".repeat(1023)}`, true],
    [`/${"a".repeat(1024)}`, false],
  ])("%j → %s", (path, ok) => {
    expect(pathField.safeParse(path).success).toBe(ok);
  });
});
